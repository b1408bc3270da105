"""Multi-objective against single-objective search at the same budget (issue 27): whose fronts are better, how close the most accurate points are, and whether the front pruner helps.

For each ``--seed``, searches of full MNIST with the same ``--timeout``, each in a run folder of its own:
``--objective accuracy,latency`` without pruning (``mo``), the same with ``--pruner front`` (``front``) or on the
ladder with its rungs ranked by Pareto rank (``ladder``), and today's single-objective default (``so``). The
single-objective search measured no latency, so each of its complete trials is measured afterwards by the same
function on the same machine (``search/deploy/cost.py``: LiteRT float32, batch 1, one thread; not charged to it, as
that search never paid for it). Per family, each run's front is scored by its hypervolume in (accuracy, log10
latency) against one reference point shared by every run compared: accuracy ``REF_ACCURACY`` and twice the largest
latency of any complete trial of any run. The table gives, per family, paired differences over the seeds both kinds
ran (mean, 95 % t interval): hypervolume and best validation accuracy (points), ``mo`` against ``so``, ``front``
against ``mo``, and ``ladder`` against both. The table ends with issue 27's goal, judged for the default
multi-objective search (``ladder``) against ``so`` per family: hypervolume larger, most accurate point at most 0.1
points below ``so``'s, each on at least 5 seeds (the issue asks for 3) and read from the 95 % interval. Every
run is kept (re-running a kind and seed resumes its search and replaces its row, marked ``resumed``: its
``wall_seconds`` is then the last leg's only).

``--so-from DIR`` reads the single-objective search from a finished ``bakeoff run`` folder of the same seed and
``--timeout`` instead of running it again (``bench/accuracy_at_budget.py`` runs exactly that search on the same data:
an hour of machine time saved per seed); its row records that run's commit from ``accuracy_at_budget.json``. Use
it only with a run of the same training code as the other kinds (runs before the input pipeline of 2026-12-06
trained 1.4x slower and so searched fewer trials in the same budget: not like for like). Its
trials' latencies are measured when this script runs, so run it on the machine that runs that seed's other kinds:
each row names its machine, and the table says when the rows compared ran on more than one.

    python bench/multi_objective.py --seed 0 [--timeout 1h] [--kinds mo,front,ladder,so] [--out /tmp/bakeoff-mo]
    python bench/multi_objective.py --seed 1 --kinds so --so-from /work/runs/acc-default-seed1
    python bench/multi_objective.py --summary
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, clears, commit, goal_verdict, interval_text, machine, mean_interval, mnist_path, record

KINDS = {
    "mo": ["--objective", "accuracy,latency", "--pruner", "none"],
    "front": ["--objective", "accuracy,latency", "--pruner", "front"],
    "ladder": ["--objective", "accuracy,latency", "--pruner", "ladder"],
    "so": [],
}
#: The reference point's accuracy: trials below it add nothing to a front's hypervolume.
REF_ACCURACY = 0.95
NAME = "multi_objective"
#: Issue 27's goal compares the default multi-objective search (on the ladder since 2026-12-07) with ``so``; its most
#: accurate point may fall at most ``WITHIN_POINTS`` below ``so``'s. The issue asks for 3 seeds at least; a
#: comparison where search randomness matters takes 5 here, so the goal is judged on ``GOAL_SEEDS``.
GOAL_PAIR, GOAL_SEEDS, WITHIN_POINTS = ("ladder", "so"), 5, 0.1


def run_one(kind: str, seed: int, timeout: str, root: Path, data) -> dict:
    """One search of ``kind`` (resumed if its folder exists), then every complete trial's (latency, accuracy)."""
    out = root / f"{kind}-seed-{seed}"
    argv = [sys.executable, "-m", "bakeoff.search", "search", "--data", mnist_path(), "--timeout", timeout, "--seed", str(seed),
            "--out", str(out), "--study", "mo", *KINDS[kind]]
    print(" ".join(argv[2:]), flush=True)
    resumed, started = (out / "study.db").exists(), time.perf_counter()
    if (code := subprocess.run(argv).returncode) != 0:  # 143 after a stop at a trial boundary: the search resumes
        sys.exit(f"bench: {' '.join(argv[2:])} exited with {code}; re-run the same command to resume it")
    wall = time.perf_counter() - started
    # a resumed search's wall clock is its last leg only; the figure compared is each family's charged time
    return {"kind": kind, "seed": seed, "timeout": timeout, "commit": commit(), "wall_seconds": round(wall, 1), "resumed": resumed,
            "cpu": machine()["cpu"], "families": {family: points_of(out, family, data) for family in ("ann", "cnn")}}


def searched_before(seed: int, timeout: str, folder: Path, data) -> dict:
    """The ``so`` row from ``folder``, a ``bakeoff run`` of this seed and timeout that accuracy_at_budget.py recorded
    (its latest attempt gives the commit); nothing is searched again."""
    path = RESULTS / "accuracy_at_budget.json"
    attempts = json.loads(path.read_text())["attempts"] if path.exists() else []
    found = [a for a in attempts if a["seed"] == seed and a["timeout"] == timeout]
    if not found or not (folder / "study.db").is_file():
        sys.exit(f"bench: --so-from {folder}: needs its study.db and an accuracy_at_budget attempt with seed {seed} and timeout {timeout}")
    return {"kind": "so", "seed": seed, "timeout": timeout, "commit": found[-1]["commit"], "wall_seconds": None, "source": str(folder), "cpu": machine()["cpu"],
            "families": {family: points_of(folder, family, data) for family in ("ann", "cnn")}}


def points_of(out: Path, family: str, data) -> dict:
    """[latency ms, validation accuracy, trial number, start label] of every complete trial; a trial that was not
    measured while searching (single-objective) is measured now, the same way."""
    import optuna

    from bakeoff.search.engine import record as trial_record

    storage = f"sqlite:///{out}/study.db"
    name = next((n for n in optuna.get_all_study_names(storage) if n.endswith(f"-{family}")), None)
    if name is None:
        sys.exit(f"bench: {out}/study.db holds no {family.upper()} study")
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    found, measured_after = [], 0
    for trial in trials:
        accuracy = trial_record.selectable_value(trial)
        if accuracy is None:
            continue
        cost = trial.user_attrs.get(trial_record.COST)
        if cost is None:
            cost, measured_after = measure(family, trial_record.config_of(trial), data), measured_after + 1
        found.append([cost["latency_ms"], accuracy, trial.number, trial.user_attrs.get(trial_record.START)])
    return {"points": found, "counted": trial_record.counted(trials), "charged_seconds": round(trial_record.spent_seconds(trials), 1),
            "measured_after": measured_after}


def measure(family: str, config: dict, data) -> dict:
    from bakeoff.search.deploy.cost import measure as cost_of
    from bakeoff.search.train.builders import build_model
    from bakeoff.search.train.fit import release_models
    from bakeoff.search.train.settings import Speed

    release_models()
    model = build_model({**config, "augment": False}, family, data.input_shape, data.num_classes, 1, speed=Speed())
    return cost_of(model, config, family, data, int8=False)


def _hypervolumes(runs: list[dict]) -> tuple[dict, float]:
    """{(kind, seed, family): (hypervolume, best accuracy)} against the shared reference point, and its latency."""
    from bakeoff.reports.fronts import hypervolume

    every = [p[0] for run in runs for family in run["families"].values() for p in family["points"]]
    ref = (REF_ACCURACY, 2 * max(every)) if every else (REF_ACCURACY, 1.0)
    found = {}
    for run in runs:
        for family, result in run["families"].items():
            points = [{"cost": p[0], "accuracy": p[1]} for p in result["points"]]
            found[(run["kind"], run["seed"], family)] = (hypervolume(points, ref), max((p[1] for p in result["points"]), default=None))
    return found, ref[1]


def _differences(scores: dict, a: str, b: str, family: str) -> tuple[list[int], list[float], list[float]]:
    """The seeds both kinds ran for ``family``, and per seed A − B in hypervolume and in best accuracy (points)."""
    seeds = sorted({s for k, s, f in scores if k == a and f == family} & {s for k, s, f in scores if k == b and f == family})
    hv = [scores[(a, s, family)][0] - scores[(b, s, family)][0] for s in seeds]
    best = [100 * (scores[(a, s, family)][1] - scores[(b, s, family)][1]) for s in seeds
            if scores[(a, s, family)][1] is not None and scores[(b, s, family)][1] is not None]
    return seeds, hv, best


def table(runs: list[dict]) -> str:
    """Per family and comparison: seeds, complete trials of each, hypervolume difference and best-accuracy difference
    (points), mean [95 % interval]; then the goal's verdict per family."""
    scores, ref_latency = _hypervolumes(runs)
    complete = {(run["kind"], run["seed"], family): len(result["points"]) for run in runs for family, result in run["families"].items()}
    cpus = sorted({run.get("cpu", "not recorded") for run in runs})
    lines = [f"Reference point: accuracy {REF_ACCURACY}, latency {ref_latency:.4g} ms (twice the largest of any complete trial of any run).",
             *([f"Latencies were measured on more than one machine ({'; '.join(cpus)}): a hypervolume difference mixes machines."] if len(cpus) > 1 else []), "",
             "| family | comparison | seeds | complete trials A / B | hypervolume A | hypervolume B | A − B (mean [95 % interval]) | best accuracy A / B, % | best accuracy A − B, points |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    mean = lambda values: "—" if not values else interval_text(mean_interval(values), 4, what="seed")  # noqa: E731
    for family in ("ann", "cnn"):
        for a, b in (("mo", "so"), ("front", "mo"), ("ladder", "so"), ("ladder", "mo")):
            seeds, hv, best = _differences(scores, a, b, family)
            if not seeds:
                continue
            each = ", ".join(f"{scores[(a, s, family)][0]:.4f}" for s in seeds)
            other = ", ".join(f"{scores[(b, s, family)][0]:.4f}" for s in seeds)
            trials = ", ".join(f"{complete[(a, s, family)]} / {complete[(b, s, family)]}" for s in seeds)
            accurate = ", ".join(f"{_percent(scores[(a, s, family)][1])} / {_percent(scores[(b, s, family)][1])}" for s in seeds)
            lines.append(f"| {family.upper()} | {a} − {b} | {', '.join(map(str, seeds))} | {trials} | {each} | {other} | {mean(hv)} | {accurate} | {mean(best)} |")
    return "\n".join(lines + goal(scores))


def goal(scores: dict) -> list[str]:
    """Issue 27's goal per family, for the default multi-objective search (``GOAL_PAIR``): its hypervolume larger than
    ``so``'s, and its most accurate point no more than ``WITHIN_POINTS`` below ``so``'s. Each verdict reads the 95 %
    interval of the paired differences (``goal_verdict``), and is "not shown" on fewer than ``GOAL_SEEDS`` seeds; the
    per-seed counts stand beside it."""
    a, b = GOAL_PAIR
    rows = []
    for family in ("ann", "cnn"):
        seeds, hv, best = _differences(scores, a, b, family)
        if not seeds:
            continue
        larger, within = sum(clears(d, 0.0, strictly=True) for d in hv), sum(clears(d, -WITHIN_POINTS) for d in best)
        rows.append(f"| {family.upper()} | {', '.join(map(str, seeds))} | {_verdict(hv, 0.0, strictly=True)} | {larger} of {len(hv)} "
                    f"| {_verdict(best, -WITHIN_POINTS, strictly=False)} | {within} of {len(best)} |")
    if not rows:
        return []
    return ["", f"Goal: {a} against {b} per family, on at least {GOAL_SEEDS} seeds; a verdict is met or missed only when the whole "
            "95 % interval of the paired differences says so, otherwise not shown.", "",
            f"| family | seeds | hypervolume larger than {b}'s | seeds larger | most accurate point at most {WITHIN_POINTS} points below {b}'s "
            "| seeds within |", "| --- | --- | --- | --- | --- | --- |", *rows]


def _verdict(values: list[float], goal: float, strictly: bool) -> str:
    """``goal_verdict`` of the seeds' differences, or "not shown" on fewer than ``GOAL_SEEDS``."""
    if len(values) < GOAL_SEEDS:
        return f"not shown ({len(values)} of {GOAL_SEEDS} seeds)"
    return goal_verdict(mean_interval(values), goal, strictly=strictly)


def _percent(accuracy: float | None) -> str:
    return "—" if accuracy is None else f"{100 * accuracy:.2f}"


def _recorded() -> list[dict]:
    path = RESULTS / f"{NAME}.json"
    return json.loads(path.read_text())["runs"] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", default="1h", help="each search's --timeout (both families together)")
    parser.add_argument("--kinds", default="mo,front,ladder,so", help=f"which searches, of {', '.join(KINDS)}")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bakeoff-mo"), help="where the run folders go (resumed when there)")
    parser.add_argument("--so-from", type=Path, metavar="DIR", help="read the single-objective search from this finished run folder "
                        "(accuracy_at_budget.py's, same seed and timeout) instead of searching again")
    parser.add_argument("--summary", action="store_true", help="print the table of every recorded run")
    args = parser.parse_args()
    if args.summary:
        print(table(_recorded()))
        return
    from bakeoff.search.data import load_dataset

    data = load_dataset(mnist_path()).search_data()
    for kind in args.kinds.split(","):
        if kind == "so" and args.so_from:
            result = searched_before(args.seed, args.timeout, args.so_from, data)
        else:
            result = run_one(kind, args.seed, args.timeout, args.out, data)
        runs = [r for r in _recorded() if (r["kind"], r["seed"], r["timeout"]) != (kind, args.seed, args.timeout)] + [result]
        record(NAME, {"reference_accuracy": REF_ACCURACY, "runs": runs})
    print(table(_recorded()))


if __name__ == "__main__":
    main()
