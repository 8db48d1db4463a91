"""Fixtures: a real database (SQLite file or PostgreSQL), a stand-in Rasa, the app."""

from __future__ import annotations

import os
import uuid
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
from pytest_aiohttp import AiohttpClient, AiohttpServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_plain_engine
from sqlalchemy.pool import NullPool

from handoff.api.views.api_document import openapi_document
from handoff.app import create_app
from handoff.settings import Settings
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Agent, AgentRole, Base

POSTGRES_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


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
    async with fresh_postgres_database() as url:
        yield url


class fresh_postgres_database:
    """A database of its own for one test, dropped afterwards."""

    def __init__(self) -> None:
        self._name = f"tandem_test_{uuid.uuid4().hex[:16]}"
        self._admin = create_plain_engine(
            POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )

    async def __aenter__(self) -> str:
        async with self._admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{self._name}"'))
        return (
            make_url(POSTGRES_URL)
            .set(database=self._name)
            .render_as_string(hide_password=False)
        )

    async def __aexit__(self, *exc_info: object) -> None:
        async with self._admin.connect() as connection:
            await connection.execute(
                text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
            )
        await self._admin.dispose()


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
