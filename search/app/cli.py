"""The ``bakeoff`` command line: ``main(argv) -> int``, so tests call it in-process.

Only argparse and light modules load at start-up; TensorFlow is imported by the commands that train, after
every argument has been checked, so ``--help``, ``status`` and ``report`` never load it. User errors end in
one line on stderr and exit code 2; bugs end in a traceback and exit code 1.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bakeoff.search.data import VAL_FRACTION
from bakeoff.search.durations import DEFAULT_TIMEOUT
from bakeoff.search.engine.strategy import DEFAULT_PRUNER, DEFAULT_SAMPLER, FIRST_RUNG_PARTS, PRUNERS, SAMPLERS
from bakeoff.search.errors import UserError
from bakeoff.search.train.backend import BACKENDS
from bakeoff.spaces import FAMILIES

DEFAULT_STUDY = "bakeoff"


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (argparse would print the usage block too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _workers(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _duration(text: str) -> float:
    from bakeoff.search.durations import parse_duration

    try:
        return parse_duration(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 0.9:
        raise argparse.ArgumentTypeError(f"{text!r} must be a fraction between 0 and 0.9, e.g. 0.1")
    return value


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that checks ``text`` with ``parse`` and keeps the text (a worker's command line repeats it)."""
    def check(text: str) -> str:
        try:
            parse(text)
        except (UserError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


def _objective(text: str) -> str:
    from bakeoff.search.engine.objectives import parse_objective

    return _checked(parse_objective)(text)


def _limit(kind: str) -> Callable[[str], str]:
    from bakeoff.search.engine import objectives

    return _checked(objectives.parse_latency if kind == "latency" else objectives.parse_size)


def _study_name(text: str) -> str:
    if not text.strip() or len(text) > 200 or any(ord(c) < 32 for c in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable study name (1-200 printable characters)")
    return text


def _add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", metavar="NAME", type=_study_name, default=DEFAULT_STUDY, help="study name; families are stored as NAME-ann and NAME-cnn (default: %(default)s)")
    parser.add_argument("--out", metavar="DIR", type=Path, help="run directory for the database, models and report (default: runs/STUDY)")
    parser.add_argument("--storage", metavar="URL", help="sqlite:///FILE.db, postgresql://USER:PASS@HOST/DB or a journal .log file (default: sqlite:///OUT/study.db)")


def _add_backend(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--backend", choices=BACKENDS, help=f"Keras backend that trains (default: {default})")


def _add_search(parser: argparse.ArgumentParser) -> None:
    _add_backend(parser, "$KERAS_BACKEND if set, else the first installed of tensorflow, jax, torch; a study keeps the backend it began with")
    parser.add_argument("--family", choices=("ann", "cnn", "both"), default="both", help="which families to search (default: both, with equal budgets)")
    parser.add_argument("--trials", metavar="N", type=_positive_int, help="finished trials per family, in total over all runs of this study")
    parser.add_argument("--timeout", metavar="DURATION", type=_duration, help=f"total trial time for the whole search, split equally between families: 90s, 45m, 8h (default without --trials: {DEFAULT_TIMEOUT})")
    parser.add_argument("--epochs", metavar="N", type=_positive_int, help="with the ladder (the default pruner): the first rung's epochs (default: 1), each next rung twice as long; with any other --pruner, epochs per trial, which the learning-rate schedule spans and the pruner may cut short (default: 15); a resumed study keeps the one it began with")
    parser.add_argument("--data", metavar="DATA", help="mnist, fashion_mnist, digits, a Keras-layout .npz, a folder of IDX files, a folder with a sub-folder of images per class (optionally under train/ and test/), or a CSV file of a label column and pixel columns (default: $BAKEOFF_DATA, else mnist)")
    parser.add_argument("--subset", metavar="N", type=_positive_int, help="use a stratified subset of N training images (quick runs)")
    parser.add_argument("--image-size", metavar="HxW", type=_image_size, help="class folders and CSV files: the size every image is converted to (default: the most common size in a folder; square for a CSV)")
    parser.add_argument("--channels", type=int, choices=(1, 3), help="class folders and CSV files: 1 (grayscale) or 3 (RGB) (default: grayscale when every image is; 1 for a CSV)")
    parser.add_argument("--val-fraction", metavar="F", type=_fraction, default=VAL_FRACTION, help="share of training images held out for validation (default: %(default)s)")
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the split, the sampler and the trials (default: %(default)s)")
    parser.add_argument("--space", metavar="FILE", type=Path, help="TOML file of per-family overrides, e.g. [cnn] conv_blocks = {high = 3}")
    parser.add_argument("--engine", choices=("optuna", "kerastuner"), default="optuna", help="optuna: Optuna's sampler and pruner below (default); kerastuner: KerasTuner's Hyperband over the same spaces and starts, needs --timeout and the tensorflow backend")
    parser.add_argument("--sampler", choices=SAMPLERS, help=f"optuna engine: how the next configuration is chosen; tpe (multivariate), random, or gp (needs PyTorch) (default: {DEFAULT_SAMPLER})")
    parser.add_argument("--pruner", choices=PRUNERS, help=f"optuna engine: how a poor trial is stopped early (default: {DEFAULT_PRUNER}, for every --objective; a resumed study keeps the one it began with). ladder: successive halving over rungs of epochs, each configuration scored after a learning-rate decay and continued from its checkpoint when it stays in the top half of its rung (the two starts follow the deepest rung a sampled configuration reached), so the deepest rung grows with the budget (each segment of training counts as one of --trials; a new sampled configuration whose first rung would take over 1/{FIRST_RUNG_PARTS} of the --timeout budget is stopped within seconds; with an --objective with a cost, each rung is ranked by Pareto rank instead of accuracy); median, percentile, halving, hyperband, wilcoxon: Optuna's pruners, judging each epoch from the second on; front: behind cheaper trials at the same epoch, for an --objective with a cost; none: no stopping")
    parser.add_argument("--objective", metavar="WHAT", type=_objective, default="accuracy", help="accuracy: validation accuracy alone (default); accuracy,latency or accuracy,size: a multi-objective search for accuracy and the cost of shipping the model, measured on every trial before it trains (latency per image of the LiteRT float32 file at batch 1 on one thread, or the size of the LiteRT int8 file; needs pip install \"bakeoff[export]\"); the report draws both families' fronts. A study keeps the objective it began with")
    parser.add_argument("--warm-start", metavar="STUDY", help="optuna engine: copy an earlier study's finished trials (same storage, data, split and space) into a new study as knowledge for the sampler; they are not charged to this study's budget")
    parser.add_argument("--starts", action=argparse.BooleanOptionalAction, default=True, help="begin a new study with two queued trials, the seed notebook's model and a proven recipe; --no-starts searches from scratch, as a benchmark of search strategies does (default: yes)")
    parser.add_argument("--workers", metavar="N", type=_workers, default="auto", help="worker processes on this machine sharing the study and the CPU cores; auto: one per GPU (each pinned to its GPU), one on a machine without GPUs; more workers than GPUs share them; --timeout then counts trial time of all workers, so the wall time stays about the same (default: %(default)s)")


_STUDY_BACKEND = "the backend the study was searched with"


def _add_retrain(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", metavar="K", type=_positive_int, default=3, help="retraining seeds per family (default: %(default)s)")
    parser.add_argument("--max-latency", metavar="TIME", type=_limit("latency"), help="retrain and export, per family, the most accurate trial whose LiteRT float32 latency per image (batch 1, one thread) is at most TIME, e.g. 0.1ms or 250us; needs a search with --objective accuracy,latency")
    parser.add_argument("--max-size", metavar="SIZE", type=_limit("size"), help="retrain and export, per family, the most accurate trial whose LiteRT int8 file is at most SIZE, e.g. 1MB or 300kB; needs a search with --objective accuracy,size")


def _add_analyses(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--analyses", choices=("none", "quick", "full"), default="quick", help="analyses for the report's Why section; quick: robustness of the retrained models to shifts, rotations, noise and occlusion (no retraining); full: also data efficiency (1, 5, 20 %% of the images) and the shuffled-pixel control, about 2.5 more retrainings per family; calibration and disagreements always come from the stored predictions (default: %(default)s)")


def _add_export_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", action=argparse.BooleanOptionalAction, default=True, help="export and verify each family's retrained model, as 'bakeoff export' (default: yes)")


def _add_study_data(parser: argparse.ArgumentParser) -> None:
    _add_backend(parser, _STUDY_BACKEND)
    parser.add_argument("--data", metavar="DATA", help="data to use (default: the data the study was searched on)")


def _add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", type=Path, required=True, help="an exported model: OUT/export/FAMILY/model.keras, model_float32.tflite, model_int8.tflite, model.onnx or saved_model")
    parser.add_argument("images", metavar="IMAGE", type=Path, nargs="+", help="PNG or JPEG files, or .npz files holding an array x of raw images")


def _add_report_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", metavar="FILE", type=Path, help="where to write the report (default: OUT/report.html)")


def _add_spaces_show(parser: argparse.ArgumentParser) -> None:
    spaces_commands = parser.add_subparsers(dest="spaces_command", metavar="show", parser_class=_Parser, required=True)
    show = spaces_commands.add_parser("show", help="print a family's space")
    show.add_argument("family", choices=FAMILIES)
    show.add_argument("--space", metavar="FILE", type=Path, help="TOML file of overrides to apply first")
    show.add_argument("--json", action="store_true", help="print the space as JSON")


@dataclass(frozen=True)
class Command:
    """One ``bakeoff`` command: its one-line help, its options in order, and what runs it (a function of
    ``bakeoff.search.app.commands``, imported only once the arguments are checked)."""

    help: str
    options: tuple[Callable[[argparse.ArgumentParser], None], ...]
    description: str | None = None
    handler: str | None = None  # default: the function named like the command


#: The one table of commands: the parser is built from it and ``main`` dispatches through it.
COMMANDS: dict[str, Command] = {
    "run": Command("search, retrain, analyse and report in one go (resumes every stage)",
                   (_add_search, _add_retrain, _add_analyses, _add_export_flag, _add_run_dir),
                   "Search both families, retrain the best of each on train+validation with several seeds, evaluate them on the test split, analyse the retrained models, and write report.html. Re-running resumes."),
    "search": Command("run or resume the hyper-parameter search", (_add_search, _add_run_dir),
                      "Run or resume the Optuna search. Budgets are totals: re-running continues to them."),
    "retrain": Command("retrain each family's best trial and evaluate it on the test split", (_add_retrain, _add_study_data, _add_run_dir)),
    "analyse": Command("analyse the retrained models for the report's Why section", (_add_analyses, _add_study_data, _add_run_dir),
                       "Score every retrained model under shifts, rotations, Gaussian noise and occlusion of its test images; with --analyses full, also retrain each family's best configuration on 1, 5 and 20 %% of the images and on pixel-shuffled images. Re-runs skip what is done."),
    "export": Command("export each family's retrained model (Keras, SavedModel, LiteRT float32 and int8, ONNX) and verify each file", (_add_study_data, _add_run_dir),
                      "Export the first retraining seed of each family to OUT/export/FAMILY/ as model.keras, a SavedModel, LiteRT float32 and int8, and ONNX; run every file in its own runtime on the test split and write exports.json and a model card. LiteRT and ONNX need: pip install \"bakeoff[export]\"."),
    "predict": Command("classify PNG/JPEG images or an .npz with an exported model", (_add_predict,),
                       "Print the class and its probability for each image, scaled as the model's card (written by 'bakeoff export') says."),
    "report": Command("render report.html from the study and retrained models (no TensorFlow)", (_add_report_output, _add_run_dir)),
    "status": Command("per family: trials by state, time spent and the budget left, the best trial (where it came from) and its parameters", (_add_run_dir,)),
    "spaces": Command("show the search spaces", (_add_spaces_show,), handler="spaces_show"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bakeoff",
        description="Search ANN and CNN image classifiers with Optuna, retrain the best of each, and compare them in one HTML report.",
        epilog="examples:\n  bakeoff run --data ~/mnist.npz --timeout 8h --out runs/night\n  bakeoff status --out runs/night\n"
        "  bakeoff report --out runs/night\n\nexit codes: 0 done, 2 input mistake (nothing changed), 130/143 stopped by a signal "
        "(re-run to resume), 1 bug",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bakeoff {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, command in COMMANDS.items():
        _add_options(subparsers.add_parser(name, help=command.help, description=command.description or command.help[:1].upper() + command.help[1:] + "."), name)
    return parser


def _add_options(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for add in COMMANDS[name].options:
        add(parser)
    return parser


def command_options(name: str) -> list[str]:
    """The destinations of every option of ``bakeoff NAME``."""
    return [a.dest for a in _add_options(_Parser(prog=f"bakeoff {name}"), name)._actions if not isinstance(a, argparse._HelpAction)]


def _image_size(text: str) -> str:
    from bakeoff.search.data.images import parse_size

    return _checked(parse_size)(text)


def to_argv(name: str, args: argparse.Namespace) -> list[str]:
    """``args`` written back as the command line of ``bakeoff NAME``, from the same option declarations the parser
    is built from: a worker started with it parses to the same values, and a new option cannot be forgotten."""
    argv = [name]
    for action in _add_options(_Parser(prog=f"bakeoff {name}"), name)._actions:
        value = getattr(args, action.dest, None)
        if isinstance(action, argparse._HelpAction) or value is None:
            continue
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(action.option_strings[0] if value else action.option_strings[1])
        elif isinstance(action, argparse._StoreTrueAction):
            argv += [action.option_strings[0]] if value else []
        else:
            values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
            argv += ([action.option_strings[0]] if action.option_strings else []) + values
    return argv


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("bakeoff")
    except metadata.PackageNotFoundError:
        return "unknown"
