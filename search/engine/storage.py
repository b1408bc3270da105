"""Open study storage from what the user typed, and recover trials that dead workers left RUNNING.

Accepted: ``sqlite:///path.db`` (or a plain ``*.db`` path), ``postgresql://…`` (psycopg 3), and Optuna's
journal file (``journal:///path.log`` or a plain ``*.log`` path), its recommended store for many processes
on one machine. URLs are checked before anything is created, so a typo never leaves a stray database.
"""

from __future__ import annotations

import os
import random
import socket
import time
import warnings
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import optuna
from optuna.trial import FrozenTrial, TrialState

from bakeoff.search.engine import record
from bakeoff.search.engine.outage import CALLS, patiently, troubled_within
from bakeoff.search.errors import UserError, first_line

HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 40
MAX_RETRY = 3
SCHEMA_RACE_RETRIES = 8


def normalise_url(storage: str) -> str:
    """A canonical storage URL; plain file paths become sqlite or journal URLs."""
    text = storage.strip()
    if "://" not in text:
        path = Path(text).expanduser().resolve()
        if path.suffix in (".log", ".journal", ".jsonl"):
            return f"journal:///{path}"
        if path.suffix in (".db", ".sqlite", ".sqlite3"):
            return f"sqlite:///{path}"
        raise UserError(
            f"storage {storage!r} is not a URL; use sqlite:///PATH.db, postgresql://USER@HOST/DB or a journal .log path"
        )
    scheme = urlsplit(text).scheme
    if scheme == "postgresql":
        return "postgresql+psycopg" + text[len("postgresql") :]
    if scheme in ("sqlite", "journal") or scheme.startswith("postgresql+"):
        return text
    raise UserError(f"storage scheme {scheme!r} is not supported; use sqlite:///, postgresql:// or journal:///")


def file_of(url: str) -> Path | None:
    """The local file behind a sqlite or journal URL."""
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///") :]
        return None if rest in ("", ":memory:") else Path(rest)
    if url.startswith("journal:///"):
        return Path(url[len("journal:///") :])
    return None


def open_storage(url: str, *, create: bool) -> optuna.storages.BaseStorage:
    """Storage with heartbeats where Optuna supports them; ``create=False`` refuses to make a new file."""
    path = file_of(url)
    if path is not None:
        if not create and not path.exists():
            raise UserError(f"no study storage at {path}; run 'bakeoff search' first or pass --storage")
        if create:
            check_writable_dir(path.parent)
    if url.startswith("journal:///"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("postgresql"):
        _require_psycopg()
    engine_kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 10},
    }
    for attempt in range(SCHEMA_RACE_RETRIES + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                kind = _SQLiteStorage if path is not None else PatientStorage
                return kind(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_SECONDS,
                    grace_period=GRACE_SECONDS,
                    heartbeat_stale_trial_callback=requeue,
                )
        except Exception as exc:  # sqlalchemy errors: unreachable host, bad credentials, not a database
            # Workers starting together on an empty database race to create Optuna's tables (SQLAlchemy's
            # create_all checks, then creates); the loser sees a unique violation or "relation ... already
            # exists" (PostgreSQL) or "table ... already exists" (SQLite) and need only look again once the winner
            # has finished.
            if _lost_schema_race(exc) and attempt < SCHEMA_RACE_RETRIES:
                time.sleep(0.5 + random.random())
                continue
            raise UserError(f"cannot open storage {redact(url)}: {first_line(exc)}") from None
    raise AssertionError("unreachable")


def _lost_schema_race(exc: Exception) -> bool:
    return "IntegrityError" in type(exc).__name__ or "already exists" in str(exc)


class PatientStorage(optuna.storages.RDBStorage):
    """Optuna's RDBStorage riding out an outage (``outage.py``): each call retried while the database is away,
    and no trial failed as stale until the heartbeats missed in an outage had time to be written again."""

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        if troubled_within(self.grace_period or 2 * self.heartbeat_interval):
            return []
        stale = super()._get_stale_trial_ids
        return patiently(lambda: stale(study_id), "_get_stale_trial_ids", self, redact(self.url))


def _patient_method(name: str):
    def method(self, *args, **kwargs):
        call = getattr(super(PatientStorage, self), name)
        return patiently(lambda: call(*args, **kwargs), name, self, redact(self.url), args, kwargs)

    method.__name__, method.__doc__ = name, getattr(optuna.storages.RDBStorage, name).__doc__
    return method


for _name in CALLS:
    if _name not in vars(PatientStorage):
        setattr(PatientStorage, _name, _patient_method(_name))


class _SQLiteStorage(PatientStorage):
    """SQLite ignores ``SELECT ... FOR UPDATE``, so two workers could both move one queued trial to RUNNING and
    train it twice (the second then fails with "Cannot tell a COMPLETE trial"). That one step takes a file lock
    beside the database, one process at a time; PostgreSQL locks the row itself."""

    def set_trial_state_values(self, trial_id: int, state: TrialState, values=None) -> bool:
        if state != TrialState.RUNNING:
            return super().set_trial_state_values(trial_id, state, values)
        import fcntl

        url = self.url
        with open(f"{url[len('sqlite:///'):]}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return super().set_trial_state_values(trial_id, state, values)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise UserError('PostgreSQL storage needs a driver: pip install "bakeoff[postgres]"') from None


def check_writable_dir(directory: Path) -> None:
    probe = directory
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {directory}: choose another --out or --storage")


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def worker_id() -> str:
    """Host, process and the process's start time: unique even when process ids are reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _is_dead_local_worker(worker: str) -> bool:
    host, _, rest = worker.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or ticks == "?":
        return False
    return _start_ticks(int(pid_text)) != ticks


def recover_dead_trials(study: optuna.Study) -> int:
    """Fail and re-queue RUNNING trials whose worker on this host has died; count them.

    Heartbeats catch dead workers on any machine, but only after the grace period; a worker on the same
    host can be checked at once, so a resumed search never waits behind its own killed predecessor.
    """
    recovered = 0
    now = datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(record.WORKER)
        # A live worker records itself within milliseconds of starting a trial; an owner-less trial
        # this old was killed in that window, before its first heartbeat too.
        orphan = owner is None and trial.datetime_start and (now - trial.datetime_start).total_seconds() > GRACE_SECONDS
        if (owner and _is_dead_local_worker(owner)) or orphan:
            recovered += fail_and_requeue(study, trial, "interrupted: its worker process died")
    return recovered


def fail_and_requeue(study: optuna.Study, trial: FrozenTrial, reason: str) -> int:
    """Mark a RUNNING trial interrupted with ``reason``, charged up to its last sign of life, and queue its
    parameters again; 1 if this call did it."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, record.SECONDS, round(record.seconds_alive(trial), 3))
        storage.set_trial_user_attr(trial._trial_id, record.OUTCOME, record.Outcome.INTERRUPTED.value)
        storage.set_trial_user_attr(trial._trial_id, record.REASON, reason)
        if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
            return 0
    except optuna.exceptions.UpdateFinishedTrialError:
        return 0
    requeue(study, storage.get_trial(trial._trial_id))
    return 1


def requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue a failed trial's parameters again, at most ``MAX_RETRY`` times.

    Like Optuna's ``RetryHeartbeatStaleTrialCallback`` (same ``failed_trial``/``retry_history`` system
    attributes, so its helpers read them), but the copy starts clean: it must not inherit the dead worker's
    id or the failure reason, or it would look dead, or failed, once it runs.
    """
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if len(history) > MAX_RETRY:
        return
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=_carried(trial.user_attrs),
            system_attrs={"failed_trial": trial.system_attrs.get("failed_trial", trial.number), "retry_history": history},
        )
    )


def _carried(attrs: dict) -> dict:
    """What a re-queued copy keeps: its start label, its measured cost (on the ladder it is not measured again), and
    on the ladder its configuration, the last checkpoint it saved (where the copy goes on from) and the rung scores
    up to it."""
    kept = {k: v for k, v in attrs.items() if k in (record.START, record.LADDER_KEY, record.COST)}
    if record.LADDER_KEY in attrs:
        begin = int(attrs.get(record.CHECKPOINT_EPOCHS) or attrs.get(record.FROM_EPOCHS) or 0)
        kept[record.FROM_EPOCHS] = begin
        kept[record.RUNG_SCORES] = {e: s for e, s in (attrs.get(record.RUNG_SCORES) or {}).items() if int(e) <= begin}
    return kept


def fail_stale(study: optuna.Study) -> None:
    """Optuna's heartbeat check, for storages that support it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
