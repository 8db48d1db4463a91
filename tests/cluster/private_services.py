"""A PostgreSQL and a Redis server of the test's own, on free ports, that the fault
test may stop and start again: the machine's shared servers are never touched.

PostgreSQL is a fresh cluster made by ``initdb`` in a temporary folder, run by
``pg_ctl``; as root (which PostgreSQL refuses to run as) both run as the
``postgres`` user. Redis runs without persistence, so a restart loses its keys,
as a cache's restart would: the locks in it lapse and the socket.io subscribers
connect again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port

POSTGRES_BIN = Path(
    os.environ.get("TANDEM_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")
)
REDIS_SERVER = os.environ.get("TANDEM_TEST_REDIS_SERVER", "redis-server")
START_SECONDS = 30.0


def missing_programs() -> list[str]:
    """What the private servers need that this machine lacks, said plainly."""
    missing = []
    if not (POSTGRES_BIN / "initdb").exists():
        missing.append(
            f"PostgreSQL's server programs in {POSTGRES_BIN} (TANDEM_TEST_POSTGRES_BIN)"
        )
    if shutil.which(REDIS_SERVER) is None:
        missing.append(f"{REDIS_SERVER} (TANDEM_TEST_REDIS_SERVER)")
    return missing


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for(port: int, up: bool, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while accepts(port) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not {'start' if up else 'stop'}")
        time.sleep(0.1)


def _run_as() -> str | None:
    """PostgreSQL will not run as root."""
    return "postgres" if os.geteuid() == 0 else None


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        _wait_for(self.port, True, "Redis")

    def stop(self) -> None:
        """Gone at once, as a crash would take it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        _wait_for(self.port, False, "Redis")


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.user = _run_as()

    @property
    def url(self) -> str:
        """The server, as TANDEM_CLUSTER_POSTGRES_URL names it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(
            command,
            check=True,
            user=self.user,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )

    def create(self) -> None:
        if self.user is not None:
            shutil.chown(self.folder, self.user)
        self._run(
            str(POSTGRES_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.folder} -c fsync=off"
            " -c max_connections=200"
        )
        self._run(
            str(POSTGRES_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        _wait_for(self.port, True, "PostgreSQL")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session and shuts down cleanly, as a restart by
        the service manager does; ``immediate`` is a crash."""
        self._run(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"
        )
        _wait_for(self.port, False, "PostgreSQL")


@contextmanager
def private_services() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    """A PostgreSQL and a Redis server, running, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="tandem-faults-") as name:
        folder = Path(name)
        # The postgres user must reach its folder inside.
        folder.chmod(0o711)
        (folder / "postgres").mkdir()
        (folder / "redis").mkdir()
        postgres = PrivatePostgres(folder / "postgres")
        redis = PrivateRedis(folder / "redis")
        postgres.create()
        postgres.start()
        try:
            redis.start()
            try:
                yield postgres, redis
            finally:
                redis.stop()
        finally:
            if accepts(postgres.port):
                postgres.stop("immediate")
