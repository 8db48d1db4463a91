"""What the queue benchmark runs against: databases, service processes, a Rasa.

Everything listens on 127.0.0.1 and is torn down when the benchmark ends: the
SQLite file lives in a temporary folder, the PostgreSQL database is created for
the run and dropped afterwards, and the service processes are stopped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Agent, AgentRole
from handoff.vocabulary import MAX_CAPACITY
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "handoff" / "alembic.ini"
STARTUP_SECONDS = 60
STOP_SECONDS = 15
AGENT_PASSWORD = "bench-queue-password"


@dataclass
class StandInRasa:
    """Rasa's HTTP API in miniature: it only timestamps what arrives."""

    arrivals: dict[str, float] = field(default_factory=dict)
    url: str = ""

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        body = await request.json()
        if isinstance(body, dict) and isinstance(body.get("text"), str):
            self.arrivals[body["text"]] = arrived
        return web.json_response({})


@asynccontextmanager
async def stand_in_rasa() -> AsyncIterator[StandInRasa]:
    rasa = StandInRasa()
    runner = web.AppRunner(rasa.application(), access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    rasa.url = f"http://127.0.0.1:{port}"
    try:
        yield rasa
    finally:
        await runner.cleanup()


@asynccontextmanager
async def sqlite_database(folder: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{folder / 'bench-handoff.db'}"
    await migrate(url)
    yield url


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    name = f"tandem_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        await migrate(url)
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(
                text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        await admin.dispose()


async def migrate(url: str) -> None:
    # The schema a production database gets: the Alembic migrations.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "-c",
        str(ALEMBIC_INI),
        "upgrade",
        "head",
        cwd=ROOT,
        env={**os.environ, "TANDEM_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"migrations failed:\n{output.decode()[-3000:]}")


async def create_agents(url: str, count: int) -> list[tuple[int, str]]:
    """``count`` agents able to hold every handoff: their ids and tokens."""
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    # One hash for all: they share a password, and Argon2 is slow on purpose.
    password_hash = PasswordHasher().hash(AGENT_PASSWORD)
    agents = [
        Agent(
            username=f"bench{index:03d}",
            display_name=f"Bench Agent {index}",
            role=AgentRole.AGENT,
            password_hash=password_hash,
            capacity=MAX_CAPACITY,
        )
        for index in range(count)
    ]
    try:
        async with sessions.begin() as session:
            session.add_all(agents)
        auth = AuthService(sessions, timedelta(hours=2))
        return [(agent.id, (await auth.issue_token(agent)).token) for agent in agents]
    finally:
        await engine.dispose()


@dataclass
class ServiceProcess:
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far, all threads, user and system."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self) -> int:
        """The process's high-water mark of resident memory (Linux VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc: peak memory needs Linux")


@dataclass(frozen=True)
class Cores:
    """Where the processes run: the service on one core, the load on another."""

    service: int | None
    load: int | None

    def pin_service(self) -> None:
        if self.service is not None:
            os.sched_setaffinity(0, {self.service})


def split_cores() -> Cores:
    """Pins this process (load generator, stand-in Rasa) away from the service.

    With fewer than two usable cores everything shares the one there is.
    """
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return Cores(None, None)
    load, service = usable[0], usable[1]
    os.sched_setaffinity(0, {load})
    return Cores(service=service, load=load)


@asynccontextmanager
async def service_process(
    database_url: str,
    rasa_url: str,
    secret: str,
    folder: Path,
    name: str,
    cores: Cores,
) -> AsyncIterator[ServiceProcess]:
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update(
        TANDEM_HANDOFF_HOST="127.0.0.1",
        TANDEM_HANDOFF_PORT=str(port),
        TANDEM_SERVICE_SECRET=secret,
        TANDEM_CHAT_SESSION_SECRET=secrets.token_urlsafe(16),
        TANDEM_DATABASE_URL=database_url,
        TANDEM_RASA_URL=rasa_url,
        TANDEM_SEED_DEMO_AGENTS="false",
        PYTHONDONTWRITEBYTECODE="1",
    )
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handoff",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            # Pinned before it runs, so every thread it starts stays on that core.
            preexec_fn=None if cores.service is None else cores.pin_service,
        )
    service = ServiceProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        await _wait_until_healthy(service)
        yield service
    except Exception:
        # The benchmark's folder goes away with it: show why the service failed.
        lines = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if "aiohttp.access" not in line
        ]
        first_error = next(
            (index for index, line in enumerate(lines) if " ERROR " in line), 0
        )
        print("\n".join(lines[first_error : first_error + 80]), file=sys.stderr)
        raise
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_healthy(service: ServiceProcess) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if service.process.returncode is not None:
                break
            try:
                async with http.get(f"{service.url}/api/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    tail = service.log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the handoff service did not start:\n{tail}")
