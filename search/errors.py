"""Errors users cause (paths, URLs, budgets, data): the CLI prints one line and exits with code 2. Faults of the
world outside (the storage gone for good, a full disk): one line and exit code 3."""

from __future__ import annotations

import errno

#: The exit code of a fault outside bakeoff: fix it (start the database, free space) and re-run to resume.
FAULT_EXIT = 3


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


class Fault(BaseException):
    """The storage stayed unreachable, or a disk is full: every next trial would fail the same way, so the command
    stops. A ``BaseException`` so that no trial's ``except Exception`` records it as that trial's own failure;
    what was committed before it is kept, and the same command run again resumes."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type), short enough for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def disk_full(exc: BaseException, path: object = None) -> Fault | None:
    """A ``Fault`` naming the path when ``exc`` (or what caused it) says the disk is full; else None."""
    for seen in causes(exc):  # Keras and SQLAlchemy wrap the OSError they met
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return no_space(path or seen.filename)
        if "database or disk is full" in str(seen) or "No space left on device" in str(seen):  # SQLite, TensorFlow
            return no_space(path)
    return None


def fault_in(exc: BaseException) -> Fault | None:
    """The ``Fault`` that ``exc`` was raised while handling, if any."""
    return next((seen for seen in causes(exc) if isinstance(seen, Fault)), None)


def causes(exc: BaseException, limit: int = 8):
    """``exc`` and what it was raised from or while handling, nearest first."""
    seen: BaseException | None = exc
    for _ in range(limit):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def no_space(path: object = None) -> Fault:
    where = f" while writing {path}" if path else ""
    return Fault(f"no space left on the device{where}: free some space and re-run the same command (everything finished is kept)")
