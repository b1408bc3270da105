"""Bring your own images: class folders and CSV files, made here, read into the data set every stage uses."""

import json

import numpy as np
import pytest
from PIL import Image

from bakeoff.search.app.main import main
from bakeoff.search.data import load_dataset
from bakeoff.search.data.images import TEST_FRACTION, load_class_folders

CLASSES = ("cat", "dog", "owl")


def _folders(root, per_class=10, size=(12, 12), colour_one=False, split=False):
    """``root/CLASS/i.png`` (or under train/ and test/): class k brightest in its k-th third of the rows."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(CLASSES):
        for i in range(per_class):
            pixels = rng.integers(0, 60, size, dtype=np.uint8)
            pixels[k * size[0] // 3:(k + 1) * size[0] // 3] += 180
            folder = root / ("test" if split and i < 3 else "train") / name if split else root / name
            folder.mkdir(parents=True, exist_ok=True)
            image = Image.fromarray(pixels)
            if colour_one and k == 0 and i == 0:
                image = image.convert("RGB")
            image.save(folder / f"{i}.png")
    return root


def test_class_folders_give_named_classes_the_common_size_and_a_seeded_stratified_test_split(tmp_path):
    root = _folders(tmp_path / "pets")
    Image.fromarray(np.zeros((20, 16), np.uint8)).save(root / "dog" / "odd-size.png")  # resized to the common 12x12
    data = load_dataset(str(root))
    assert data.class_names == list(CLASSES)
    assert data.input_shape == (12, 12, 1)
    total = len(data.y_train) + len(data.y_val) + len(data.y_test)
    assert total == 31 and len(data.y_test) == 7  # a fifth, rounded up
    assert sorted(np.bincount(data.y_test).tolist()) == [2, 2, 3]  # stratified
    assert data.info["test_split"] == {"made_by": "bakeoff", "fraction": TEST_FRACTION, "seed": 0}
    assert data.summary()["classes"] == list(CLASSES) and data.summary()["image_size"] == [12, 12]
    again, other = load_dataset(str(root)), load_dataset(str(root), seed=1)
    assert again.sha256 == data.sha256 and other.sha256 != data.sha256  # the held-out test split follows --seed


def test_colour_anywhere_means_rgb_unless_channels_say_one_and_the_size_can_be_set(tmp_path):
    root = _folders(tmp_path / "pets", colour_one=True)
    assert load_dataset(str(root)).input_shape == (12, 12, 3)
    assert load_dataset(str(root), channels=1, image_size="16x8").input_shape == (16, 8, 1)


def test_sixteen_bit_images_are_scaled_to_eight_bits_not_clipped(tmp_path):
    """Pillow's own conversion of 16-bit gray to 8 bits clips: every pixel above 255 became white."""
    values = {"dark": 0, "mid": 32896, "white": 65535}  # 8-bit 0, 128, 255
    for name, value in values.items():
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((6, 6), value, np.uint16)).save(tmp_path / name / f"{i}.png")
    raw, info = load_class_folders(tmp_path)
    assert info["channels"] == 1
    seen = {info["class_names"][label]: int(image.max()) for image, label in zip(raw["x_train"], raw["y_train"])}
    assert seen == {"dark": 0, "mid": 128, "white": 255}


def test_train_and_test_folders_are_kept_as_the_user_split_them(tmp_path):
    data = load_dataset(str(_folders(tmp_path / "pets", split=True)))
    assert len(data.y_test) == 9 and np.bincount(data.y_test).tolist() == [3, 3, 3]
    assert "test_split" not in data.info


def test_a_csv_with_names_or_integers_as_labels(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["label," + ",".join(f"p{i}" for i in range(64))]
    for i in range(30):
        rows.append(f"{CLASSES[i % 3]}," + ",".join(map(str, rng.integers(0, 255, 64))))
    named = tmp_path / "named.csv"
    named.write_text("\n".join(rows) + "\n")
    data = load_dataset(str(named))
    assert data.class_names == list(CLASSES) and data.input_shape == (8, 8, 1)
    numbered = tmp_path / "numbered.csv"  # no header: the first column is the label
    numbered.write_text("\n".join(f"{7 + i % 2}," + ",".join(["3"] * 32) for i in range(30)) + "\n")
    data = load_dataset(str(numbered), image_size="4x8")
    assert data.class_names == ["7", "8"] and data.input_shape == (4, 8, 1)


@pytest.mark.slow
def test_a_whole_run_on_class_folders_names_the_classes_in_the_report_and_in_predict(tmp_path, capsys):
    root = _folders(tmp_path / "pets", per_class=12)
    out = tmp_path / "run"
    argv = ["run", "--data", str(root), "--trials", "1", "--epochs", "1", "--seeds", "1", "--analyses", "none", "--out", str(out)]
    assert main(argv) == 0
    html = (out / "report.html").read_text()
    assert all(name in html for name in CLASSES)
    card = json.loads((out / "export" / "cnn" / "card.json").read_text())
    assert card["classes"] == list(CLASSES)
    capsys.readouterr()
    model = next(p for p in (out / "export" / "cnn").iterdir() if p.suffix in (".keras", ".tflite", ".onnx"))
    assert main(["predict", "--model", str(model), str(root / "owl" / "0.png")]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"{root / 'owl' / '0.png'}: ") and line.split(": ")[1].split(" ")[0] in CLASSES
