"""A small real run, search -> retrain -> report, then the report opened in headless Chromium."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from bakeoff.search.app.main import main

# Under pytest-xdist (the default), this file's tests run on one worker: they share a module fixture.
pytestmark = pytest.mark.xdist_group("end_to_end")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, small_npz):
    out = tmp_path_factory.mktemp("e2e") / "run"
    argv = ["run", "--data", str(small_npz), "--trials", "2", "--epochs", "1", "--seeds", "2", "--analyses", "full", "--out", str(out), "--study", "e2e"]
    assert main(argv) == 0
    return out


@pytest.mark.slow
def test_run_writes_every_artefact(tiny_run):
    for family in ("ann", "cnn"):
        for seed in (0, 1):
            folder = tiny_run / "retrain" / family / f"seed-{seed}"
            for name in ("model.keras", "predictions.npz", "history.json", "metrics.json", "gallery.npz", "robustness.json"):
                assert (folder / name).is_file(), folder / name
            metrics = json.loads((folder / "metrics.json").read_text())
            assert 0.0 < metrics["test_accuracy"] <= 1.0
            assert metrics["latency_ms_batch1"] > 0 and metrics["flops"] > 0 and metrics["params_count"] > 0
        names = sorted(p.name for p in (tiny_run / "analyses" / family).glob("*.json"))
        assert names == [f"efficiency-{p}pct-seed-{s}.json" for p in (20, 5) for s in (0, 1)] + ["shuffled-seed-0.json", "shuffled-seed-1.json"]
    html = (tiny_run / "report.html").read_text()
    for sentence in ("of the training images, the ANN", "on pixels shuffled by one fixed permutation", "Expected calibration error",
                     "the CNN gets", "formats exported and verified"):
        assert sentence in html
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["search"]["data"]["test"] == 200 and "keras" in manifest["versions"]
    runs = [c for c in manifest["commands"] if c["argv"].startswith("bakeoff run ")]
    assert len(runs) == 1  # one command, though its search and retraining stages each update the manifest
    assert (tiny_run / "report.html").stat().st_size > 50_000


@pytest.mark.slow
def test_retrain_again_skips_finished_seeds(tiny_run, capsys):
    stamps = {p: p.stat().st_mtime_ns for p in tiny_run.glob("retrain/*/seed-*/metrics.json")}
    listed = json.loads((tiny_run / "manifest.json").read_text())["commands"]
    assert main(["retrain", "--out", str(tiny_run), "--study", "e2e", "--seeds", "2"]) == 0
    assert capsys.readouterr().out.count("skipped") == 4
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    commands = json.loads((tiny_run / "manifest.json").read_text())["commands"]
    assert commands[:-1] == listed and commands[-1]["argv"].startswith("bakeoff retrain --out")  # listed once more, itself


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_retraining_keeps_finished_seeds_and_still_writes_the_report(tiny_run, small_npz, tmp_path, sig, code):
    out = tmp_path / "run"
    shutil.copytree(tiny_run, out)
    old_report = (out / "report.html").stat().st_mtime_ns
    argv = ["run", "--data", str(small_npz), "--trials", "2", "--epochs", "1", "--seeds", "60", "--out", str(out), "--study", "e2e"]
    process = subprocess.Popen([sys.executable, "-m", "bakeoff.search", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # the search has nothing left to do; stop once a new seed has finished retraining
        if re.match(r"\[ann\] seed [2-9]\d*: test accuracy", line):
            process.send_signal(sig)
            break
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == code, stderr
    assert f"bakeoff: stopped by {sig.name}; everything finished is kept; re-run the same command to resume" in stderr.splitlines()
    assert "Traceback" not in stderr
    assert (out / "report.html").stat().st_mtime_ns > old_report  # the report shows what exists
    finished = sorted(int(m.parent.name.split("-")[1]) for m in out.glob("retrain/ann/seed-*/metrics.json"))
    assert 3 <= len(finished) < 60 and finished == list(range(len(finished)))  # in order, none lost, the stopped one not counted
    for seed in finished:
        assert (out / "retrain" / "ann" / f"seed-{seed}" / "model.keras").is_file()


FORMATS = {"keras": "model.keras", "saved_model": "saved_model", "tflite_float32": "model_float32.tflite", "tflite_int8": "model_int8.tflite", "onnx": "model.onnx"}


@pytest.mark.slow
def test_run_exports_every_format_and_verifies_each_in_its_runtime(tiny_run):
    for family in ("ann", "cnn"):
        summary = json.loads((tiny_run / "export" / family / "exports.json").read_text())
        assert list(summary["formats"]) == list(FORMATS)
        for name, row in summary["formats"].items():
            assert "error" not in row, (family, name, row.get("error"))
            assert (tiny_run / "export" / family / FORMATS[name]).exists()
            assert row["size_bytes"] > 0 and row["latency_ms_batch1"] > 0 and row["latency_ms_batch256"] > 0
            assert 0.0 < row["accuracy"] <= 1.0
        keras = summary["formats"]["keras"]
        assert keras["agreement"] == 1.0 and keras["max_probability_difference"] == 0.0
        for name in ("saved_model", "tflite_float32", "onnx"):  # the same float32 model in another runtime
            assert summary["formats"][name]["max_probability_difference"] < 1e-4, (family, name)
        assert summary["formats"]["tflite_int8"]["size_bytes"] * 2.5 < summary["formats"]["tflite_float32"]["size_bytes"]
        card = json.loads((tiny_run / "export" / family / "card.json").read_text())
        assert card["input"]["shape"] == [28, 28, 1] and card["input"]["scaling"]["scale"] == 255.0
        assert card["classes"] == [str(i) for i in range(10)] and card["model"] == f"retrain/{family}/seed-0/model.keras"
        assert card["test_accuracy"]["over_seeds"]["n"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FORMATS))
def test_predict_classifies_pngs_and_an_npz_as_the_retrained_model_did(tiny_run, small_npz, tmp_path, capsys, name):
    from PIL import Image

    with np.load(small_npz) as npz:
        images = npz["x_test"][:6]
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(image).save(paths[-1])
    np.savez(tmp_path / "batch.npz", x=images)
    model = tiny_run / "export" / "cnn" / FORMATS[name]
    assert main(["predict", "--model", str(model), *map(str, paths), str(tmp_path / "batch.npz")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 12 and lines[0].startswith(f"{paths[0]}: ") and lines[6].startswith(f"{tmp_path / 'batch.npz'}[0]: ")
    classes = [line.rsplit(": ", 1)[1].split()[0] for line in lines]
    assert classes[:6] == classes[6:]  # a PNG and the same pixels in an npz give the same answer
    with np.load(tiny_run / "retrain" / "cnn" / "seed-0" / "predictions.npz") as npz:
        retrained = [str(c) for c in npz["predictions"][:6]]
    if name != "tflite_int8":  # the same float model: the same classes as at the final evaluation
        assert classes[:6] == retrained
    assert all(0.0 < float(line.rsplit("probability ", 1)[1].rstrip(")")) <= 1.0 for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["model.onnx", "model_int8.tflite"])
def test_predict_with_litert_or_onnx_does_not_load_tensorflow(tiny_run, small_npz, tmp_path, name):
    import subprocess
    import sys

    with np.load(small_npz) as npz:
        np.savez(tmp_path / "two.npz", x=npz["x_test"][:2])
    probe = (
        "import sys\nfrom bakeoff.search.app.main import main\n"
        f"code = main(['predict', '--model', {str(tiny_run / 'export' / 'ann' / name)!r}, {str(tmp_path / 'two.npz')!r}])\n"
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-3:] == ["0", "False", "False"], result.stdout + result.stderr


@pytest.mark.slow
def test_predict_bad_inputs_are_one_line_and_exit_2(tiny_run, tmp_path, capsys):
    from PIL import Image

    model = tiny_run / "export" / "ann" / "model.onnx"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    (tmp_path / "text.png").write_text("not an image")
    shutil.copyfile(model, tmp_path / "lonely.onnx")
    cases = [
        (["--model", str(tmp_path / "none.onnx"), str(tmp_path / "big.png")], "no model at"),
        (["--model", str(model), str(tmp_path / "big.png")], "big.png is 32×32×1 but the model takes 28×28×1 images"),
        (["--model", str(model), str(tmp_path / "text.png")], "text.png is not an image that can be read"),
        (["--model", str(model), str(tmp_path / "missing.png")], "missing.png does not exist"),
        (["--model", str(tmp_path / "lonely.onnx"), str(tmp_path / "big.png")], "no card.json next to"),
        (["--model", str(tmp_path / "big.png"), str(tmp_path / "big.png")], "is not a model bakeoff can load"),
    ]
    for argv, fragment in cases:
        assert main(["predict", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0] and err[0].startswith("bakeoff: error: "), (argv, err)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="headless Chromium is not installed")
def test_report_opens_in_headless_chromium(tiny_run, tmp_path):
    from playwright.sync_api import sync_playwright

    report = tiny_run / "report.html"
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert len(widths) >= 10 and all(w > 0 for w in widths)
    assert [h.split(". ", 1)[1] for h in headings] == ["Verdict", "Data", "Search", "Retrained models", "Why", "Deploy", "Cost", "Reproduce"]
    assert all(url.startswith(("file:", "data:")) for url in requests)
    assert shot.stat().st_size > 10_000
    print(f"screenshot saved to {shot}")


#: Every line a run prints is bakeoff's own: progress of its stages, nothing from TensorFlow, tf2onnx or LiteRT.
OWN_LINE = re.compile(
    r"^(\[(ann|cnn)\] |searching |search finished |robustness: |exports and model cards in |report written to |\S+/retrain/(ann|cnn)/seed-\d+: robustness )"
)


@pytest.mark.slow
def test_every_stage_runs_on_the_offline_default_data_and_prints_only_its_own_lines(tmp_path):
    """sklearn's 8x8 digits, what `bakeoff run` falls back to offline: analyses and export must fit small images,
    and the console shows bakeoff's lines only (tf2onnx's ERROR lines and the LiteRT converter's used to show)."""
    out = tmp_path / "digits"
    argv = ["run", "--data", "digits", "--trials", "2", "--epochs", "1", "--seeds", "1", "--analyses", "full", "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "bakeoff.search", *argv], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines and [line for line in lines if not OWN_LINE.match(line)] == []
    for family in ("ann", "cnn"):  # a seed says what it trains before the minutes it may take
        begun = next(i for i, line in enumerate(lines) if re.match(rf"\[{family}\] seed 0: retraining trial \d+ for \d+ epochs? on \d+ images$", line))
        assert re.match(rf"\[{family}\] 1 seed to retrain: about \d+\S*, projected from the \d+\.\d s per epoch trial \d+ took in the "
                        "search$", lines[begun - 1]), lines[begun - 1]
        assert any(line.startswith(f"[{family}] seed 0: test accuracy") for line in lines[begun + 1:])
    written = [i for i, line in enumerate(lines) if line.startswith("report written to ")]
    retraining = next(i for i, line in enumerate(lines) if line.startswith("[ann] 1 seed to retrain"))
    assert len(written) == 2 and written[0] < retraining < written[1]  # as the search ends, and when all is done
    for family in ("ann", "cnn"):
        found = json.loads((out / "retrain" / family / "seed-0" / "robustness.json").read_text())
        assert found["kinds"]["occlusion"]["strengths"] == [4]
        formats = json.loads((out / "export" / family / "exports.json").read_text())["formats"]
        assert [name for name, row in formats.items() if "error" in row] == []
    assert "5. Why" in (out / "report.html").read_text()
