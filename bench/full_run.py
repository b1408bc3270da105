"""One whole ``bakeoff run`` on full MNIST with every analysis and the export: the report's Why and Deploy sections.

Runs ``bakeoff run --data mnist.npz --timeout T --analyses full`` (export on), then records what the report says:
the verdict, each analysis' sentence and numbers, the export table, the time of each stage, and a screenshot of
the Why and Deploy sections taken in headless Chromium (the report as a reader sees it).

    python bench/full_run.py [--timeout 20m] [--out /tmp/bakeoff-full]

Results: bench/results/full_run.json and bench/results/full_run-why-deploy.png. The run directory (models,
study) stays in --out, outside the repository.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, machine, mnist_path, record


def strip_figures(value):
    """The context without its data-URI figures: numbers and sentences only."""
    if isinstance(value, dict):
        return {k: strip_figures(v) for k, v in value.items() if not (isinstance(v, str) and v.startswith("data:image"))}
    if isinstance(value, list):
        return [strip_figures(v) for v in value]
    return value


def screenshot(report: Path, target: Path, top: str = "#why", bottom: str = "#cost") -> None:
    """The part of the report from the element ``top`` to the element ``bottom`` (CSS selectors), as a PNG."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(report.as_uri(), wait_until="load")
        start = page.locator(top).bounding_box()["y"]
        end = page.locator(bottom).bounding_box()["y"]
        page.screenshot(path=str(target), full_page=True, clip={"x": 0, "y": start, "width": 1200, "height": end - start})
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", default="20m")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bakeoff-full"))
    args = parser.parse_args()
    argv = [sys.executable, "-m", "bakeoff.search", "run", "--data", mnist_path(), "--timeout", args.timeout,
            "--analyses", "full", "--out", str(args.out), "--study", "full"]
    resumed = (args.out / "study.db").exists()  # bakeoff run resumes: only what is missing runs again
    started = time.time()
    subprocess.run(argv, check=True)
    wall = time.time() - started

    import optuna

    from bakeoff.reports.context import build_context
    from bakeoff.search.engine.storage import open_storage
    from bakeoff.search.engine.studies import require_studies

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    studies = require_studies(open_storage(f"sqlite:///{args.out}/study.db", create=False), "full", ("ann", "cnn"))
    context = strip_figures(build_context(args.out, studies, "study.db", "full"))
    target = RESULTS / "full_run-why-deploy.png"
    screenshot(args.out / "report.html", target)
    record("full_run", {
        "run": " ".join(["bakeoff", *argv[3:]]), "measured_on": machine()["cpu"], "wall_seconds": round(wall, 1), "resumed": resumed,
        "verdict": context["verdict"]["sentence"] if context["verdict"] else None,
        "why": context["why"], "deploy": context["deploy"], "screenshot": target.name,
    })


if __name__ == "__main__":
    main()
