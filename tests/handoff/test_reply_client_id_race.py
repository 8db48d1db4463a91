"""Two service instances storing the same agent reply (one client id) at the same
moment, on PostgreSQL: the one that loses at the unique index answers with the
winner's reply instead of an error, and the reply is stored once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from postgres_databases import fresh_postgres_database
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from test_reply_client_ids import agent_messages, assigned, reply

from handoff.storage.models import MESSAGES, Agent, Delivery, MessageRole, utcnow

pytestmark = pytest.mark.postgres

Client = TestClient[web.Request, web.Application]
CLIENT_ID = "7d0c-reply-race"
WAIT_FOR_LOCK_SECONDS = 20


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def waiting_on_a_lock(engine: AsyncEngine) -> None:
    """Returns once some session waits for a row or index entry lock."""
    async with engine.connect() as connection:
        for _ in range(WAIT_FOR_LOCK_SECONDS * 20):
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the reply never waited for the other instance's insert")


async def test_the_reply_another_instance_stored_meanwhile_is_the_answer(
    client: Client,
    tokens: Any,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"])
    async with sessions() as session:
        mina = (
            await session.scalars(select(Agent).where(Agent.username == "mina"))
        ).one()

    # The other instance has inserted the reply and not committed yet: this
    # instance does not see it, and its own insert waits at the unique index.
    async with engine.connect() as other_instance:
        transaction = await other_instance.begin()
        winner = await other_instance.scalar(
            insert(MESSAGES)
            .values(
                handoff_id=handoff_id,
                role=MessageRole.AGENT,
                text="잠시만요",
                agent_id=mina.id,
                delivery=Delivery.PENDING,
                client_id=CLIENT_ID,
                created_at=utcnow(),
            )
            .returning(MESSAGES.c.id)
        )
        sending = asyncio.create_task(
            reply(
                client, tokens["mina"], handoff_id, text="잠시만요", client_id=CLIENT_ID
            )
        )
        await waiting_on_a_lock(engine)
        await transaction.commit()

    status, answer = await asyncio.wait_for(sending, 30)

    assert status == 201, answer
    assert (answer["id"], answer["client_id"]) == (winner, CLIENT_ID)
    assert [message.id for message in await agent_messages(sessions)] == [winner]
