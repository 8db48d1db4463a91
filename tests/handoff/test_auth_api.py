"""Agent login and bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import AGENT_PASSWORD, assert_refused
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.staff.auth import token_digest
from handoff.storage.models import AuthToken, utcnow

Client = TestClient[web.Request, web.Application]


async def test_login_returns_a_token_that_opens_the_api(
    client: Client, team: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/auth/login", json={"username": "mina", "password": AGENT_PASSWORD}
    )

    assert response.status == 200
    login = await response.json()
    assert login["agent"] == {
        "id": team.mina.id,
        "username": "mina",
        "display_name": "Mina Kim",
        "role": "agent",
        "language": "ko",
    }
    assert login["expires_at"].endswith("+00:00")
    listing = await client.get(
        "/api/handoffs", headers={"Authorization": f"Bearer {login['token']}"}
    )
    assert listing.status == 200
    async with sessions() as session:
        stored = (await session.scalars(select(AuthToken))).all()
    # Only a digest of the token is kept.
    assert [row.token_sha256 for row in stored] == [token_digest(login["token"])]


async def test_wrong_password_or_username_is_unauthorized(
    client: Client, team: Any
) -> None:
    for credentials in (
        {"username": "mina", "password": "wrong"},
        {"username": "nobody", "password": AGENT_PASSWORD},
    ):
        response = await client.post("/api/auth/login", json=credentials)
        assert response.status == 401
        problem = await response.json()
        assert problem == {
            "error": "unauthorized",
            "message": "wrong username or password",
        }


async def test_login_bodies_are_validated(client: Client) -> None:
    for body, message in (
        ({"username": "mina"}, "body: missing field(s): password"),
        ({"username": "mina", "password": 1234}, "password must be a string"),
        (
            {"username": "mina", "password": "x", "remember": True},
            "body: unknown field(s): remember",
        ),
    ):
        response = await client.post("/api/auth/login", json=body)
        await assert_refused(response, 400, "invalid_request", message)


async def test_expired_token_is_unauthorized(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = tokens["mina"]["Authorization"].removeprefix("Bearer ")
    async with sessions.begin() as session:
        stored = await session.scalar(
            select(AuthToken).where(AuthToken.token_sha256 == token_digest(token))
        )
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(seconds=1)

    response = await client.get("/api/handoffs", headers=tokens["mina"])

    await assert_refused(
        response, 401, "unauthorized", "the token is unknown or has expired"
    )


async def test_agent_routes_need_a_token(client: Client) -> None:
    for method, path in (
        ("GET", "/api/handoffs"),
        ("GET", "/api/handoffs/1"),
        ("POST", "/api/handoffs/1/claim"),
        ("POST", "/api/handoffs/1/messages"),
        ("POST", "/api/handoffs/1/close"),
    ):
        response = await client.request(method, path)
        await assert_refused(
            response, 401, "unauthorized", "an Authorization: Bearer token is required"
        )
