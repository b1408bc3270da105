"""What each ``bakeoff`` command does, from checked arguments to exit code.

Order inside every command: check all input, load data, and only then create directories or storage, so a
mistake on the command line changes nothing already stored.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from bakeoff.search import environment, layout
from bakeoff.search.app.cli import to_argv
from bakeoff.search.app.devices import describe, visible_gpus, worker_count
from bakeoff.search.app.job import SearchJob
from bakeoff.search.app.workers import RECYCLE_MB, is_worker, my_share, run_workers, worker_command
from bakeoff.search.data import VAL_FRACTION, check_source, load_dataset, resolve_source
from bakeoff.search.data.prepared import folder_for, is_prepared, split_options, write_prepared
from bakeoff.search.deploy.export import export_family
from bakeoff.search.deploy.predict import predict_files
from bakeoff.search.durations import DEFAULT_TIMEOUT, format_duration, format_epochs, parse_duration
from bakeoff.search.engine import record, strategy
from bakeoff.search.engine.budget import Budget
from bakeoff.search.engine.objectives import Limits, Objectives, format_cost, limits_from, parse_objective, stored_objectives
from bakeoff.search.engine.outage import PATIENCE
from bakeoff.search.engine.storage import check_writable_dir, file_of, normalise_url, open_storage, redact
from bakeoff.search.engine.strategy import (
    DEFAULT_EPOCHS,
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    FIRST_RUNG,
    FRONT,
    LADDER,
    require_torch,
)
from bakeoff.search.engine.studies import (
    EPOCHS,
    PRUNER,
    SPACE,
    load_existing,
    objectives_of,
    open_study,
    require_studies,
    warm_start,
    warm_start_source,
)
from bakeoff.search.errors import UserError
from bakeoff.search.evaluation.analyses import run_analyses
from bakeoff.search.evaluation.retrain import plan as retrain_plan
from bakeoff.search.evaluation.retrain import retrain_family
from bakeoff.search.evaluation.robustness import analyse_seed
from bakeoff.search.files import write_text_atomic
from bakeoff.search.manifest import read_manifest, update_manifest
from bakeoff.search.signals import Stopped
from bakeoff.search.train import speed
from bakeoff.search.train.backend import choose_backend, default_backend
from bakeoff.spaces import FAMILIES, Space, get_spaces, laddered, on_the_ladder


def run_dir(args: argparse.Namespace) -> Path:
    return (args.out or Path("runs") / args.study).expanduser()


def storage_url(args: argparse.Namespace) -> str:
    if args.storage:
        return normalise_url(args.storage)
    return f"sqlite:///{(run_dir(args) / layout.STUDY_DB).resolve()}"


def _families(args: argparse.Namespace) -> tuple[str, ...]:
    return FAMILIES if getattr(args, "family", "both") == "both" else (args.family,)


def _budget(args: argparse.Namespace, families: tuple[str, ...]):
    timeout = args.timeout
    if timeout is None and args.trials is None:
        timeout = parse_duration(DEFAULT_TIMEOUT)
    # Trial time accrues once per worker: N workers use N times the trial time in the same wall time.
    seconds = None if timeout is None else timeout * args.workers / len(families)
    return Budget(trials=args.trials, seconds=seconds)


def _prepare_out(out: Path) -> None:
    check_writable_dir(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror}; choose another --out") from None


def check_settings() -> None:
    """The BAKEOFF_* settings that training reads (``search.environment``), checked before a command writes anything."""
    environment.check(*strategy.SETTINGS, *speed.SETTINGS, RECYCLE_MB, PATIENCE)


def search(args: argparse.Namespace) -> int:
    check_settings()
    families = _families(args)
    spaces = get_spaces(args.space)
    gpus = visible_gpus()
    args.workers = 1 if args.engine == "kerastuner" and args.workers == "auto" else worker_count(args.workers, gpus)
    budget = _budget(args, families)
    if args.engine == "kerastuner" and (args.timeout is None or args.trials is not None or args.workers > 1):
        raise UserError("--engine kerastuner takes a --timeout budget only (no --trials, one worker)")
    if args.engine == "kerastuner" and (args.sampler or args.pruner or args.warm_start):
        raise UserError("--sampler, --pruner and --warm-start are for Optuna's engine; --engine kerastuner runs Hyperband")

    objectives = parse_objective(args.objective)
    _limits(args).check_measured(objectives, "this run")
    url = storage_url(args)
    stored = _stored(url, args.study, families)
    sampler, pruner = args.sampler or DEFAULT_SAMPLER, _pruner(args, stored)
    _check_objectives(objectives, args.engine, pruner)
    if pruner == LADDER:  # trials continue from rung to rung: the ladder's schedule, in every family's space
        spaces = {f: on_the_ladder(space) for f, space in spaces.items()}
    epochs = _epochs(args, stored, pruner)
    if sampler == "gp":
        require_torch()
    out = run_dir(args)
    backend = _search_backend(args, stored, objectives)
    check_source(resolve_source(args.data)[0])
    data = load_dataset(args.data, val_fraction=args.val_fraction, subset=args.subset, seed=args.seed,
                        image_size=args.image_size, channels=args.channels)
    _prepare_out(out)

    storage = open_storage(url, create=True)
    attrs = {
        "data_source": data.source,
        "data_sha256": data.sha256,
        "subset": args.subset,
        "val_fraction": args.val_fraction,
        "seed": args.seed,
        "image_size": args.image_size,
        "channels": args.channels,
        "engine": args.engine,
        "backend": backend,
        PRUNER: pruner if args.engine == "optuna" else None,
        EPOCHS: epochs,
    }
    identity = {**attrs, record.VAL_SIZE: len(data.y_val)}
    # Opening checks that a resumed study was searched on the same data; the parent of --workers creates
    # the studies and their starting trials once, before the workers race for them.
    if args.warm_start and file_of(url) is not None and not file_of(url).exists():
        raise UserError(f"no study named {args.warm_start!r} to warm-start from: {file_of(url)} does not exist yet")
    sources = {f: warm_start_source(storage, args.warm_start, args.study, f, identity, spaces[f], objectives) for f in families} if args.warm_start else {}
    studies = {f: open_study(storage, args.study, f, spaces[f], identity, args.seed, starts=args.starts, objectives=objectives) for f in families}
    for family, source in sources.items():
        if copied := warm_start(studies[family], source):
            print(f"[{family}] warm start: {copied} finished trial(s) of {source.study_name} copied in, not charged to this budget", flush=True)
    print(
        f"searching {', '.join(families)} with Keras on {backend} on {data.source} "
        f"({len(data.y_train)} train / {len(data.y_val)} validation images), storage {redact(url)}"
        + (f", {args.workers} workers" if args.workers > 1 else "")
        + (f", {describe(args.workers, gpus)}" if gpus else ""),
        flush=True,
    )
    update_manifest(out, "search", {"storage": redact(url), "study": args.study, "data": data.summary(), **attrs}, args.command_line)
    split = split_options(args.subset, args.val_fraction, args.seed)
    job = SearchJob(
        engine=args.engine, storage=url, study=args.study, families=families, spaces={f: spaces[f].get_config() for f in families},
        budget={"trials": budget.trials, "seconds": budget.seconds}, epochs=epochs, seed=args.seed, sampler=sampler, pruner=pruner,
        data=str(write_prepared(out, data, split).resolve()), split=split, backend=backend, workdir=str((out / layout.ENGINE_DIRS[args.engine]).resolve()),
        objectives=objectives.names,
    )
    del data  # workers memory-map the prepared split; the parent holds no copy through the night
    code = run_workers(worker_command(job.write(out / layout.JOB_FILE)), args.workers, gpus)
    if code == 0:
        _explain_missing(studies)
    return code


def _limits(args: argparse.Namespace) -> Limits:
    """--max-latency and --max-size (commands that retrain have them)."""
    return limits_from(getattr(args, "max_latency", None), getattr(args, "max_size", None))


def _check_objectives(objectives: Objectives, engine: str, pruner: str) -> None:
    """What a multi-objective search can run with: Optuna's engine, the ladder (ranking its rungs by Pareto rank), the
    front pruner or none, the LiteRT interpreter."""
    if not objectives.multi:
        if pruner == FRONT:
            raise UserError("--pruner front judges a trial against cheaper ones: it is for --objective accuracy,latency or accuracy,size")
        return
    if engine == "kerastuner":
        raise UserError(f"--objective {objectives.text} needs Optuna's engine: KerasTuner's Hyperband ranks trials by one objective")
    if pruner not in ("none", FRONT, LADDER):
        raise UserError(f"--pruner {pruner} judges accuracy alone; a search for --objective {objectives.text} takes --pruner ladder, front or none")
    from bakeoff.search.deploy.runtimes import require_litert

    require_litert(f"--objective {objectives.text}")


def _search_backend(args: argparse.Namespace, stored: dict[str, Any], objectives: Objectives) -> str:
    """--backend, else $KERAS_BACKEND, else the backend a resumed study began with, else the first installed;
    the KerasTuner engine trains on TensorFlow only, and Keras exports LiteRT files (the cost of a
    multi-objective search) from TensorFlow or PyTorch only."""
    requested = args.backend or os.environ.get("KERAS_BACKEND") or stored.get("backend") or default_backend()
    if args.engine == "kerastuner" and requested != "tensorflow":
        raise UserError(f"--engine kerastuner runs on the tensorflow backend only, not {requested}; use --engine optuna or --backend tensorflow")
    if objectives.multi and requested == "jax":
        raise UserError(f"--objective {objectives.text} measures each trial's LiteRT file, which Keras exports from the tensorflow or "
                        "torch backend, not jax; use --backend tensorflow")
    return choose_backend(requested)


def _pruner(args: argparse.Namespace, stored: dict[str, Any]) -> str:
    """--pruner, else the one a resumed study was searched with (re-running the same command resumes a search as it
    began, whatever the default is now), else the default; KerasTuner's engine runs its own Hyperband: none."""
    if args.engine != "optuna":
        return "none"
    before = stored.get(PRUNER)
    if before is None and stored.get(SPACE) is not None:
        # a study made before its pruner was recorded: the ladder's space, or the median pruner, the default then
        before = LADDER if laddered(Space.from_config(stored[SPACE])) else "median"
    if args.pruner and before and (args.pruner == LADDER) != (before == LADDER):
        how = "continue from rung to rung" if before == LADDER else "train whole"
        raise UserError(f"study {args.study!r} was searched with --pruner {before}, whose trials {how}; --pruner {args.pruner} "
                        "cannot resume it: re-run without --pruner, or start a new --study")
    return args.pruner or before or DEFAULT_PRUNER


def _epochs(args: argparse.Namespace, stored: dict[str, Any], pruner: str) -> int:
    """--epochs, else the one a resumed study was searched with, else the default. A ladder study's rungs are
    multiples of its first, and its trials' checkpoints and scores sit at those rungs: another first rung is refused."""
    before = stored.get(EPOCHS)
    if pruner == LADDER and args.epochs and before and args.epochs != before:
        raise UserError(f"study {args.study!r} climbs rungs from a first rung of {format_epochs(before)}; --epochs "
                        f"{args.epochs} would put its rungs elsewhere: re-run without --epochs, or start a new --study")
    return args.epochs or before or (FIRST_RUNG if pruner == LADDER else DEFAULT_EPOCHS)


def _stored(url: str, name: str, families: tuple[str, ...]) -> dict[str, Any]:
    """The study attributes of an existing study, read without creating anything (empty for a new study)."""
    path = file_of(url)
    if path is not None and not path.exists():
        return {}
    storage = open_storage(url, create=False)
    found = (load_existing(storage, name, family) for family in families)
    return next((study.user_attrs for study in found if study is not None), {})


def _explain_missing(studies: dict[str, Any]) -> None:
    """A family that ended without a complete trial gets a line saying why and what budget would do."""
    from bakeoff.reports.collect import trial_record
    from bakeoff.reports.notes import no_complete_trial

    for family, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        if record.best_trial(trials) is None:
            print(f"bakeoff: {no_complete_trial(family, [trial_record(t) for t in trials], len(studies))}", flush=True)


def status(args: argparse.Namespace) -> int:
    from bakeoff.reports.collect import study_summary

    url = storage_url(args)
    storage = open_storage(url, create=False)
    job = _last_job(args, url)
    for family, study in require_studies(storage, args.study, FAMILIES).items():
        left = Budget(**job.budget).describe_left(study) if job and family in job.families else None
        print(_format_status(study_summary(study), left))
    return 0


def _last_job(args: argparse.Namespace, url: str) -> SearchJob | None:
    """The last search started from this run folder, if it searched this storage and study (the folder of a
    worker that joined a shared study may hold another's): its families and budget give status the budget left."""
    path = run_dir(args) / layout.JOB_FILE
    if not path.is_file():
        return None
    try:
        job = SearchJob.read(path)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # a job file of another version: status goes on without a budget line
    if normalise_url(job.storage) != normalise_url(url) or job.study != args.study:
        return None
    return job


def _format_status(s: dict[str, Any], budget_left: str | None = None) -> str:
    """One family's progress; ``budget_left`` as ``Budget.describe_left`` words it, from the last search's job."""
    counts = s["states"]
    lines = [
        f"{s['study_name']}: {counts.get('COMPLETE', 0)} complete, {counts.get('PRUNED', 0)} pruned, "
        f"{counts.get('FAIL', 0)} failed, {counts.get('RUNNING', 0)} running, {counts.get('WAITING', 0)} waiting; "
        f"trial time {format_duration(s['seconds'])}" + (f"; Keras on {s['attrs']['backend']}" if s["attrs"].get("backend") else "")
    ]
    if budget_left is not None:
        running = " (a running trial is charged when it ends)" if counts.get("RUNNING") else ""
        lines.append(f"  budget of the last search started from this folder: {budget_left}{running}")
    if s["outcomes"]:
        lines.append("  outcomes: " + ", ".join(f"{n} {o}" for o, n in sorted(s["outcomes"].items())))
    best = s.get("best")
    if best:
        lines += _best_lines(best, s["trials"])
        if (cost := stored_objectives(s["attrs"].get(record.OBJECTIVES)).cost) is not None:
            lines.append(_front_line(s["trials"], cost))
        lines += [f"    {k} = {v}" for k, v in best["config"].items()]
    else:
        lines.append("  no complete trial yet")
    return "\n".join(lines)


def _best_lines(best: dict[str, Any], trials: list[dict[str, Any]]) -> list[str]:
    """The trial retraining without a limit would take (``record.best_trial``) and where it came from; on the ladder, which ranks
    the deepest rung first, also a shallower trial that scored higher, so "best" never hides a higher score."""
    from bakeoff.reports.selection import depth, scored_higher
    from bakeoff.search import stats

    origin = f"the {best['start']} start" if best.get("start") else "carried over by --warm-start" if best.get("warm_from") else "sampled"
    rung, at = best.get("rung") or 0, ""
    if rung:  # the single-objective ladder ranks by the deepest rung (``depth``); elsewhere the rung is only where it stands
        at = f" at the deepest rung reached, {format_epochs(rung)}" if depth(best) else f" at {format_epochs(rung)}"
    lines = [f"  best: trial {best['number']} ({origin}), val accuracy {best['value']:.4f}{at}"]
    if higher := scored_higher(trials, best):
        shown = stats.digits_apart(higher["value"], best["value"], 4)
        deep = higher.get("rung") or 0
        lines.append(f"  trial {higher['number']} scored higher, {higher['value']:.{shown}f}{f' at {format_epochs(deep)}' if deep else ''}, "
                     "and ranks below it: trials rank by the deepest rung they reached first")
    return lines


def _front_line(trials: list[dict[str, Any]], cost: str) -> str:
    """The front of a multi-objective study in one line: its size and its ends."""
    from bakeoff.reports.fronts import front, points

    found = front(points(trials, cost))
    if not found:
        return f"  front: no complete trial has its {cost} measured"
    cheapest, best = found[0], found[-1]
    return (f"  front: {len(found)} trial(s), from #{cheapest['trial']['number']} ({format_cost(cost, cheapest['cost'])}, "
            f"{cheapest['accuracy']:.4f}) to #{best['trial']['number']} ({format_cost(cost, best['cost'])}, {best['accuracy']:.4f})")


class Stages:
    """What the stages after the search share, each opened once and only when a stage first needs it: the run
    folder, the storage and its studies, and the data they were searched on. ``bakeoff run`` hands one through
    retraining, analyses, export and the report; each of those commands alone makes its own."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = run_dir(args)
        self.url = storage_url(args)

    @cached_property
    def studies(self) -> dict[str, Any]:
        return require_studies(open_storage(self.url, create=False), self.args.study, FAMILIES)

    @cached_property
    def data(self):
        return _searched_data(self.args, self.studies)


def retrain(args: argparse.Namespace, stages: Stages | None = None) -> int:
    check_settings()
    stages = stages or Stages(args)
    out, studies = stages.out, stages.studies
    if all(record.best_trial(study.get_trials(deepcopy=False)) is None for study in studies.values()):
        raise UserError(f"nothing to retrain: study {args.study!r} has no complete trial yet; run 'bakeoff search' first")
    limits = _limits(args)
    for study in studies.values():
        limits.check_measured(objectives_of(study), f"study {study.study_name!r}")
    data = stages.data
    _prepare_out(out)
    if not is_worker():
        gpus = visible_gpus()
        update_manifest(out, "retrain", {"seeds": args.seeds, "backend": os.environ["KERAS_BACKEND"], "limits": limits.to_dict()}, args.command_line)
        if len(gpus) > 1 and args.seeds > 1:  # one process per GPU, each retraining its share of the seeds
            argv = to_argv("retrain", argparse.Namespace(**{**vars(args), "backend": os.environ["KERAS_BACKEND"]}))
            return run_workers(["-m", "bakeoff.search", *argv], min(len(gpus), args.seeds), gpus, what="retraining")
    for family, study in studies.items():
        retrain_family(study, family, data, out, args.seeds, log=lambda line: print(line, flush=True), share=my_share(), limits=limits)
    return 0


def analyse(args: argparse.Namespace, stages: Stages | None = None) -> int:
    """Robustness of every retrained model (quick); with ``full``, the analyses that retrain. Re-runs skip what is done."""
    if args.analyses == "none":
        return 0
    stages = stages or Stages(args)
    folders = layout.retrained_models(stages.out)
    if not folders:
        raise UserError(f"nothing to analyse: {stages.out} has no retrained models yet; run 'bakeoff retrain' first")
    data = stages.data
    log = lambda line: print(line, flush=True)  # noqa: E731
    ran = sum(analyse_seed(f.parent, data.x_test, data.y_test, log=log) for f in folders)
    print(f"robustness: {ran} retrained model(s) analysed, {len(folders) - ran} already done", flush=True)
    if args.analyses == "full":
        limits = Limits.from_dict(read_manifest(stages.out).get("retrain", {}).get("limits"))  # what retraining chose under
        for family, study in stages.studies.items():
            chosen = retrain_plan(study, len(data.y_val), limits)
            if chosen is not None:
                run_analyses(chosen, family, data, stages.out, log=log)
    return 0


def export(args: argparse.Namespace, stages: Stages | None = None) -> int:
    """Each family's retrained model in every shipping format, each verified in its own runtime."""
    stages = stages or Stages(args)
    if not layout.retrained_models(stages.out):
        raise UserError(f"nothing to export: {stages.out} has no retrained models yet; run 'bakeoff retrain' first")
    limits = read_manifest(stages.out).get("retrain", {}).get("limits")  # what retraining chose under
    for family in FAMILIES:
        export_family(stages.out, family, stages.data, log=lambda line: print(line, flush=True), limits=limits)
    print(f"exports and model cards in {stages.out / layout.EXPORT_DIR}", flush=True)
    return 0


def predict(args: argparse.Namespace) -> int:
    """Class and probability per image, with the model's own runtime and the scaling its card states."""
    for line in predict_files(args.model, args.images):
        print(line, flush=True)
    return 0


def _searched_data(args: argparse.Namespace, studies: dict[str, Any]):
    """The data set the studies were searched on (checked by hash; the run's prepared split when it is there),
    for retraining and analyses; the backend they were searched with, unless --backend says otherwise."""
    attrs = next(iter(studies.values())).user_attrs
    if "data_sha256" not in attrs:
        raise UserError(f"study {args.study!r} records no data; was it made by bakeoff search?")
    choose_backend(args.backend or attrs.get("backend") or default_backend())
    options = split_options(attrs.get("subset"), attrs.get("val_fraction", VAL_FRACTION), attrs.get("seed", 0))
    prepared = folder_for(run_dir(args), attrs["data_sha256"], options)
    source = str(prepared) if is_prepared(prepared) else args.data or attrs.get("data_source")  # same hash either way
    data = load_dataset(source, **options, image_size=attrs.get("image_size"), channels=attrs.get("channels"))
    if data.sha256 != attrs["data_sha256"]:
        raise UserError(
            f"{data.source} is not the data study {args.study!r} was searched on (sha256 differs); pass that data with --data"
        )
    return data


def report(args: argparse.Namespace, stages: Stages | None = None, retraining_next: bool = False) -> int:
    """``retraining_next``: rendered by ``run`` as its search ends, so the morning after an overnight search finds a
    report while retraining (hours on a deep rung) goes on."""
    import time

    from bakeoff.reports.context import build_context
    from bakeoff.reports.render import render

    stages = stages or Stages(args)
    target = getattr(args, "output", None) or stages.out / layout.REPORT_FILE
    check_writable_dir(target.parent)
    started = time.perf_counter()
    html = render(build_context(stages.out, stages.studies, redact(stages.url), args.study, retraining_next))
    write_text_atomic(target, html)
    print(f"report written to {target} ({len(html.encode()) / 1e6:.2f} MB, rendered in {time.perf_counter() - started:.1f}s)")
    return 0


def run(args: argparse.Namespace) -> int:
    """search -> report -> retrain -> analyse -> export -> report, the stages after the search sharing one ``Stages``;
    a search or a stage stopped by a signal still gets a report of what exists, and then exits 128 + the signal's
    number."""
    code, stopped = search(args), None
    stages = Stages(argparse.Namespace(**{**vars(args), "output": None}))
    if code == 0:
        report(stages.args, stages, retraining_next=True)
        for stage in (retrain, analyse, *([export] if args.export else [])):
            try:
                code = stage(stages.args, stages)
            except UserError as exc:  # e.g. every trial failed: the report still shows the search
                print(f"bakeoff: {stage.__name__} skipped: {exc}", file=sys.stderr)
                break
            except Stopped as exc:
                stopped = exc
                break
            if code:  # a stopped or failed retraining on GPUs: the report shows what exists
                break
    report(stages.args, stages)
    if stopped:
        raise stopped
    return code


def spaces_show(args: argparse.Namespace) -> int:
    import json

    space = get_spaces(args.space)[args.family]
    print(json.dumps(space.get_config(), indent=2) if args.json else space.describe())
    return 0
