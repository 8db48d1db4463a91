"""While the database does not answer, the API says so: 503 with Retry-After and
the error code pages translate, instead of an internal error; nothing else is
taken for an outage."""

from __future__ import annotations

import socket

import asyncpg
import pytest
from handoff_testing import BOT_HEADERS, handoff_body
from pytest_aiohttp import AiohttpClient
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from handoff.app import create_app
from handoff.settings import Settings
from handoff.storage.outages import is_database_unavailable


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CALLS = [
    ("POST", "/api/auth/login", {"username": "mina", "password": "x"}, {}),
    ("POST", "/api/rasa/handoffs", handoff_body(), BOT_HEADERS),
    ("POST", "/api/chat/sessions", None, {}),
]


@pytest.fixture(params=["postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A PostgreSQL server nobody answers at."""
    return f"postgresql+asyncpg://nobody@127.0.0.1:{closed_port()}/none"


async def test_api_calls_answer_503_while_the_database_is_down(
    aiohttp_client: AiohttpClient, settings: Settings, feed_gives_up_waiting_soon: None
) -> None:
    client = await aiohttp_client(create_app(settings, run_sweeper=False))

    for method, path, body, headers in CALLS:
        response = await client.request(method, path, json=body, headers=headers)

        assert response.status == 503, (path, await response.text())
        assert response.headers["Retry-After"] == "5"
        answer = await response.json()
        assert answer["error"] == "database_unavailable"
        assert "try again" in answer["message"]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (
            OperationalError("SELECT 1", {}, Exception("server closed the connection")),
            True,
        ),
        (DBAPIError("UPDATE", {}, asyncpg.exceptions.DeadlockDetectedError("x")), True),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (ConnectionRefusedError("not from the database"), False),
        (ValueError("a bug"), False),
    ],
    ids=["operational", "lost-conflicts", "integrity", "other-socket", "bug"],
)
def test_what_counts_as_the_database_being_unavailable(
    error: Exception, outage: bool
) -> None:
    assert is_database_unavailable(error) is outage
