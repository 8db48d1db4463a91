"""The service against its own OpenAPI document, with generated requests.

schemathesis sends requests built from the document (valid ones and some that
bend it) to a running service and checks every answer: never a server error,
always a documented status, content type and body.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from handoff_testing import SERVICE_SECRET, StandInRasa, bearer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff.app import create_app
from handoff.settings import Settings
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Agent, AgentRole, Base

DOCUMENT = Path(__file__).resolve().parents[2] / "handoff" / "openapi.yaml"

schema = schemathesis.openapi.from_path(DOCUMENT)


@dataclass
class LiveService:
    """The service on a real port, run by its own event loop in a thread."""

    database_url: str
    url: str = ""
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _stop: asyncio.Event | None = None

    def __enter__(self) -> LiveService:
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(started),)
        )
        self._thread.start()
        if not started.wait(timeout=30):
            raise RuntimeError("the service did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._loop.close()

    def headers_for(self, path: str) -> dict[str, str]:
        if path.startswith("/api/rasa/"):
            return bearer(SERVICE_SECRET)
        return asyncio.run_coroutine_threadsafe(self._sign_in(), self._loop).result(
            timeout=30
        )

    async def _sign_in(self) -> dict[str, str]:
        # Generated requests sign the supervisor out or deactivate it; every
        # request starts signed in again, so each operation gets past the door.
        async with self._sessions.begin() as session:
            await session.execute(
                update(Agent).where(Agent.id == self._supervisor.id).values(active=True)
            )
        return bearer((await self._auth.issue_token(self._supervisor)).token)

    async def _serve(self, started: threading.Event) -> None:
        self._stop = asyncio.Event()
        rasa = StandInRasa()
        rasa_runner = web.AppRunner(rasa.application())
        await rasa_runner.setup()
        rasa_site = web.TCPSite(rasa_runner, "127.0.0.1", 0)
        await rasa_site.start()
        rasa.url = rasa_site.name.rstrip("/")
        engine = await self._prepare_database()
        runner = web.AppRunner(
            create_app(
                Settings(
                    service_secret=SERVICE_SECRET,
                    chat_session_secret="chat-session-secret",
                    database_url=self.database_url,
                    rasa_url=rasa.url,
                    rasa_socket_url="http://chat.example:5005",
                ),
                run_sweeper=False,
            )
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = site.name.rstrip("/")
        started.set()
        await self._stop.wait()
        await runner.cleanup()
        await rasa_runner.cleanup()
        await engine.dispose()

    async def _prepare_database(self) -> AsyncEngine:
        engine = create_engine(self.database_url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        self._sessions = create_session_factory(engine)
        self._auth = AuthService(self._sessions, timedelta(hours=1))
        self._supervisor = Agent(
            username="sora",
            display_name="Sora Lee",
            role=AgentRole.SUPERVISOR,
            password_hash=await self._auth.hash_password("a supervisor's password"),
        )
        async with self._sessions.begin() as session:
            session.add(self._supervisor)
        return engine


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    database = tmp_path_factory.mktemp("fuzzing") / "handoff.db"
    with LiveService(f"sqlite+aiosqlite:///{database}") as service:
        yield service


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_get_documented_answers(
    case: schemathesis.Case, live_service: LiveService
) -> None:
    response = case.call(
        base_url=live_service.url, headers=live_service.headers_for(case.path)
    )

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
