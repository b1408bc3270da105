"""What each ``bakeoff`` command does, from checked arguments to exit code.

Order inside every command: check all input, load data, and only then create directories or storage, so a
mistake on the command line changes nothing already stored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bakeoff.search import record
from bakeoff.search.errors import UserError
from bakeoff.spaces import FAMILIES


def run_dir(args: argparse.Namespace) -> Path:
    return (args.out or Path("runs") / args.study).expanduser()


def storage_url(args: argparse.Namespace) -> str:
    from bakeoff.search.storage import normalise_url

    if args.storage:
        return normalise_url(args.storage)
    return f"sqlite:///{(run_dir(args) / 'study.db').resolve()}"


def _families(args: argparse.Namespace) -> tuple[str, ...]:
    return FAMILIES if getattr(args, "family", "both") == "both" else (args.family,)


def _budget(args: argparse.Namespace, families: tuple[str, ...]):
    from bakeoff.search.budget import Budget
    from bakeoff.search.durations import DEFAULT_TIMEOUT, parse_duration

    timeout = args.timeout
    if timeout is None and args.trials is None:
        timeout = parse_duration(DEFAULT_TIMEOUT)
    # Trial time accrues once per worker: N workers use N times the trial time in the same wall time.
    seconds = None if timeout is None else timeout * args.workers / len(families)
    return Budget(trials=args.trials, seconds=seconds)


def _prepare_out(out: Path) -> None:
    from bakeoff.search.storage import check_writable_dir

    check_writable_dir(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror}; choose another --out") from None


def search(args: argparse.Namespace) -> int:
    from bakeoff.search.data import check_source, load_dataset, resolve_source
    from bakeoff.spaces import get_spaces

    families = _families(args)
    spaces = get_spaces(args.space)
    budget = _budget(args, families)
    if args.engine == "kerastuner" and (args.timeout is None or args.trials is not None or args.workers > 1):
        raise UserError("--engine kerastuner takes a --timeout budget only (no --trials, one worker)")
    if args.engine == "kerastuner" and (args.sampler or args.pruner):
        raise UserError("--sampler and --pruner choose Optuna's strategy; --engine kerastuner runs Hyperband")
    from bakeoff.search.strategy import DEFAULT_PRUNER, DEFAULT_SAMPLER, require_torch

    sampler, pruner = args.sampler or DEFAULT_SAMPLER, args.pruner or DEFAULT_PRUNER
    if sampler == "gp":
        require_torch()
    url = storage_url(args)
    out = run_dir(args)
    check_source(resolve_source(args.data)[0])
    data = load_dataset(args.data, val_fraction=args.val_fraction, subset=args.subset, seed=args.seed)
    _prepare_out(out)
    from bakeoff.search.manifest import update_manifest
    from bakeoff.search.runner import SearchPlan, run_search
    from bakeoff.search.storage import open_storage, redact
    from bakeoff.search.studies import open_study
    from bakeoff.search.workers import is_worker, run_workers

    storage = open_storage(url, create=True)
    attrs = {
        "data_source": data.source,
        "data_sha256": data.sha256,
        "subset": args.subset,
        "val_fraction": args.val_fraction,
        "seed": args.seed,
        "engine": args.engine,
    }
    identity = {**attrs, record.VAL_SIZE: len(data.y_val)}
    # Opening checks that a resumed study was searched on the same data; the parent of --workers creates
    # the studies and their starting trials once, before the workers race for them.
    studies = {f: open_study(storage, args.study, f, spaces[f], identity, args.seed, starts=args.starts) for f in families}
    if not is_worker():
        print(
            f"searching {', '.join(families)} on {data.source} "
            f"({len(data.y_train)} train / {len(data.y_val)} validation images), storage {redact(url)}"
            + (f", {args.workers} workers" if args.workers > 1 else ""),
            flush=True,
        )
        update_manifest(out, "search", {"storage": redact(url), "study": args.study, "data": data.summary(), **attrs}, args.argv)
    plan = SearchPlan(families, spaces, budget, args.epochs, args.seed, sampler, pruner)
    if is_worker():
        return run_search(plan, studies, data.search_data())
    if args.engine == "optuna":
        code = run_workers(_worker_argv(args, url, out, data.source), args.workers)
    else:
        from bakeoff.search.runner import run_kerastuner

        code = run_kerastuner(plan, studies, data.search_data(), out / "kerastuner")
    if code == 0:
        _explain_missing(studies)
    return code


def _explain_missing(studies: dict[str, Any]) -> None:
    """A family that ended without a complete trial gets a line saying why and what budget would do."""
    from bakeoff.reports.collect import trial_record
    from bakeoff.reports.notes import no_complete_trial

    for family, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        if record.best_trial(trials) is None:
            print(f"bakeoff: {no_complete_trial(family, [trial_record(t) for t in trials], len(studies))}", flush=True)


def _worker_argv(args: argparse.Namespace, url: str, out: Path, source: str) -> list[str]:
    """The ``bakeoff search`` command line a worker runs: this search's settings, spelled out, with the data
    as resolved here (a fallback to digits is decided, and warned about, once)."""
    argv = ["search", "--engine", args.engine, "--family", args.family, "--epochs", str(args.epochs), "--val-fraction", str(args.val_fraction),
            "--seed", str(args.seed), "--workers", str(args.workers), "--study", args.study,
            "--out", str(out.resolve()), "--storage", url]
    if not args.starts:
        argv.append("--no-starts")
    for flag, value in (("--trials", args.trials), ("--timeout", args.timeout), ("--data", source),
                        ("--subset", args.subset), ("--space", args.space), ("--sampler", args.sampler), ("--pruner", args.pruner)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def status(args: argparse.Namespace) -> int:
    from bakeoff.reports.collect import study_summary
    from bakeoff.search.storage import open_storage
    from bakeoff.search.studies import require_studies

    storage = open_storage(storage_url(args), create=False)
    for family, study in require_studies(storage, args.study, FAMILIES).items():
        print(_format_status(study_summary(study)))
    return 0


def _format_status(s: dict[str, Any]) -> str:
    from bakeoff.search.durations import format_duration

    counts = s["states"]
    lines = [
        f"{s['study_name']}: {counts.get('COMPLETE', 0)} complete, {counts.get('PRUNED', 0)} pruned, "
        f"{counts.get('FAIL', 0)} failed, {counts.get('RUNNING', 0)} running, {counts.get('WAITING', 0)} waiting; "
        f"trial time {format_duration(s['seconds'])}"
    ]
    if s["outcomes"]:
        lines.append("  outcomes: " + ", ".join(f"{n} {o}" for o, n in sorted(s["outcomes"].items())))
    best = s.get("best")
    if best:
        lines.append(f"  best val accuracy {best['value']:.4f} (trial {best['number']})")
        lines += [f"    {k} = {v}" for k, v in best["config"].items()]
    else:
        lines.append("  no complete trial yet")
    return "\n".join(lines)


def retrain(args: argparse.Namespace) -> int:
    from bakeoff.search.manifest import update_manifest
    from bakeoff.search.retrain import retrain_family
    from bakeoff.search.storage import open_storage
    from bakeoff.search.studies import require_studies

    out = run_dir(args)
    storage = open_storage(storage_url(args), create=False)
    studies = require_studies(storage, args.study, FAMILIES)
    if all(record.best_trial(study.get_trials(deepcopy=False)) is None for study in studies.values()):
        raise UserError(f"nothing to retrain: study {args.study!r} has no complete trial yet; run 'bakeoff search' first")
    data = _searched_data(args, studies)
    _prepare_out(out)
    update_manifest(out, "retrain", {"seeds": args.seeds}, args.argv)
    for family, study in studies.items():
        retrain_family(study, family, data, out, args.seeds, log=lambda line: print(line, flush=True))
    return 0


def analyse(args: argparse.Namespace) -> int:
    """Robustness of every retrained model (quick); with ``full``, the analyses that retrain. Re-runs skip what is done."""
    from bakeoff.search.retrain import plan
    from bakeoff.search.retraining_analyses import run_analyses
    from bakeoff.search.robustness import analyse_seed
    from bakeoff.search.storage import open_storage
    from bakeoff.search.studies import require_studies

    if args.analyses == "none":
        return 0
    out = run_dir(args)
    folders = sorted((out / record.RETRAIN_DIR).glob("*/seed-*/model.keras"))
    if not folders:
        raise UserError(f"nothing to analyse: {out} has no retrained models yet; run 'bakeoff retrain' first")
    storage = open_storage(storage_url(args), create=False)
    studies = require_studies(storage, args.study, FAMILIES)
    data = _searched_data(args, studies)
    log = lambda line: print(line, flush=True)  # noqa: E731
    ran = sum(analyse_seed(f.parent, data.x_test, data.y_test, log=log) for f in folders)
    print(f"robustness: {ran} retrained model(s) analysed, {len(folders) - ran} already done", flush=True)
    if args.analyses == "full":
        for family, study in studies.items():
            chosen = plan(study, len(data.y_val))
            if chosen is not None:
                run_analyses(chosen, family, data, out, log=log)
    return 0


def export(args: argparse.Namespace) -> int:
    """Each family's retrained model in every shipping format, each verified in its own runtime."""
    from bakeoff.search.export import export_family
    from bakeoff.search.storage import open_storage
    from bakeoff.search.studies import require_studies

    out = run_dir(args)
    if not list((out / record.RETRAIN_DIR).glob("*/seed-*/model.keras")):
        raise UserError(f"nothing to export: {out} has no retrained models yet; run 'bakeoff retrain' first")
    storage = open_storage(storage_url(args), create=False)
    data = _searched_data(args, require_studies(storage, args.study, FAMILIES))
    for family in FAMILIES:
        export_family(out, family, data, log=lambda line: print(line, flush=True))
    print(f"exports and model cards in {out / record.EXPORT_DIR}", flush=True)
    return 0


def predict(args: argparse.Namespace) -> int:
    """Class and probability per image, with the model's own runtime and the scaling its card states."""
    from bakeoff.search.predict import predict_files

    for line in predict_files(args.model, args.images):
        print(line, flush=True)
    return 0


def _searched_data(args: argparse.Namespace, studies: dict[str, Any]):
    """The data set the studies were searched on (checked by hash), for retraining and analyses."""
    from bakeoff.search.data import load_dataset

    attrs = next(iter(studies.values())).user_attrs
    if "data_sha256" not in attrs:
        raise UserError(f"study {args.study!r} records no data; was it made by bakeoff search?")
    data = load_dataset(
        args.data or attrs.get("data_source"),
        val_fraction=attrs.get("val_fraction", 0.1),
        subset=attrs.get("subset"),
        seed=attrs.get("seed", 0),
    )
    if data.sha256 != attrs["data_sha256"]:
        raise UserError(
            f"{data.source} is not the data study {args.study!r} was searched on (sha256 differs); pass that data with --data"
        )
    return data


def report(args: argparse.Namespace) -> int:
    import time

    from bakeoff.reports.context import build_context
    from bakeoff.reports.render import render
    from bakeoff.search.manifest import write_text_atomic
    from bakeoff.search.storage import check_writable_dir, open_storage, redact
    from bakeoff.search.studies import require_studies

    out = run_dir(args)
    url = storage_url(args)
    target = args.output or out / "report.html"
    check_writable_dir(target.parent)
    storage = open_storage(url, create=False)
    studies = require_studies(storage, args.study, FAMILIES)
    started = time.perf_counter()
    html = render(build_context(out, studies, redact(url), args.study))
    write_text_atomic(target, html)
    print(f"report written to {target} ({len(html.encode()) / 1e6:.2f} MB, rendered in {time.perf_counter() - started:.1f}s)")
    return 0


def run(args: argparse.Namespace) -> int:
    """search -> retrain -> analyse -> export -> report; an interrupted search still gets a report of what exists."""
    code = search(args)
    if code == 0:
        for stage in (retrain, analyse, *([export] if args.export else [])):
            try:
                stage(args)
            except UserError as exc:  # e.g. every trial failed: the report still shows the search
                print(f"bakeoff: {stage.__name__} skipped: {exc}", file=sys.stderr)
                break
    report(argparse.Namespace(**{**vars(args), "output": None}))
    return code
