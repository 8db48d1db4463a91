"""An agent's reply sent again with the same client id is the same reply: stored
once, delivered again under its own id while it is not delivered, and not sent to
the customer again once it is."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, StandInRasa, handoff_body
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Delivery, Message, MessageRole

Client = TestClient[web.Request, web.Application]
CLIENT_ID = "2f1c5a0e-reply-0001"


async def assigned(client: Client, headers: dict[str, str]) -> int:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    handoff_id = int((await created.json())["id"])
    claimed = await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)
    assert claimed.status == 200
    return handoff_id


async def reply(
    client: Client, headers: dict[str, str], handoff_id: int, **body: Any
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages", json=body, headers=headers
    )
    return response.status, await response.json()


def sent_ids(rasa: StandInRasa) -> list[int]:
    return [
        request.body["metadata"]["tandem_message_id"]
        for request in rasa.without_notices
        if isinstance(request.body, dict) and request.body.get("event") == "bot"
    ]


async def agent_messages(
    sessions: async_sessionmaker[AsyncSession],
) -> list[Message]:
    async with sessions() as session:
        found = await session.scalars(
            select(Message).where(Message.role == MessageRole.AGENT)
        )
        return list(found)


async def test_a_reply_sent_again_after_a_failure_is_delivered_under_its_own_id(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"])
    rasa.status = 503
    status, failed = await reply(
        client, tokens["mina"], handoff_id, text="확인해 볼게요", client_id=CLIENT_ID
    )
    rasa.status = 200

    again_status, again = await reply(
        client, tokens["mina"], handoff_id, text="확인해 볼게요", client_id=CLIENT_ID
    )

    assert (status, failed["error"]) == (502, "rasa_unavailable")
    assert again_status == 201
    assert again["id"] == failed["message_id"]
    assert (again["delivery"], again["client_id"]) == ("delivered", CLIENT_ID)
    # Both times the same message: the customer's page shows it once.
    assert sent_ids(rasa) == [again["id"], again["id"]]
    (stored,) = await agent_messages(sessions)
    assert (stored.id, stored.delivery) == (again["id"], Delivery.DELIVERED)


async def test_a_delivered_reply_sent_again_is_not_sent_to_the_customer_again(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"])

    first = await reply(
        client, tokens["mina"], handoff_id, text="안녕하세요", client_id=CLIENT_ID
    )
    # Sent again, as by a console that never got the first answer.
    second = await reply(
        client, tokens["mina"], handoff_id, text="안녕하세요", client_id=CLIENT_ID
    )

    assert first[0] == second[0] == 201
    assert first[1]["id"] == second[1]["id"]
    assert sent_ids(rasa) == [first[1]["id"]]
    assert len(await agent_messages(sessions)) == 1


async def test_replies_with_other_client_ids_or_none_are_each_their_own(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"])

    answers = [
        await reply(client, tokens["mina"], handoff_id, text="네", client_id=CLIENT_ID),
        await reply(
            client, tokens["mina"], handoff_id, text="네", client_id="other-reply-02"
        ),
        await reply(client, tokens["mina"], handoff_id, text="네"),
        await reply(client, tokens["mina"], handoff_id, text="네"),
    ]

    assert [status for status, _ in answers] == [201] * 4
    assert len({body["id"] for _, body in answers}) == 4
    assert [body["client_id"] for _, body in answers] == [
        CLIENT_ID,
        "other-reply-02",
        None,
        None,
    ]
    assert len(await agent_messages(sessions)) == 4


async def test_a_client_id_that_is_not_a_short_token_is_refused(
    client: Client, tokens: Any
) -> None:
    handoff_id = await assigned(client, tokens["mina"])

    for client_id in ("short", "has spaces in it", "x" * 65, 12345678):
        status, problem = await reply(
            client, tokens["mina"], handoff_id, text="네", client_id=client_id
        )
        assert (status, problem["error"]) == (400, "invalid_request")


async def test_the_same_reply_sent_twice_at_once_is_stored_once(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"])

    answers = await asyncio.gather(
        *(
            reply(
                client, tokens["mina"], handoff_id, text="잠시만요", client_id=CLIENT_ID
            )
            for _ in range(3)
        )
    )

    assert [status for status, _ in answers] == [201] * 3
    assert len({body["id"] for _, body in answers}) == 1
    assert len(await agent_messages(sessions)) == 1
    # Each copy went out under the one id, which the customer's page shows once.
    assert set(sent_ids(rasa)) == {answers[0][1]["id"]}
