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


class Server:
    """A throw-away server this process started: its URL, and stop/start/restart for the fault tests."""

    def __init__(self, binaries: Path, root: Path, port: int, as_user: list[str]) -> None:
        self.binaries, self.root, self.port, self.as_user = binaries, root, port, as_user
        self.data = root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/bakeoff_test"

    def run(self, tool: str, *argv: str) -> None:
        subprocess.run([*self.as_user, str(self.binaries / tool), *argv], check=True, capture_output=True)

    def pg_ctl(self, *argv: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                 "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", *argv)

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self) -> None:
        """As an update or a failover does: connections are cut, running transactions roll back."""
        self.pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self.pg_ctl("-m", "fast", "restart")


@contextmanager
def local_server() -> Iterator[Server | None]:
    """A fresh server on 127.0.0.1 from the machine's PostgreSQL binaries, or None when there are none."""
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="bakeoff-pg-"))
    # PostgreSQL refuses to run as root: as root, run it as the postgres user the package creates.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    server = Server(binaries, root, _free_port(), as_user)
    server.run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres")
    server.start()
    try:
        server.run("createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "bakeoff_test")
        yield server
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """The server's URL, or None when there is neither a URL nor PostgreSQL on this machine."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    with local_server() as server:
        yield None if server is None else server.url
