"""Demo staff only in the demo: a start outside it with a published password is
refused, and staff accounts are created from the command line instead."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.bootstrap import refuse_demo_passwords
from handoff.settings import REPO_ROOT, ConfigurationError, Settings
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine
from handoff.storage.models import Agent, AgentRole, AgentSkill

OWN_PASSWORD = "a-password-of-their-own"


@pytest.fixture
def cli_database_url(database_url: str, engine: AsyncEngine, tmp_path: Path) -> str:
    """A PostgreSQL database migrated by the deployment, or an embedded SQLite
    file that the command creates and migrates itself, as the service would."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'embedded' / 'handoff.db'}"
    return database_url


async def _add_agent(
    sessions: async_sessionmaker[AsyncSession],
    auth: AuthService,
    username: str,
    password: str,
) -> None:
    async with sessions.begin() as session:
        session.add(
            Agent(
                username=username,
                display_name=username.title(),
                role=AgentRole.SUPERVISOR,
                password_hash=await auth.hash_password(password),
            )
        )


async def test_a_start_outside_the_demo_refuses_the_published_password(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
) -> None:
    await _add_agent(sessions, auth_service, "sora", "tandem-demo")
    await _add_agent(sessions, auth_service, "hana", OWN_PASSWORD)
    client = await aiohttp_client(create_app(settings, run_sweeper=False))

    with pytest.raises(ConfigurationError, match="sora still have the demo"):
        await refuse_demo_passwords(client.app)


async def test_a_start_outside_the_demo_with_own_passwords_seeds_nobody(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
) -> None:
    await _add_agent(sessions, auth_service, "hana", OWN_PASSWORD)
    client = await aiohttp_client(create_app(settings, run_sweeper=False))

    await refuse_demo_passwords(client.app)

    async with sessions() as session:
        assert (await session.scalars(select(Agent.username))).all() == ["hana"]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_service_will_not_serve_an_account_with_the_demo_password(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
) -> None:
    await _add_agent(sessions, auth_service, "sora", "tandem-demo")
    environment = _environment(database_url)
    environment.update(
        TANDEM_SERVICE_SECRET="s",
        TANDEM_CHAT_SESSION_SECRET="c",
        TANDEM_HANDOFF_PORT=str(_free_port()),
    )

    started = await _run_module([], environment)

    assert started.returncode == 1
    assert "handoff: account(s) sora still have the demo password" in started.stderr


async def test_the_first_supervisor_is_created_from_the_command_line(
    cli_database_url: str,
    settings: Settings,
    tmp_path: Path,
    aiohttp_client: AiohttpClient,
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(OWN_PASSWORD + "\n")

    created = await _create_agent(
        cli_database_url,
        "hana",
        "--display-name",
        "Hana Choi",
        "--role",
        "supervisor",
        "--skills",
        "billing,general",
        "--language",
        "en",
        "--password-file",
        str(password_file),
    )

    assert created.returncode == 0, created.stderr
    assert "created supervisor hana" in created.stdout
    assert await _accounts(cli_database_url) == [
        ("hana", AgentRole.SUPERVISOR, ["billing", "general"])
    ]
    served = replace(settings, database_url=cli_database_url)
    client = await aiohttp_client(create_app(served, run_sweeper=False))
    login = await client.post(
        "/api/auth/login", json={"username": "hana", "password": OWN_PASSWORD}
    )
    assert login.status == 200
    assert (await login.json())["agent"]["language"] == "en"


@pytest.mark.parametrize(
    ("arguments", "stdin", "reason"),
    [
        (["--password-file", "-"], "short\n", "password must be 10 to 1024 characters"),
        ([], "", "no terminal to ask for the password: use --password-file"),
        (["--password-file", "/nonexistent/password"], "", "cannot read"),
        (
            ["--skills", "billing,astrology", "--password-file", "-"],
            OWN_PASSWORD + "\n",
            "skills",
        ),
    ],
)
async def test_the_command_line_refuses_what_cannot_make_an_account(
    cli_database_url: str, arguments: list[str], stdin: str, reason: str
) -> None:
    refused = await _create_agent(
        cli_database_url, "hana", "--display-name", "Hana", *arguments, stdin=stdin
    )

    assert refused.returncode == 1
    assert reason in refused.stderr
    assert await _accounts(cli_database_url) == []


async def test_the_command_line_refuses_a_taken_username(
    cli_database_url: str,
) -> None:
    first = await _create_agent(
        cli_database_url,
        "hana",
        "--display-name",
        "Hana",
        "--password-file",
        "-",
        stdin=OWN_PASSWORD + "\n",
    )
    again = await _create_agent(
        cli_database_url,
        "hana",
        "--display-name",
        "Another Hana",
        "--password-file",
        "-",
        stdin=OWN_PASSWORD + "\n",
    )

    assert first.returncode == 0, first.stderr
    assert again.returncode == 1
    assert "username hana is taken" in again.stderr
    assert [username for username, *_ in await _accounts(cli_database_url)] == ["hana"]


async def _accounts(database_url: str) -> list[tuple[str, AgentRole, list[str]]]:
    if not _exists(database_url):
        return []
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            agents = (
                await connection.execute(select(Agent.id, Agent.username, Agent.role))
            ).all()
            skills = (
                await connection.execute(select(AgentSkill.agent_id, AgentSkill.skill))
            ).all()
    finally:
        await engine.dispose()
    return [
        (
            username,
            role,
            sorted(skill.value for owner, skill in skills if owner == agent_id),
        )
        for agent_id, username, role in agents
    ]


async def _create_agent(
    database_url: str, *arguments: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return await _run_module(
        ["create-agent", *arguments], _environment(database_url), stdin
    )


async def _run_module(
    arguments: list[str], environment: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "handoff", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    return {**environment, "TANDEM_DATABASE_URL": database_url}


def _exists(database_url: str) -> bool:
    if not database_url.startswith("sqlite"):
        return True
    return Path(make_url(database_url).database or "").exists()
