"""The stacks the cluster benchmark measures, each started on free ports on
127.0.0.1 and stopped, with everything it stored, when its measurement ends:

- the single stack of ``make run`` (scripts/run_stack.py): one Rasa server, one
  action server, one handoff service, SQLite files in a temporary folder;
- the cluster of ``make run-cluster`` (scripts/run_cluster.py) with 1, 2 or 3 Rasa
  servers, one action server and one service instance behind HAProxy, on PostgreSQL
  databases and a Redis key prefix of the run's own, dropped afterwards.

Both run with business hours forced open (handoffs need agents) and with the
per-address limits on chat sessions and handoffs raised: every simulated customer
comes from 127.0.0.1, which the limits would rightly take for one client.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.cluster_sampling import Tracked, named_processes
from tests.ports import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[1]
BOT_PYTHON = ROOT / ".venv" / "bot" / "bin" / "python"
MODEL = ROOT / "models" / "tandem.tar.gz"
STARTUP_SECONDS = 600.0
STOP_SECONDS = 60.0
POSTGRES_URL = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TANDEM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# scripts/run_cluster.py: processes from base + 1 to base + 29, HAProxy's loopback
# listeners from base + 30 to base + 33.
BASE_PORT_SPAN = 34
PORT_OFFSETS = {"rasa": 0, "actions": 10, "handoff": 20}
UNLIMITED = "1000000"
# The agents the stacks create (the demo staff): two, so replies come from two
# consoles.
AGENTS = ("mina", "joon")


@dataclass(frozen=True)
class Target:
    """A running stack as the load sees it."""

    label: str
    rasa_servers: int
    # socket.io and the chat session ids: HAProxy's public address for the
    # cluster; the Rasa server and the service for the single stack.
    chat_url: str
    sessions_url: str
    service_url: str
    staff_password: str
    processes: dict[str, Tracked]
    # The PostgreSQL databases whose backends count as the stack's.
    databases: tuple[str, ...]
    # The Rasa server the service instances send agents' replies through.
    replies_through: str
    clustered: bool


def _environment(folder: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONUNBUFFERED="1",
        TANDEM_HOST="127.0.0.1",
        TANDEM_VAR_DIR=str(folder),
        TANDEM_RASA_TOKEN=secrets.token_urlsafe(16),
        TANDEM_SERVICE_SECRET=secrets.token_urlsafe(16),
        TANDEM_ACTIONS_TOKEN=secrets.token_urlsafe(16),
        TANDEM_CHAT_SESSION_SECRET=secrets.token_urlsafe(16),
        TANDEM_ALWAYS_OPEN="true",
        TANDEM_CHAT_SESSIONS_PER_ADDRESS=UNLIMITED,
        TANDEM_HANDOFFS_PER_ADDRESS=UNLIMITED,
        # Each simulated customer writes again as soon as the bot answers, faster
        # than any person, which each customer's message rate would rightly refuse.
        TANDEM_CUSTOMER_MESSAGES_PER_MINUTE=UNLIMITED,
        TANDEM_CUSTOMER_MESSAGE_BURST=UNLIMITED,
    )
    return env


def _launcher_output(log_path: Path) -> str:
    return log_path.read_text("utf-8", errors="replace")


@contextmanager
def _launcher(
    command: list[str], env: dict[str, str], log_path: Path, ready: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A launcher script, until its banner ``ready`` is printed; stopped with
    SIGTERM (it stops its own processes) when the block ends."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while ready not in _launcher_output(log_path):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = _launcher_output(log_path)[-4000:]
                raise RuntimeError(f"{command[1]} did not come up:\n{tail}")
            time.sleep(1.0)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_leftovers(processes: dict[str, Tracked]) -> None:
    """Processes a launcher left running (it was killed before it stopped them)."""
    for tracked in processes.values():
        if tracked.alive():
            with suppress(ProcessLookupError):
                os.kill(tracked.pid, signal.SIGKILL)


@contextmanager
def single_stack(folder: Path, model: Path) -> Iterator[Target]:
    """``make run``'s stack: the baseline."""
    ports = {name: free_port() for name in ("handoff", "rasa", "actions")}
    demo_password = secrets.token_urlsafe(12)
    env = _environment(folder)
    env.update(
        TANDEM_HANDOFF_PORT=str(ports["handoff"]),
        TANDEM_RASA_PORT=str(ports["rasa"]),
        TANDEM_ACTIONS_PORT=str(ports["actions"]),
        TANDEM_DEMO_AGENT_PASSWORD=demo_password,
    )
    command = [
        sys.executable,
        str(ROOT / "scripts" / "run_stack.py"),
        "--env-file",
        str(folder / "no.env"),
        "--model",
        str(model),
    ]
    processes: dict[str, Tracked] = {}
    try:
        with _launcher(command, env, folder / "stack.log", "Tandem is up.") as launcher:
            processes = named_processes(
                launcher.pid, {port: name for name, port in ports.items()}
            )
            yield Target(
                label="single stack",
                rasa_servers=1,
                chat_url=f"http://127.0.0.1:{ports['rasa']}",
                sessions_url=f"http://127.0.0.1:{ports['handoff']}",
                service_url=f"http://127.0.0.1:{ports['handoff']}",
                staff_password=demo_password,
                processes=processes,
                databases=(),
                replies_through="rasa",
                clustered=False,
            )
    finally:
        _stop_leftovers(processes)


def _server_url(database: str) -> str:
    """TANDEM_BENCH_POSTGRES_URL's server, for ``database``, without a driver."""
    parts = urlsplit(POSTGRES_URL)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"TANDEM_BENCH_POSTGRES_URL is not PostgreSQL: {POSTGRES_URL}")
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, ""))


async def _drop(names: list[str]) -> None:
    connection = await asyncpg.connect(_server_url("postgres"))
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def drop_databases(names: list[str]) -> None:
    asyncio.run(_drop(names))


# This environment has no Redis client; the bot's has.
DELETE_KEYS = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2]))
if keys:
    client.delete(*keys)
"""


def delete_redis_keys(prefix: str) -> None:
    subprocess.run(
        [str(BOT_PYTHON), "-c", DELETE_KEYS, REDIS_URL, f"{prefix}:*"],
        check=True,
        timeout=60,
    )


@contextmanager
def cluster(folder: Path, model: Path, rasa_servers: int) -> Iterator[Target]:
    """``make run-cluster``'s cluster with ``rasa_servers`` Rasa servers, one action
    server and one service instance. The service sends agents' replies through
    rasa-1, so a reply to a customer on another server crosses through Redis."""
    name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
    # The public port just after the block: all of HAProxy's ports are bound late.
    base_port = free_port_block(BASE_PORT_SPAN + 1)
    public_port = base_port + BASE_PORT_SPAN
    env = _environment(folder)
    env.update(
        TANDEM_CLUSTER_NAME=name,
        TANDEM_CLUSTER_PORT=str(public_port),
        TANDEM_CLUSTER_BASE_PORT=str(base_port),
        TANDEM_CLUSTER_POSTGRES_URL=_server_url("postgres"),
        TANDEM_REDIS_URL=REDIS_URL,
    )
    command = [
        sys.executable,
        str(ROOT / "scripts" / "run_cluster.py"),
        "--env-file",
        str(folder / "no.env"),
        "--model",
        str(model),
        "--rasa",
        str(rasa_servers),
        "--actions",
        "1",
        "--services",
        "1",
        "--service-calls-rasa",
        "rasa-1",
    ]
    names_by_port = {public_port: "haproxy"}
    for kind, count in (("rasa", rasa_servers), ("actions", 1), ("handoff", 1)):
        for number in range(1, count + 1):
            names_by_port[base_port + PORT_OFFSETS[kind] + number] = f"{kind}-{number}"
    public_url = f"http://127.0.0.1:{public_port}"
    processes: dict[str, Tracked] = {}
    try:
        with _launcher(
            command, env, folder / "cluster.log", "Tandem cluster is up."
        ) as launcher:
            processes = named_processes(launcher.pid, names_by_port)
            password = (folder / name / "staff_password").read_text("utf-8").strip()
            yield Target(
                label=f"cluster, {rasa_servers} Rasa",
                rasa_servers=rasa_servers,
                chat_url=public_url,
                sessions_url=public_url,
                service_url=public_url,
                staff_password=password,
                processes=processes,
                databases=(name, f"{name}_rasa"),
                replies_through="rasa-1",
                clustered=True,
            )
    finally:
        _stop_leftovers(processes)
        drop_databases([name, f"{name}_rasa"])
        delete_redis_keys(name)
