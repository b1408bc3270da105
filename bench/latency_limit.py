"""Under a latency limit of half the seed notebook CNN's, is the retrained CNN still ahead of the retrained ANN (issue 27)?

Reads a finished multi-objective search (``bench/multi_objective.py``'s ``mo-seed-N`` folder, searched with
``--objective accuracy,latency``). The limit is half the LiteRT float32 latency per image that this search measured
for its CNN start "seed notebook" (the seed notebook's CNN, measured on the search's machine like every trial). Then
``bakeoff retrain --max-latency LIMIT`` and ``bakeoff report`` on that folder, as a user would run them. One row per
run folder records, per family, the trial chosen within the limit (validation only), its latency, the retrained
models' test accuracies (mean and spread over seeds), and the report's own verdict and limit sentences. The test set
is read only by that final evaluation, after selection. Retraining resumes (seeds already retrained are kept).

    python bench/latency_limit.py --run /work/runs/mo/mo-seed-1 [--study mo] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import RESULTS, commit, machine, record

NAME = "latency_limit"


def notebook_cnn_latency(studies: dict) -> float:
    """The latency (ms) the search measured for the CNN start "seed notebook"."""
    from bakeoff.search.engine import record as trial_record

    for trial in studies["cnn"].get_trials(deepcopy=False):
        cost = trial.user_attrs.get(trial_record.COST)
        if trial.user_attrs.get(trial_record.START) == "seed notebook" and cost and cost.get("latency_ms") is not None:
            return float(cost["latency_ms"])
    sys.exit("bench: the CNN study has no 'seed notebook' start with a measured latency: search with --objective accuracy,latency and --starts")


def row_of(run: Path, studies: dict, study: str, notebook_ms: float) -> dict:
    """The recorded row: chosen trials, their latencies and test accuracies, and the report's sentences, all under the
    limits retraining recorded in the manifest and read through the report's own context (its verdict rows are the
    test accuracies of the models retrained under them)."""
    from bakeoff.reports.context import build_context
    from bakeoff.search.engine import record as trial_record
    from bakeoff.search.engine.objectives import Limits
    from bakeoff.search.manifest import read_manifest

    limits = Limits.from_dict(read_manifest(run).get("retrain", {}).get("limits"))
    verdict = build_context(run, studies, "study.db", study)["verdict"] or {}
    row = {"run folder": str(run), "commit": commit(), "measured_on": machine()["cpu"],
           "notebook CNN latency ms": round(notebook_ms, 5), "limit ms": limits.latency_ms}
    for family, found in studies.items():
        best = trial_record.best_trial(found.get_trials(deepcopy=False), limits)
        accuracy = (verdict.get("rows") or {}).get(family)
        row[family.upper()] = "none within the limit" if best is None else (
            f"trial {best.number}, {best.user_attrs[trial_record.COST]['latency_ms']:.4g} ms, validation {trial_record.selectable_value(best):.4f}"
            + (f", test {_spread(accuracy)}" if accuracy else ", not retrained"))
    row["limit sentence"] = verdict.get("limits")
    row["verdict"] = verdict.get("sentence")
    return row


def _spread(found: dict) -> str:
    if found["std"] is None:
        return f"{100 * found['mean']:.2f} % (one seed: no spread)"
    return f"{100 * found['mean']:.2f} % ± {100 * found['std']:.2f} (sd over {found['n']} seeds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a multi-objective run folder (accuracy,latency)")
    parser.add_argument("--study", default="mo", help="its study name (default: %(default)s, as multi_objective.py names it)")
    parser.add_argument("--seeds", type=int, default=3, help="retraining seeds per family (default: %(default)s)")
    args = parser.parse_args()

    import optuna

    from bakeoff.search.engine.storage import open_storage
    from bakeoff.search.engine.studies import require_studies

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if not (args.run / "study.db").is_file():
        sys.exit(f"bench: {args.run} holds no study.db")
    studies = require_studies(open_storage(f"sqlite:///{args.run}/study.db", create=False), args.study, ("ann", "cnn"))
    notebook_ms = notebook_cnn_latency(studies)
    limit_ms = notebook_ms / 2
    print(f"seed notebook CNN: {notebook_ms:.4g} ms per image; limit {limit_ms:.4g} ms", flush=True)
    common = ["--out", str(args.run), "--study", args.study]
    subprocess.run([sys.executable, "-m", "bakeoff.search", "retrain", *common, "--seeds", str(args.seeds), "--max-latency", f"{limit_ms:.6g}ms"], check=True)
    subprocess.run([sys.executable, "-m", "bakeoff.search", "report", *common], check=True)
    row = row_of(args.run, studies, args.study, notebook_ms)
    path = RESULTS / f"{NAME}.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    record(NAME, {"rows": [r for r in rows if r["run folder"] != row["run folder"]] + [row]})
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
