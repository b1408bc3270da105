"""A small real run, search -> retrain -> report, then the report opened in headless Chromium."""

import json
import os
import shutil

import pytest

from bakeoff.search.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, small_npz):
    out = tmp_path_factory.mktemp("e2e") / "run"
    argv = ["run", "--data", str(small_npz), "--trials", "2", "--epochs", "2", "--seeds", "2", "--out", str(out), "--study", "e2e"]
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
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["search"]["data"]["test"] == 200 and "keras" in manifest["versions"]
    assert (tiny_run / "report.html").stat().st_size > 50_000


@pytest.mark.slow
def test_retrain_again_skips_finished_seeds(tiny_run, capsys):
    stamps = {p: p.stat().st_mtime_ns for p in tiny_run.glob("retrain/*/seed-*/metrics.json")}
    assert main(["retrain", "--out", str(tiny_run), "--study", "e2e", "--seeds", "2"]) == 0
    assert capsys.readouterr().out.count("skipped") == 4
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


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
    assert [h.split(". ", 1)[1] for h in headings] == ["Verdict", "Data", "Search", "Retrained models", "Why", "Cost", "Reproduce"]
    assert all(url.startswith(("file:", "data:")) for url in requests)
    assert shot.stat().st_size > 10_000
    print(f"screenshot saved to {shot}")
