"""Fixtures: a real database (SQLite file or PostgreSQL), a stand-in Rasa, the app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from document_check import DocumentCheck
from handoff_testing import (
    AGENT_PASSWORD,
    CHAT_SESSION_SECRET,
    RASA_TOKEN,
    SERVICE_SECRET,
    StandInRasa,
)
from postgres_databases import SCHEMA_DATABASES, fresh_postgres_database
from pytest_aiohttp import AiohttpClient, AiohttpServer
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from handoff.api.views.api_document import openapi_document
from handoff.app import create_app
from handoff.realtime import feed_relay
from handoff.settings import Settings
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Agent, AgentRole, Base


@pytest.fixture
def feed_gives_up_waiting_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service started on an unreachable PostgreSQL waits for its live feed's
    listener for ten seconds before it serves anyway; its tests need not."""
    monkeypatch.setattr(feed_relay, "STARTUP_WAIT_SECONDS", 0.2)


@pytest.fixture(scope="session")
def agent_password_hash() -> str:
    return PasswordHasher().hash(AGENT_PASSWORD)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'handoff.db'}"
        return
    # A test that takes the engine gets the models' tables anyway: a database of
    # the pool, emptied after its last test. The others (the migrations' tests)
    # get an empty database of their own.
    if "engine" in request.fixturenames:
        async with SCHEMA_DATABASES.lend() as url:
            yield url
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def drop_schema_databases() -> Iterator[None]:
    yield
    asyncio.run(SCHEMA_DATABASES.drop())


@pytest.fixture
def aiohttp_client(aiohttp_client: AiohttpClient) -> Iterator[AiohttpClient]:
    """pytest-aiohttp's client, with every JSON answer checked against the document."""
    check = DocumentCheck(openapi_document())

    async def checked_client(app: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(app, web.Application):
            check.install(app)
        return await aiohttp_client(app, *args, **kwargs)

    yield checked_client
    assert check.disagreements == []


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@dataclass
class Team:
    mina: Agent
    joon: Agent
    sora: Agent


@pytest.fixture
async def team(
    sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> Team:
    agents = [
        Agent(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=agent_password_hash,
        )
        for username, display_name, role in (
            ("mina", "Mina Kim", AgentRole.AGENT),
            ("joon", "Joon Park", AgentRole.AGENT),
            ("sora", "Sora Lee", AgentRole.SUPERVISOR),
        )
    ]
    async with sessions.begin() as session:
        session.add_all(agents)
    return Team(*agents)


@pytest.fixture
def auth_service(sessions: async_sessionmaker[AsyncSession]) -> AuthService:
    return AuthService(sessions, timedelta(hours=1))


async def agent_headers(auth: AuthService, agent: Agent) -> dict[str, str]:
    issued = await auth.issue_token(agent)
    return {"Authorization": f"Bearer {issued.token}"}


@pytest.fixture
async def tokens(auth_service: AuthService, team: Team) -> dict[str, dict[str, str]]:
    """Authorization headers by username."""
    return {
        agent.username: await agent_headers(auth_service, agent)
        for agent in (team.mina, team.joon, team.sora)
    }


@pytest.fixture
async def rasa(aiohttp_server: AiohttpServer) -> StandInRasa:
    stand_in = StandInRasa()
    server = await aiohttp_server(stand_in.application())
    stand_in.url = str(server.make_url("")).rstrip("/")
    return stand_in


@pytest.fixture
def settings(database_url: str, rasa: StandInRasa) -> Settings:
    return Settings(
        service_secret=SERVICE_SECRET,
        chat_session_secret=CHAT_SESSION_SECRET,
        database_url=database_url,
        rasa_url=rasa.url,
        rasa_token=RASA_TOKEN,
        rasa_socket_url="http://chat.example:5005",
        seed_demo_agents=False,
    )


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> TestClient[web.Request, web.Application]:
    # Tests run the sweeper's timers explicitly, at the times they choose.
    return await aiohttp_client(create_app(settings, run_sweeper=False))
