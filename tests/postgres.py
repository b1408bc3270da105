"""A PostgreSQL server for the distributed tests: the one named by ``BAKEOFF_TEST_POSTGRES_URL``, or a throw-away
server on 127.0.0.1 started from the machine's PostgreSQL binaries (Debian's ``postgresql`` package)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

URL_ENV = "BAKEOFF_TEST_POSTGRES_URL"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """The server's URL, or None when there is neither a URL nor PostgreSQL on this machine."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="bakeoff-pg-"))
    # PostgreSQL refuses to run as root: as root, run it as the postgres user the package creates.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    port = _free_port()
    data = root / "data"
    run = lambda *argv: subprocess.run([*as_user, *argv], check=True, capture_output=True)  # noqa: E731
    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bakeoff_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/bakeoff_test"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
