"""SIGINT and SIGTERM: installed for a block of code, and ``Stopped``, which unwinds to the CLI outside a search
(the CLI prints one line and exits with 128 + the signal's number)."""

import signal
import threading


class Stopped(BaseException):
    """SIGINT or SIGTERM while retraining, analysing, exporting or reporting (the search turns them into a stop
    request of its own). A ``BaseException`` so that no ``except Exception`` on the way swallows it; what was
    finished is already on disk (each seed's metrics.json is written last, atomically), so a re-run resumes."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class on_signals:
    """While active, SIGINT and SIGTERM call ``handler(signum, frame)`` (only the main thread may set handlers:
    elsewhere this does nothing); the old handlers come back after."""

    def __init__(self, handler) -> None:
        self.handler, self.saved = handler, {}

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.saved = {sig: signal.signal(sig, self.handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def raise_stopped(signum: int, _frame) -> None:
    """A signal handler for :class:`on_signals`: unwind to the CLI."""
    raise Stopped(signum)
