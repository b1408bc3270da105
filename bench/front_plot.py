"""The screenshot of the fronts in docs/fronts.png: a real multi-objective run on full MNIST, its report's fronts section.

A short demonstration, not a benchmark (bench/multi_objective.py measures): ``bakeoff run --objective accuracy,latency``
with a 30-minute budget and 3 epochs a trial, so that both families get enough trials for a front on 2 cores, one
retraining seed, the default export. The run folder is reused when it is there (the run resumes and skips what is
done). The screenshot runs from the fronts heading to the parameter plot below it, in headless Chromium. It also
prints per family the trials, and the seconds measuring each trial's cost took (median, and share of the charged time).

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
    cost_overhead(args.out)


def cost_overhead(out: Path) -> None:
    import statistics

    import optuna

    from bakeoff.search.engine import record

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for family in ("ann", "cnn"):
        trials = optuna.load_study(study_name=f"demo-{family}", storage=f"sqlite:///{out}/study.db").get_trials(deepcopy=False)
        measured = [t.user_attrs[record.COST]["seconds"] for t in trials if record.COST in t.user_attrs]
        complete = sum(record.selectable_value(t) is not None for t in trials)
        print(f"{family}: {len(trials)} trials, {complete} complete; measuring the cost took {statistics.median(measured):.2f} s a trial "
              f"(median), {sum(measured) / record.spent_seconds(trials):.1%} of the charged time")


if __name__ == "__main__":
    main()
