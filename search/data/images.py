"""Images a user brings: a folder per class, or a CSV file with a label column and one column per pixel.

A class-folder data set is the layout of Keras' ``image_dataset_from_directory`` and torchvision's ``ImageFolder``:
``DIR/CLASS/*.png`` (any format Pillow reads), optionally with ``DIR/train/CLASS`` and ``DIR/test/CLASS`` above.
Images are converted to one size and channel count (``--image-size``, ``--channels``; by default the most common
size, and grayscale when every image is), decoded straight into one preallocated array per split (the test split
is drawn from the file list first), so a large folder is never held twice. A CSV holds a label column
(named ``label``, else the first) and pixel columns; its images are square unless ``--image-size`` says otherwise.
Without a test split of its own, bakeoff holds out a stratified ``TEST_FRACTION``, seeded by ``--seed``. Every
problem is a one-line ``UserError`` before anything is written: the files named, the first few only.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bakeoff.search.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: The share held out as the test split when the data brings none (at least one image of each class).
TEST_FRACTION = 0.2
#: At least this many images per class, so the test, validation and training splits each get one.
MIN_PER_CLASS = 3
SHOWN = 3  # files named in an error
_GRAY_MODES = {"1", "L", "LA", "I;16", "I;16B", "I;16L", "I;16N"}
#: Pixel modes with no fixed range: converting them to 8 bits would mean guessing a scale.
_UNSCALED_MODES = {"I", "F"}
Size = tuple[int, int]


def parse_size(text: str) -> Size:
    """``28x28`` -> (28, 28): height x width."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) >= 4 for p in parts):
        raise ValueError(f"{text!r} is not HEIGHTxWIDTH with both at least 4, e.g. 28x28")
    return int(parts[0]), int(parts[1])


def is_class_folder(path: Path) -> bool:
    """A folder whose sub-folders (or ``train/``'s) hold image files."""
    root = path / "train" if (path / "train").is_dir() else path
    return path.is_dir() and any(_images(sub) for sub in _subfolders(root))


def load_class_folders(path: Path, *, image_size: Size | None = None, channels: int | None = None, seed: int = 0,
                       progress: Callable[[str], None] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The four raw arrays (uint8 images, integer labels) and what was decided: classes, size, channels, splits."""
    progress = progress or _stderr
    split_dirs = {"train": path / "train", "test": path / "test"} if (path / "train").is_dir() else {"all": path}
    if "train" in split_dirs and not split_dirs["test"].is_dir():
        raise UserError(f"{path} has train/ but no test/ beside it; add test/ with the same class folders, or put the class folders directly in {path}")
    first = next(iter(split_dirs.values()))
    classes = [sub.name for sub in _subfolders(first)]
    if not classes:
        raise UserError(f"{first} holds no class folders; put each class's images in a folder of its own ({first}/CLASS/*.png)")
    files = {split: _class_files(folder, classes, split) for split, folder in split_dirs.items()}
    per_class = Counter(label for _, label in files[next(iter(files))])
    counted = [(name, per_class[k]) for k, name in enumerate(classes)]
    empty = [name for name, count in counted if count == 0]
    if len(classes) < 2:
        raise UserError(f"{first} holds one class folder ({classes[0]}); at least 2 classes are needed")
    if empty:
        raise UserError(f"{first}: class folder(s) with no images: {_named(empty)}")
    needed = 2 if "test" in files else MIN_PER_CLASS
    few = [f"{name} ({count})" for name, count in counted if count < needed]
    if few:
        raise UserError(f"{first}: too few images for the splits (at least {needed} a class): {_named(few)}")
    everything = [f for split in files.values() for f in split]
    size, channels = _decide(everything, image_size, channels)
    info = {"class_names": classes, "image_size": list(size), "channels": channels, "layout": "class folders"}
    if "all" in files:  # split the file list, then decode each part into its own array: one decoded copy in all
        found = files.pop("all")
        labels = np.array([label for _, label in found])
        split = held_out(np.arange(len(found)), labels, seed)
        files = {part: [found[i] for i in split[f"x_{part}"]] for part in ("train", "test")}
        info["test_split"] = {"made_by": "bakeoff", "fraction": TEST_FRACTION, "seed": seed}
    raw = {}
    for part, found in files.items():
        raw[f"x_{part}"], raw[f"y_{part}"] = _decode(found, size, channels, progress)
    return raw, info


def load_csv(path: Path, *, image_size: Size | None = None, channels: int | None = None, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A label column and pixel columns; labels may be integers or names."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} cannot be read as a CSV file: {exc}") from None
    rows = [r for r in rows if r]
    if not rows:
        raise UserError(f"{path} is empty")
    header = rows[0] if not _numbers(rows[0][1:]) else None
    body = rows[1:] if header else rows
    column = header.index("label") if header and "label" in header else 0
    widths = Counter(len(r) for r in body)
    if len(widths) > 1:
        width = widths.most_common(1)[0][0]
        ragged = next(i for i, r in enumerate(body) if len(r) != width)
        raise UserError(f"{path}: line {ragged + 1 + bool(header)} has {len(body[ragged])} columns, the others {width}; every row needs the same")
    if not body:
        raise UserError(f"{path} has a header but no rows")
    labels = [r[column].strip() for r in body]
    pixels_text = [r[:column] + r[column + 1:] for r in body]
    try:
        pixels = np.asarray(pixels_text, dtype=np.float64)
    except ValueError:
        bad = next(i for i, r in enumerate(pixels_text) if not _numbers(r))
        raise UserError(f"{path}: line {bad + 1 + bool(header)} has pixels that are not numbers") from None
    if not np.isfinite(pixels).all():
        raise UserError(f"{path}: some pixels are NaN or infinite")
    channels = channels or 1
    count = pixels.shape[1] // channels
    if image_size is None:
        side = math.isqrt(count)
        if side * side * channels != pixels.shape[1]:
            raise UserError(f"{path}: {pixels.shape[1]} pixel columns are not a square image of {channels} channel(s); give --image-size HxW")
        image_size = (side, side)
    if image_size[0] * image_size[1] * channels != pixels.shape[1]:
        raise UserError(f"{path}: {pixels.shape[1]} pixel columns do not make {image_size[0]}x{image_size[1]} images of {channels} channel(s)")
    shape = (len(body), *image_size) + ((channels,) if channels > 1 else ())
    images = pixels.reshape(shape)
    names, y = _labels(labels, path)
    if min(Counter(y.tolist()).values()) < MIN_PER_CLASS:
        few = [f"{names[k]} ({n})" for k, n in sorted(Counter(y.tolist()).items()) if n < MIN_PER_CLASS]
        raise UserError(f"{path}: too few images for the splits (at least {MIN_PER_CLASS} a class): {_named(few)}")
    info = {"class_names": names, "image_size": list(image_size), "channels": channels, "layout": "csv",
            "test_split": {"made_by": "bakeoff", "fraction": TEST_FRACTION, "seed": seed}}
    return held_out(images, y, seed), info


def held_out(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """A stratified, seeded test split for data that brings none."""
    from sklearn.model_selection import train_test_split

    # At least one image of each class, which a fifth of a tiny set would not give (sklearn refuses that split).
    test_size = max(math.ceil(TEST_FRACTION * len(y)), len(np.unique(y)))
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _labels(labels: list[str], path: Path) -> tuple[list[str], np.ndarray]:
    """Integer labels keep their order (0, 1, 2 ...); names are sorted. A blank label is an error."""
    blank = next((i for i, label in enumerate(labels) if not label), None)
    if blank is not None:
        raise UserError(f"{path}: row {blank + 1} has no label")
    if all(_is_int(label) for label in labels):
        values = sorted({int(label) for label in labels})
        return [str(v) for v in values], np.searchsorted(values, [int(label) for label in labels]).astype(np.int64)
    if any(_is_number(label) for label in labels):
        raise UserError(f"{path}: labels must be whole numbers or names, not decimals or a mix of both")
    names = sorted(set(labels))
    return names, np.searchsorted(names, labels).astype(np.int64)


def _decide(files: list[tuple[Path, int]], image_size: Size | None, channels: int | None) -> tuple[Size, int]:
    """The most common size and grayscale unless some image has colour, reading headers only."""
    from PIL import Image, UnidentifiedImageError

    sizes: Counter = Counter()
    gray, broken, deep = True, [], []
    for path, _ in files:
        try:
            with Image.open(path) as image:
                sizes[(image.height, image.width)] += 1
                gray = gray and image.mode in _GRAY_MODES
                if image.mode in _UNSCALED_MODES:
                    deep.append(path)
        except (UnidentifiedImageError, OSError):
            broken.append(path)
    if broken:
        raise UserError(f"{len(broken)} image file(s) cannot be read: {_named(broken)}")
    if deep:
        raise UserError(f"{len(deep)} image file(s) decode to 32-bit integer or floating-point pixels (Pillow mode I "
                        f"or F), whose range bakeoff cannot know; save them as 8- or 16-bit images: {_named(deep)}")
    return image_size or sizes.most_common(1)[0][0], channels or (1 if gray else 3)


def _decode(files: list[tuple[Path, int]], size: Size, channels: int, progress: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray]:
    """Every image converted and resized into one preallocated uint8 array (no second copy)."""
    from PIL import Image

    x = np.empty((len(files), *size) + ((channels,) if channels > 1 else ()), dtype=np.uint8)
    y = np.fromiter((label for _, label in files), dtype=np.int64, count=len(files))
    broken, unconvertible, shown = [], [], time.monotonic()
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as image:
                image = _eight_bit(image).convert("L" if channels == 1 else "RGB")
                if (image.height, image.width) != size:
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                x[i] = np.asarray(image)
        except OSError:  # truncated: the header read, the pixels did not
            broken.append(path)
        except ValueError:  # Pillow has no conversion from this mode (e.g. LA with premultiplied alpha, LAB to L)
            unconvertible.append(path)
        if time.monotonic() - shown > 5:
            progress(f"reading images: {i + 1:,} of {len(files):,}")
            shown = time.monotonic()
    if broken:
        raise UserError(f"{len(broken)} image file(s) are truncated or corrupt: {_named(broken)}")
    if unconvertible:
        kind = "grayscale" if channels == 1 else "RGB"
        raise UserError(f"{len(unconvertible)} image file(s) cannot be converted to {kind}: {_named(unconvertible)}; "
                        "convert them, or try --channels " + ("3" if channels == 1 else "1"))
    return x, y


def _eight_bit(image):
    """16-bit grayscale scaled to 8 bits (65535 becomes 255); Pillow's own conversion clips everything above 255."""
    if not image.mode.startswith("I;16"):
        return image
    from PIL import Image

    return Image.fromarray(((np.asarray(image).astype(np.uint32) + 128) // 257).astype(np.uint8))


def _named(items: list) -> str:
    """The first ``SHOWN`` of the files or classes an error is about."""
    return ", ".join(map(str, items[:SHOWN]))


def _class_files(folder: Path, classes: list[str], split: str) -> list[tuple[Path, int]]:
    found = [sub.name for sub in _subfolders(folder)]
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise UserError(f"{folder} has class folders the training images lack: {_named(unknown)}")
    return [(file, k) for k, name in enumerate(classes) for file in _images(folder / name)]


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _numbers(values: list[str]) -> bool:
    return all(_is_number(v) for v in values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
