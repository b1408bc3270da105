"""Every budget gives an answer: ``bakeoff run`` at short time budgets, on a 10,000-image subset and on full MNIST.

For each data size and budget per family: complete trials per family, best validation accuracy, whether the run
ended with an answer (both families retrained and a verdict in the report), how many trials had their epochs
fitted to their cap, and the projection error: for every trial that trained all the epochs it was scheduled for,
the first projection of its fit time (made a few seconds in) against the fit time it really took.

    python bench/short_budgets.py [--minutes 2 5 15] [--subsets 10000 0] [--seeds 1]
    python bench/short_budgets.py --table        # the README table of every recorded run

``--subsets 0`` is full MNIST. Results: bench/results/short_budgets.json.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from bakeoff.search.engine import record as trial_record

from common import RESULTS, commit, machine, mnist_path, record

FAMILIES = ("ann", "cnn")


def one_run(minutes: float, subset: int, seeds: int, root: Path) -> dict:
    out = root / f"{subset}-{minutes}"
    argv = [sys.executable, "-m", "bakeoff.search", "run", "--data", mnist_path(), "--timeout", f"{len(FAMILIES) * minutes}m",
            "--seeds", str(seeds), "--out", str(out), "--study", "s"]
    if subset:
        argv += ["--subset", str(subset)]
    started = time.time()
    done = subprocess.run(argv, capture_output=True, text=True)
    result: dict = {"minutes_per_family": minutes, "subset": subset or "full", "exit_code": done.returncode,
                    "wall_seconds": round(time.time() - started, 1)}
    html = (out / "report.html").read_text() if (out / "report.html").exists() else ""
    verdict = re.search(r'<p class="verdict">(.*?)</p>', html, re.S)
    result["verdict"] = verdict.group(1).strip() if verdict else None
    errors = []
    for family in FAMILIES:
        study = optuna.load_study(study_name=trial_record.study_name("s", family), storage=f"sqlite:///{out}/study.db")
        trials = [t for t in study.get_trials() if t.state.is_finished()]
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        for t in complete:
            projected, actual = t.user_attrs.get(trial_record.PROJECTED_FIT_SECONDS), t.user_attrs.get(trial_record.FIT_SECONDS)
            if projected and actual and t.user_attrs.get(trial_record.EPOCHS_RUN) == t.user_attrs.get(trial_record.MAX_EPOCHS):
                errors.append({"family": family, "trial": t.number, "projected": projected, "actual": actual,
                               "error": round((projected - actual) / actual, 3)})
        best = trial_record.best_trial(trials)
        outcomes: dict[str, int] = {}
        for t in trials:
            outcome = trial_record.outcome_of(t)
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
        result[family] = {
            "trials": len(trials), "complete": len(complete), "outcomes": outcomes,
            "fitted": sum(1 for t in trials if trial_record.FITTED in t.user_attrs),
            "best_val": None if best is None else round(best.value, 4),
            "best_start": None if best is None else best.user_attrs.get(trial_record.START) or "sampled",
            "starts_val": {t.user_attrs[trial_record.START]: round(max(trial_record.val_curve(t) or [0.0]), 4)
                           for t in trials if t.user_attrs.get(trial_record.START)},
            "retrained_seeds": len(list((out / "retrain" / family).glob("seed-*/metrics.json"))),
        }
    result["answer"] = all(result[f]["retrained_seeds"] > 0 for f in FAMILIES) and bool(result["verdict"])
    result["projection_errors"] = errors
    result["median_abs_projection_error"] = round(float(np.median([abs(e["error"]) for e in errors])), 3) if errors else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 15], help="trial time per family")
    parser.add_argument("--subsets", type=int, nargs="+", default=[10000, 0], help="training images; 0 = full MNIST")
    parser.add_argument("--seeds", type=int, default=1, help="retraining seeds per family")
    parser.add_argument("--table", action="store_true", help="print the README table of the recorded runs and exit")
    args = parser.parse_args()
    if args.table:
        return print(table(_earlier_rows()))
    code = commit()
    rows = _earlier_rows()
    with tempfile.TemporaryDirectory() as tmp:
        for subset in args.subsets:
            for minutes in args.minutes:
                row = {"commit": code, "machine": machine()["cpu"], "seeds": args.seeds,
                       **one_run(minutes, subset, args.seeds, Path(tmp))}
                key = ("minutes_per_family", "subset", "commit")
                rows = [r for r in rows if [r[k] for k in key] != [row[k] for k in key]] + [row]
                print({k: v for k, v in row.items() if k != "projection_errors"}, flush=True)
                record("short_budgets", {"rows": rows})  # after every run: a long sweep keeps what finished


def table(rows: list[dict]) -> str:
    """The README's table: one line per recorded run, in budget and data order, every attempt with its commit."""
    lines = ["| per family | images | commit | seeds | answer | verdict | complete trials ANN / CNN | best validation ANN / CNN | projection error (median, trials) | wall |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in sorted(rows, key=lambda r: (r["minutes_per_family"], r["subset"] == "full")):
        verdict = html.unescape(row["verdict"] or "none").split(":")[0]
        complete = " / ".join(f"{row[f]['complete']} of {row[f]['trials']}" for f in FAMILIES)
        best = " / ".join("-" if row[f]["best_val"] is None else f"{100 * row[f]['best_val']:.2f} % ({row[f]['best_start']})" for f in FAMILIES)
        error = row["median_abs_projection_error"]
        error = "-" if error is None else f"{100 * error:.1f} % ({len(row.get('projection_errors', []))})"
        images = "full MNIST" if row["subset"] == "full" else f"{row['subset']:,}"
        lines.append(f"| {row['minutes_per_family']:g} min | {images} | {row['commit']} | {row['seeds']} | {'yes' if row['answer'] else 'no'} | "
                     f"{verdict} | {complete} | {best} | {error} | {row['wall_seconds'] / 60:.1f} min |")
    return "\n".join(lines)


def _earlier_rows() -> list[dict]:
    """Rows of earlier runs stay, every attempt reported (each names its commit and machine); a run of the same
    commit, budget and size replaces its row."""
    path = RESULTS / "short_budgets.json"
    return [row for row in json.loads(path.read_text())["rows"] if "commit" in row] if path.exists() else []


if __name__ == "__main__":
    main()
