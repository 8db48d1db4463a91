"""Limits per client address: web chat session ids issued, and the handoffs their
conversations open; the records they are counted from, and their purge."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_customer_limits import open_ticket, refusals

from handoff.app import create_app
from handoff.app_keys import SWEEPER
from handoff.settings import Settings
from handoff.storage.models import ChatSession, Handoff, utcnow

Client = TestClient[web.Request, web.Application]

OTHER_ADDRESS = "203.0.113.9"


@pytest.fixture
def address_limits(settings: Settings) -> Settings:
    """Two ids a minute and two handoffs an hour per address; the test client's
    loopback address is a trusted proxy, so X-Forwarded-For names other ones."""
    return replace(
        settings,
        chat_sessions_per_address=2,
        handoffs_per_address=2,
        handoffs_per_customer=5,
        handoff_window_seconds=3600,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )


@pytest.fixture
async def limited(aiohttp_client: Any, address_limits: Settings, engine: Any) -> Client:
    client: Client = await aiohttp_client(create_app(address_limits, run_sweeper=False))
    return client


async def new_session(client: Client, address: str | None = None) -> Any:
    headers = {} if address is None else {"X-Forwarded-For": address}
    return await client.post("/api/chat/sessions", headers=headers)


async def session_id(client: Client, address: str | None = None) -> str:
    issued = await new_session(client, address)
    assert issued.status == 201, await issued.text()
    value: str = (await issued.json())["session_id"]
    return value


async def age_issued_ids(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Moves every issued id a minute back, out of the issuance window."""
    async with sessions.begin() as session:
        await session.execute(
            update(ChatSession).values(issued_at=utcnow() - timedelta(minutes=1))
        )


async def recorded(sessions: async_sessionmaker[AsyncSession]) -> list[ChatSession]:
    async with sessions() as session:
        return list(await session.scalars(select(ChatSession)))


async def test_an_issued_id_is_recorded_by_its_digest_with_its_address(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    issued = await session_id(limited, OTHER_ADDRESS)

    [row] = await recorded(sessions)
    assert row.digest == hashlib.sha256(issued.encode()).hexdigest()
    assert row.client_address == OTHER_ADDRESS
    assert issued not in (row.digest, row.client_address)


async def test_the_issuance_limit_holds_across_instances_on_one_database(
    aiohttp_client: Any,
    address_limits: Settings,
    limited: Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    other: Client = await aiohttp_client(create_app(address_limits, run_sweeper=False))
    await session_id(limited)
    await session_id(other)

    refused = await new_session(other)

    assert refused.status == 429
    assert await refused.json() == {
        "error": "too_many_requests",
        "message": "too many new chat sessions from this address; try again later",
        "retry_after_seconds": int(refused.headers["Retry-After"]),
    }
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert (await new_session(limited)).status == 429
    assert len(await recorded(sessions)) == 2
    assert await refusals(sessions) == [("chat_sessions", ""), ("chat_sessions", "")]
    # Another address is not held back by this one.
    await session_id(other, OTHER_ADDRESS)


async def test_the_issuance_limit_lifts_after_a_minute(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        await session_id(limited)
    assert (await new_session(limited)).status == 429
    await age_issued_ids(sessions)
    await session_id(limited)


async def test_handoffs_count_against_the_address_over_all_its_sessions(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Fresh ids a minute apart: the issuance limit is not what stops them.
    senders = []
    for _ in range(3):
        senders.append(await session_id(limited))
        await age_issued_ids(sessions)
    for sender in senders[:2]:
        created = await open_ticket(limited, sender)
        assert created.status == 201, await created.text()

    refused = await open_ticket(limited, senders[2])

    assert refused.status == 429
    assert await refused.json() == {
        "error": "handoff_limit",
        "message": "this address opened 2 handoffs in the last 1 hour(s); "
        "try again later",
        "retry_after_seconds": int(refused.headers["Retry-After"]),
    }
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert await refusals(sessions) == [("handoffs_per_address", senders[2])]
    async with sessions() as session:
        addresses = list(await session.scalars(select(Handoff.client_address)))
    assert addresses == ["127.0.0.1", "127.0.0.1"]
    # A session from another address, and a sender of another channel, open theirs.
    elsewhere = await session_id(limited, OTHER_ADDRESS)
    assert (await open_ticket(limited, elsewhere)).status == 201
    assert (await open_ticket(limited, "kakao-user-1")).status == 201


async def test_senders_without_an_address_are_limited_per_customer_only(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for sender in ["kakao-1", "kakao-2", "kakao-3"]:
        created = await open_ticket(limited, sender)
        assert created.status == 201, await created.text()
    assert await refusals(sessions) == []


async def test_the_refusals_per_address_are_in_the_numbers(
    limited: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    senders = [await session_id(limited), await session_id(limited)]
    assert (await new_session(limited)).status == 429
    await age_issued_ids(sessions)
    for sender in senders:
        assert (await open_ticket(limited, sender)).status == 201
    assert (await open_ticket(limited, await session_id(limited))).status == 429

    response = await limited.get("/api/metrics", headers=tokens["sora"])

    assert response.status == 200, await response.text()
    refused = (await response.json())["refusals"]
    assert (refused["chat_sessions"], refused["handoffs_per_address"]) == (1, 1)
    assert refused["handoffs"] == 0


async def test_the_sweeper_purges_issuance_records_after_a_day(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await session_id(client)
    await session_id(client)
    async with sessions.begin() as session:
        first = (await session.scalars(select(ChatSession))).first()
        assert first is not None
        first.issued_at = utcnow() - timedelta(days=1, minutes=1)

    swept = await client.app[SWEEPER].sweep()
    soon_after = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=5))

    assert swept.purged_chat_sessions == 1
    assert soon_after.purged_chat_sessions is None
    assert len(await recorded(sessions)) == 1
