"""Ride out a storage outage: a database restarted, failed over or unreachable for a while.

Every call to the study storage that fails because the connection did (SQLAlchemy's ``OperationalError`` or
``InterfaceError``, or an invalidated connection, also when Optuna wraps it in ``StorageInternalError``) is
tried again with bounded back-off (1, 2, 4, 8, then every ``MAX_STEP_SECONDS``) for up to ``PATIENCE``
(``BAKEOFF_STORAGE_PATIENCE``, default 10 minutes); one line says the storage is away and one that it is back.
Past the limit the command stops with a ``Fault`` (one line, exit 3) and a re-run resumes: the trial it was
running is still RUNNING in the storage and is recovered like any interrupted one.

Three things make retrying safe for Optuna's write pattern:

- Waiting is not charged: ``charged()`` is a clock that stands still while this process waits for the storage,
  and trials time themselves by it, so the budget pays for training only.
- A retried "finish this trial" whose first attempt did commit (the reply was lost) finds the trial already in
  the state asked for: that is success, not an error, so a finished trial is never lost nor told twice.
- Heartbeats could not be written during the outage, so every live trial looks stale right after it: this
  process fails no trial as stale until ``GRACE_SECONDS`` after its own last storage trouble, time enough for
  every worker's heartbeat thread to write again.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from typing import Any, Callable

import optuna
from optuna.storages import BaseStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState

from bakeoff.search.durations import format_duration
from bakeoff.search.environment import Number
from bakeoff.search.errors import Fault, disk_full, first_line

PATIENCE = Number("BAKEOFF_STORAGE_PATIENCE", 600, least=0, whole=False)
MAX_STEP_SECONDS = 15.0
_monotonic, _sleep = time.monotonic, time.sleep  # the tests wait in virtual time


class _Waits:
    """Process-wide: seconds spent waiting for the storage, when the last trouble ended, whether we gave up."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waited = 0.0
        self.trouble_at = float("-inf")
        self.away_since: float | None = None
        self.gave_up: str | None = None


WAITS = _Waits()
_depth = threading.local()


def charged() -> float:
    """A clock (seconds) that stands still while this process waits for the storage: what trials are charged by."""
    return time.perf_counter() - WAITS.waited


def troubled_within(seconds: float) -> bool:
    """Whether this process met a storage outage in the last ``seconds``."""
    return _monotonic() - WAITS.trouble_at < seconds


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection to the storage failed (try again), not the request itself."""
    import sqlalchemy.exc as sa

    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, sa.PendingRollbackError):  # the session of a query the outage cut: rolled back, a retry runs
            return True
        if isinstance(seen, sa.DBAPIError) and (seen.connection_invalidated or isinstance(seen, (sa.OperationalError, sa.InterfaceError))):
            return disk_full(seen) is None and "no such table" not in str(seen)
        seen = seen.__cause__
    return False


def patiently(call: Callable[[], Any], name: str, storage: BaseStorage, label: str, args: tuple = (), kwargs: dict | None = None) -> Any:
    """``call()``, one of ``storage``'s methods, retried through an outage. Only the outermost call retries
    (Optuna's methods call each other); in a heartbeat thread, giving up is left to the main thread."""
    if getattr(_depth, "value", 0):
        return call()
    _depth.value = 1
    try:
        if WAITS.gave_up:
            raise Fault(WAITS.gave_up)
        return _retrying(call, name, storage, label, args, kwargs or {})
    except Fault:
        if name == "record_heartbeat":
            return None  # the main thread meets the same fault at its next call and stops the command
        raise
    finally:
        _depth.value = 0


def _retrying(call: Callable[[], Any], name: str, storage: BaseStorage, label: str, args: tuple, kwargs: dict) -> Any:
    began: float | None = None
    step = 1.0
    while True:
        if WAITS.gave_up:  # another thread of this process waited its patience out
            raise Fault(WAITS.gave_up)
        try:
            result = call()
        except optuna.exceptions.UpdateFinishedTrialError:
            if began is not None and name == "set_trial_state_values" and _already(storage, args, kwargs):
                result = True  # the attempt before the outage committed; only its reply was lost
            else:
                raise
        except Exception as exc:
            if (fault := disk_full(exc, label)) is not None:
                raise fault from None
            if not is_transient(exc):
                raise
            now = _monotonic()
            began = now if began is None else began
            _note_away(label, exc, now)
            if now - began >= PATIENCE.value():
                WAITS.gave_up = (f"storage {label} unreachable for {format_duration(now - began)} ({first_line(exc, 120)}): "
                                 "start it again, then re-run the same command to resume")
                raise Fault(WAITS.gave_up) from None
            pause = min(step, MAX_STEP_SECONDS) * (0.8 + 0.4 * random.random())
            _sleep(pause)
            if threading.current_thread() is threading.main_thread():  # the thread that trains: its wait is not charged
                with WAITS.lock:
                    WAITS.waited += pause
            step *= 2
            continue
        if began is not None:
            _note_back(label)
        return result


def _already(storage: BaseStorage, args: tuple, kwargs: dict) -> bool:
    """Whether the trial of a retried ``set_trial_state_values`` is already in the finished state it asked for."""
    trial_id = kwargs.get("trial_id", args[0] if args else None)
    state = kwargs.get("state", args[1] if len(args) > 1 else None)
    return state != TrialState.RUNNING and storage.get_trial(trial_id).state == state


def _note_away(label: str, exc: BaseException, now: float) -> None:
    with WAITS.lock:
        WAITS.trouble_at = now
        first = WAITS.away_since is None
        if first:
            WAITS.away_since = now
    if first:
        print(f"bakeoff: storage {label} unreachable ({first_line(exc, 120)}); waiting for it for up to "
              f"{format_duration(PATIENCE.value())}", file=sys.stderr, flush=True)


def _note_back(label: str) -> None:
    with WAITS.lock:
        since, WAITS.away_since = WAITS.away_since, None
        WAITS.trouble_at = _monotonic()
    if since is not None:
        print(f"bakeoff: storage {label} is back after {format_duration(_monotonic() - since)}; going on",
              file=sys.stderr, flush=True)


#: The storage interface Optuna calls (``storage.PatientStorage`` sends each through ``patiently``), and the
#: RDBStorage methods Optuna's cache in front of it calls directly.
CALLS = sorted(
    {name for base in (BaseStorage, BaseHeartbeat) for name, value in vars(base).items() if callable(value) and not name.startswith("_")}
    | {"_get_stale_trial_ids", "_create_new_trial", "_set_trial_param", "_get_best_trial_id", "_get_trials"}
)
