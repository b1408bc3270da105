"""``--workers N``: N processes on one study, each a full ``bakeoff search`` sharing the storage.

The parent creates the studies first (so workers never race to create them or to enqueue the baseline),
then starts the workers with the same command line and the CPU cores split between them, forwards SIGINT
and SIGTERM, and exits with the worst worker's code. Workers on other machines are started by hand with
the same command and ``--storage postgresql://…``: they need no parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Sequence

WORKER_ENV = "BAKEOFF_WORKER_INDEX"


def is_worker() -> bool:
    return WORKER_ENV in os.environ


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def run_workers(argv: Sequence[str], workers: int) -> int:
    threads = str(threads_per_worker(workers))
    children = []
    for index in range(workers):
        env = {
            **os.environ,
            WORKER_ENV: str(index),
            "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": threads,
        }
        children.append(subprocess.Popen([sys.executable, "-m", "bakeoff.search", *argv], env=env))
    received: list[int] = []

    def forward(signum: int, _frame) -> None:
        received.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    saved = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [_exit_code(child.wait()) for child in children]
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    if received:
        return 128 + received[0]
    return max(codes)


def _exit_code(returncode: int) -> int:
    """A child killed by signal N reports -N; a shell would say 128 + N."""
    return 128 - returncode if returncode < 0 else returncode
