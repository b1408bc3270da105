"""How far a sampled configuration had to beat the starts to be "found by search", and how far the best one did, in recorded 1-hour ladder searches.

The report calls a winner "found by search" only when it beats every start by more than 2 standard errors of the
paired difference on the validation images (``reports.selection``). Per recorded run folder of
``accuracy_at_budget.py`` and family: the best start and the best sampled trial by validation accuracy at any rung
(more generous than the rule, which compares the trial retraining takes: the deepest rung's best), their difference
in points, the paired standard error of that difference (from the images one gets right and the other wrong,
``search.stats.paired_se``), the margin in standard errors, and how many sampled configurations (each by its best
trial) fell below, within or beyond 2 standard errors of the best start. Nothing is trained: it reads the studies;
each row names its search by seed and the search code's commit (matched to the attempt in
``accuracy_at_budget.json`` with the same seed and winners). Rows of searches not read again are kept: run folders
live outside the repository and do not outlive their machine, and every recorded search stays in the table.

    python bench/search_margin.py /work/runs/acc-default-seed0 /work/runs/acc-warm-seed0 [...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bakeoff.reports.selection import TIE_SE

from common import RESULTS, record

NAME = "search_margin"


def _label(trial) -> str:
    from bakeoff.search.engine import record as trial_record

    start = trial.user_attrs.get(trial_record.START)
    rung = trial_record.rung_epochs(trial)
    return f"#{trial.number}{f' {start}' if start else ''}{f', {rung} epochs' if rung else ''}"


def family_row(study, n_val: int) -> dict:
    """The best start against the best sampled trial of one family's study, and where every sampled configuration fell."""
    import numpy as np

    from bakeoff.search import stats
    from bakeoff.search.engine import record as trial_record

    complete = [t for t in study.get_trials(deepcopy=False) if trial_record.selectable_value(t) is not None]
    starts = [t for t in complete if t.user_attrs.get(trial_record.START)]
    sampled = [t for t in complete if not t.user_attrs.get(trial_record.START) and trial_record.WARM_FROM not in t.user_attrs]
    if not starts or not sampled:
        return {"note": "no complete start or no complete sampled trial"}
    best_of = lambda trials: max(trials, key=lambda t: (t.values[0], -t.number))  # noqa: E731
    start = best_of(starts)
    start_correct = trial_record.val_correct(start.user_attrs, n_val)

    def against_start(trial) -> tuple[float, float]:
        """(difference in points, paired standard error in points) of ``trial`` minus the best start."""
        correct = trial_record.val_correct(trial.user_attrs, n_val)
        if correct is None or start_correct is None:
            raise SystemExit(f"bench: trial #{trial.number} or #{start.number} recorded no per-image validation results")
        a, b = np.asarray(correct, dtype=bool), np.asarray(start_correct, dtype=bool)
        se = stats.paired_se(int(np.sum(a & ~b)), int(np.sum(b & ~a)), n_val)
        return 100 * (trial.values[0] - start.values[0]), 100 * se

    by_configuration: dict = {}
    for trial in sampled:
        by_configuration.setdefault(trial.user_attrs.get(trial_record.LADDER_KEY, trial.number), []).append(trial)
    margins = [d / se for d, se in (against_start(best_of(trials)) for trials in by_configuration.values())]
    best = best_of(sampled)
    difference, se = against_start(best)
    return {"best start": f"{100 * start.values[0]:.2f} % ({_label(start)})", "best sampled": f"{100 * best.values[0]:.2f} % ({_label(best)})",
            "difference (points)": round(difference, 3), "paired SE (points)": round(se, 3), "margin (SE)": round(difference / se, 2),
            "2 SE (points)": round(TIE_SE * se, 3),
            "sampled configurations below / within / beyond 2 SE": " / ".join(str(n) for n in (
                sum(m < -TIE_SE for m in margins), sum(-TIE_SE <= m <= TIE_SE for m in margins), sum(m > TIE_SE for m in margins)))}


def _attempt(seed: int, winners: dict) -> dict | None:
    """The accuracy_at_budget attempt of this search: same seed and, per family, the same winning trial and score."""
    path = RESULTS / "accuracy_at_budget.json"
    attempts = json.loads(path.read_text())["attempts"] if path.exists() else []
    return next((a for a in reversed(attempts) if a["seed"] == seed
                 and all((a.get(f) or {}).get("best_trial") == n and (a.get(f) or {}).get("best_val_accuracy") == round(v, 4)
                         for f, (n, v) in winners.items())), None)


def folder_rows(folder: Path) -> list[dict]:
    import optuna

    from bakeoff.search.engine import record as trial_record

    storage = f"sqlite:///{folder / 'study.db'}"
    studies = {f: optuna.load_study(study_name=f"bakeoff-{f}", storage=storage) for f in ("ann", "cnn")}
    attrs = studies["ann"].user_attrs
    winners = {}
    for family, study in studies.items():
        best = trial_record.best_trial(study.get_trials(deepcopy=False))
        winners[family] = (best.number, trial_record.selectable_value(best))
    attempt = _attempt(attrs["seed"], winners)
    search = f"seed {attrs['seed']}, " + (f"{attempt['commit']} ({attempt['timeout']})" if attempt else "no matching attempt recorded")
    return [{"search": search, "run folder": folder.name, "family": family.upper(), "validation images": attrs[trial_record.VAL_SIZE],
             **family_row(study, attrs[trial_record.VAL_SIZE])} for family, study in studies.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="run folders of accuracy_at_budget.py (each with its study.db)")
    args = parser.parse_args()
    missing = [str(f) for f in args.folders if not (f / "study.db").is_file()]
    if missing:
        raise SystemExit(f"bench: no study.db in {', '.join(missing)}")
    rows = [row for folder in args.folders for row in folder_rows(folder)]
    for row in rows:
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))
    path = RESULTS / f"{NAME}.json"
    before = json.loads(path.read_text()) if path.exists() else {}
    earlier = [*before.get("earlier commands", []), *([f"{before['when']}: {before['command']}"] if before else [])]
    record(NAME, {"rows": merged(before.get("rows", []), rows), "earlier commands": earlier})


def merged(recorded: list[dict], read: list[dict]) -> list[dict]:
    """The recorded rows with those of the run folders read now replaced, per family (rows recorded before they
    named their folder are told apart by their search's seed and commit)."""
    key = lambda row: (row.get("run folder") or row["search"], row["family"])  # noqa: E731
    again = {key(row) for row in read}
    return [row for row in recorded if key(row) not in again] + read


if __name__ == "__main__":
    main()
