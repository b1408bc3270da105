"""Open study storage from what the user typed, and recover trials that dead workers left RUNNING.

Accepted: ``sqlite:///path.db`` (or a plain ``*.db`` path), ``postgresql://…`` (psycopg 3), and Optuna's
journal file (``journal:///path.log`` or a plain ``*.log`` path), its recommended store for many processes
on one machine. URLs are checked before anything is created, so a typo never leaves a stray database.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import optuna
from optuna.trial import TrialState

from bakeoff.search.errors import UserError

HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 40
MAX_RETRY = 3
WORKER_ATTR = "worker"


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRY),
            )
    except Exception as exc:  # sqlalchemy errors: unreachable host, bad credentials, not a database
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot open storage {redact(url)}: {first[:200]}") from None


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
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRY)
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(WORKER_ATTR) or trial.system_attrs.get(WORKER_ATTR)
        if not owner or not _is_dead_local_worker(owner):
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(trial._trial_id, "reason", "interrupted: its worker process died")
            if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        retry(study, storage.get_trial(trial._trial_id))
        recovered += 1
    return recovered


def fail_stale(study: optuna.Study) -> None:
    """Optuna's heartbeat check, for storages that support it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
