"""The cluster as processes (scripts/run_cluster.py), on free ports, with databases
and Redis keys of its own that are dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.ports import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]
BOT_PYTHON = ROOT / ".venv" / "bot" / "bin" / "python"
STARTUP_SECONDS = 300
POSTGRES_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# scripts/run_cluster.py: processes from base + 1 to base + 29, HAProxy's loopback
# listeners from base + 30 to base + 33.
BASE_PORT_SPAN = 34


@dataclass(frozen=True)
class Cluster:
    public_url: str
    base_port: int
    name: str
    staff_password: str
    log_path: Path
    rasa_token: str
    # The cluster's own folder: its staff password, its processes' pid files.
    folder: Path
    process: subprocess.Popen[bytes]

    def url(self, name: str) -> str:
        kind, _, number = name.rpartition("-")
        offset = {"rasa": 0, "actions": 10, "handoff": 20}[kind]
        return f"http://127.0.0.1:{self.base_port + offset + int(number)}"

    def pid(self, name: str) -> int | None:
        """The running process's id, from the pid file the launcher keeps."""
        try:
            return int((self.folder / "pids" / f"{name}.pid").read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_path.read_text("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def wait_until_up(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if "Tandem cluster is up." in log_path.read_text("utf-8", errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    tail = log_path.read_text("utf-8", errors="replace")[-6000:]
    raise RuntimeError(f"the cluster did not come up:\n{tail}")


async def _drop_databases(postgres_url: str, names: list[str]) -> None:
    engine = create_async_engine(
        postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            for name in names:
                await connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
    finally:
        await engine.dispose()


# The service's environment has no Redis client; the bot's has.
DELETE_KEYS = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2]))
if keys:
    client.delete(*keys)
"""


def _delete_redis_keys(redis_url: str, prefix: str) -> None:
    subprocess.run(
        [str(BOT_PYTHON), "-c", DELETE_KEYS, redis_url, f"{prefix}:*"],
        check=True,
        timeout=60,
    )


def _kill_left_behind(pid_dir: Path) -> None:
    """The processes of a launcher that had to be killed, by their pid files."""
    for path in pid_dir.glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.killpg(int(path.read_text("utf-8")), signal.SIGKILL)


@contextmanager
def running_cluster(
    model: Path,
    folder: Path,
    *arguments: str,
    postgres_url: str = POSTGRES_URL,
    redis_url: str = REDIS_URL,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """scripts/run_cluster.py with ``arguments``, business hours forced open, on the
    PostgreSQL server of ``postgres_url`` (any database of it, asyncpg) and the Redis
    of ``redis_url``; ``settings`` are more of its environment."""
    name = f"tandem_cluster_test_{uuid.uuid4().hex[:10]}"
    base_port = free_port_block(BASE_PORT_SPAN)
    public_port = free_port()
    rasa_token = secrets.token_urlsafe(16)
    server = make_url(postgres_url).set(drivername="postgresql", database="postgres")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update(
        TANDEM_HOST="127.0.0.1",
        TANDEM_CLUSTER_NAME=name,
        TANDEM_CLUSTER_PORT=str(public_port),
        TANDEM_CLUSTER_BASE_PORT=str(base_port),
        TANDEM_CLUSTER_POSTGRES_URL=server.render_as_string(hide_password=False),
        TANDEM_REDIS_URL=redis_url,
        TANDEM_VAR_DIR=str(folder),
        TANDEM_RASA_TOKEN=rasa_token,
        TANDEM_SERVICE_SECRET=secrets.token_urlsafe(16),
        TANDEM_ACTIONS_TOKEN=secrets.token_urlsafe(16),
        TANDEM_CHAT_SESSION_SECRET=secrets.token_urlsafe(16),
        # Handoffs need agents whatever the time in Seoul.
        TANDEM_ALWAYS_OPEN="true",
    )
    env.update(settings or {})
    log_path = folder / "cluster.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "run_cluster.py"),
                "--env-file",
                str(folder / "no.env"),
                "--model",
                str(model),
                *arguments,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(process, log_path)
        password_file = folder / name / "staff_password"
        yield Cluster(
            public_url=f"http://127.0.0.1:{public_port}",
            base_port=base_port,
            name=name,
            staff_password=password_file.read_text("utf-8").strip(),
            log_path=log_path,
            rasa_token=rasa_token,
            folder=folder / name,
            process=process,
        )
    finally:
        # SIGTERM, as Ctrl-C or a service manager would stop it.
        process.terminate()
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            _kill_left_behind(folder / name / "pids")
        asyncio.run(_drop_databases(postgres_url, [name, f"{name}_rasa"]))
        _delete_redis_keys(redis_url, name)
    # Stopped cleanly: every process gone, every port free again.
    assert process.returncode == 0, log_path.read_text("utf-8", errors="replace")[
        -3000:
    ]
    listening = [
        port
        for port in (public_port, *range(base_port + 1, base_port + BASE_PORT_SPAN))
        if _accepts(port)
    ]
    assert listening == [], f"still listening after the stop: {listening}"
