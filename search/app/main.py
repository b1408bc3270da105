"""``bakeoff``'s entry point: parse (``cli``), then dispatch to the command (``commands``), turning user errors and
signals into one line and an exit code. ``commands`` is imported only once the arguments are checked, so
``bakeoff --help`` and a mistyped option start fast and load no training backend."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Callable, Sequence

from bakeoff.search.app.cli import COMMANDS, build_parser
from bakeoff.search.errors import FAULT_EXIT, Fault, UserError, disk_full
from bakeoff.search.manifest import command_line
from bakeoff.search.signals import Stopped, on_signals, raise_stopped
from bakeoff.spaces import SpaceError


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.filterwarnings("ignore", message=r".* is experimental")

    def parsed_and_dispatched() -> int:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        args.command_line = command_line(argv)
        return _dispatch(args)

    return guarded(parsed_and_dispatched)


def guarded(work: Callable[[], int]) -> int:
    """Run ``work`` with signals raising ``Stopped``: a user's mistake ends in one line and exit code 2, a fault
    outside (the storage gone for good, a full disk) in one line and 3, a signal in one line and 128 + its
    number; a bug keeps its traceback."""
    try:
        with on_signals(raise_stopped):
            return work()
    except (UserError, SpaceError) as exc:
        print(f"bakeoff: error: {exc}", file=sys.stderr)
        return 2
    except Fault as fault:
        print(f"bakeoff: error: {fault}", file=sys.stderr)
        return FAULT_EXIT
    except OSError as exc:
        if (fault := disk_full(exc)) is None:
            raise
        print(f"bakeoff: error: {fault}", file=sys.stderr)
        return FAULT_EXIT
    except Stopped as stop:
        print(f"bakeoff: stopped by {stop}; everything finished is kept; re-run the same command to resume", file=sys.stderr)
        return 128 + stop.signum


def _dispatch(args: argparse.Namespace) -> int:
    import optuna

    from bakeoff.search.app import commands

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # progress and failures are bakeoff's own lines
    return getattr(commands, COMMANDS[args.command].handler or args.command)(args)


def entry() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
