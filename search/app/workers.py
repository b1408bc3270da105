"""Trials run in worker processes: each a full ``bakeoff search`` sharing the storage, under a parent without
TensorFlow.

The parent creates the studies first (so workers never race to create them or to enqueue the starting trials),
then starts the workers with the same command line and the CPU cores split between them, forwards SIGINT
and SIGTERM, replaces a worker that recycled itself (its memory grew past ``RECYCLE_MB``), and exits with
the worst worker's code. On a GPU machine each worker is pinned to a GPU (``devices``). With ``--workers 1`` there is one worker, for the same memory bound overnight. Workers on other machines are started by hand with
the same command and ``--storage postgresql://…``: they need no parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from bakeoff.search.app.devices import device_env
from bakeoff.search.durations import format_duration
from bakeoff.search.engine.runner import RECYCLE, Process
from bakeoff.search.environment import Number
from bakeoff.search.signals import on_signals

WORKER_ENV = "BAKEOFF_WORKER_INDEX"
WORKERS_ENV = "BAKEOFF_WORKERS"
#: When the parent began (unix time), so a worker that follows recycled ones counts the search's time, not its own.
STARTED_ENV = "BAKEOFF_SEARCH_STARTED"
#: TensorFlow keeps a few MB of every trained model's functions for the life of the process (clear_session
#: does not return them), so a worker hands over to a fresh process once it has grown this much.
RECYCLE_MB = Number("BAKEOFF_RECYCLE_MB", 1024, least=1, whole=False)
POLL_SECONDS = 0.2


def this_process() -> Process:
    """This process as the search engine needs to know it: a worker's label and memory limit, or a lone search."""
    if not is_worker():
        return Process()
    started = os.environ.get(STARTED_ENV)
    return Process(label=worker_label(), recycle_mb=RECYCLE_MB.value(), started=float(started) if started else None)


def is_worker() -> bool:
    return WORKER_ENV in os.environ


def worker_label() -> str:
    """``w1 `` in a worker of several, so interleaved progress lines say whose they are; else empty."""
    if int(os.environ.get(WORKERS_ENV, "1")) > 1:
        return f"w{os.environ[WORKER_ENV]} "
    return ""


def my_share() -> tuple[int, int]:
    """(index, count) of this worker among its siblings; (0, 1) outside a worker."""
    return (int(os.environ[WORKER_ENV]), int(os.environ.get(WORKERS_ENV, "1"))) if is_worker() else (0, 1)


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def worker_command(job: Path) -> list[str]:
    """The Python arguments of a search worker on ``job`` (``app/worker.py``)."""
    return ["-m", "bakeoff.search.app.worker", str(Path(job).resolve())]


def run_workers(command: Sequence[str], workers: int, gpus: Sequence[str] = (), what: str = "search") -> int:
    """Run ``workers`` worker processes of ``python COMMAND`` to the end, starting a fresh one whenever a worker
    recycles itself; with GPUs, each worker is pinned to one (``devices.device_env``)."""
    started = time.time()
    children = [_start(command, index, workers, gpus, started) for index in range(workers)]
    codes: list[int | None] = [None] * workers
    received: list[int] = []

    def forward(signum: int, _frame) -> None:
        received.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    with on_signals(forward):
        while any(code is None for code in codes):
            for index, child in enumerate(children):
                if codes[index] is not None or child.poll() is None:
                    continue
                if child.returncode == RECYCLE and not received:
                    children[index] = _start(command, index, workers, gpus, started)
                else:
                    codes[index] = _exit_code(child.returncode)
            time.sleep(POLL_SECONDS)
    if received:
        return 128 + received[0]
    code = max(c for c in codes if c is not None)
    if code == 0:
        print(f"{what} finished in {format_duration(time.time() - started)}", flush=True)
    return code


def worker_env(index: int, workers: int, gpus: Sequence[str] = ()) -> dict[str, str]:
    """What worker ``index`` gets on top of the parent's environment: its index, its GPU and memory settings,
    and its share of the CPU cores when there are several workers."""
    env = {WORKER_ENV: str(index), WORKERS_ENV: str(workers), **device_env(index, workers, list(gpus))}
    if workers > 1:  # share the cores instead of every worker claiming all of them
        threads = str(threads_per_worker(workers))
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS=threads)
    return env


def _start(command: Sequence[str], index: int, workers: int, gpus: Sequence[str], started: float) -> subprocess.Popen:
    env = {**os.environ, **worker_env(index, workers, gpus), STARTED_ENV: str(started)}
    return subprocess.Popen([sys.executable, *command], env=env, preexec_fn=_stop_with_parent)


def _stop_with_parent() -> None:
    """In the child: ask Linux for SIGTERM when the parent dies, so a killed parent leaves no orphan
    worker training on (SIGTERM lets the worker record its trial as interrupted)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _exit_code(returncode: int) -> int:
    """A child killed by signal N reports -N; a shell would say 128 + N."""
    return 128 - returncode if returncode < 0 else returncode
