"""The screenshot of the fronts in docs/fronts.png: a real multi-objective run on full MNIST, its report's fronts section.

A short demonstration, not a benchmark (bench/multi_objective.py measures): ``bakeoff run --objective accuracy,latency``
with a 30-minute budget and 3 epochs a trial, so that both families get enough trials for a front on 2 cores, one
retraining seed, the default export. The run folder is reused when it is there (the run resumes and skips what is
done). The screenshot runs from the fronts heading to the parameter plot below it, in headless Chromium.

    python bench/front_plot.py [--out /tmp/mo-demo] [--timeout 30m]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from full_run import screenshot

from common import ROOT, mnist_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/mo-demo"))
    parser.add_argument("--timeout", default="30m")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "bakeoff.search", "run", "--data", mnist_path(), "--objective", "accuracy,latency",
                    "--timeout", args.timeout, "--epochs", "3", "--seeds", "1", "--analyses", "none", "--out", str(args.out),
                    "--study", "demo"], check=True)
    target = ROOT / "docs" / "fronts.png"
    screenshot(args.out / "report.html", target, top="#fronts", bottom='img[alt="accuracy versus parameters"]')
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
