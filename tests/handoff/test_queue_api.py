"""The queue through the HTTP API, against SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, assert_refused, handoff_body
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Handoff, Message

Client = TestClient[web.Request, web.Application]


async def create_handoff(client: Client, sender_id: str = "c0ffee") -> dict[str, Any]:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def claim(client: Client, handoff_id: int, headers: dict[str, str]) -> Any:
    return await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)


async def test_handoff_request_creates_a_queued_handoff(client: Client) -> None:
    handoff = await create_handoff(client)

    assert handoff["status"] == "queued"
    assert handoff["queue_position"] == 1
    assert set(handoff) == {
        "id",
        "sender_id",
        "conversation",
        "customer_name",
        "customer_verified",
        "channel",
        "channel_kind",
        "language",
        "reason",
        "status",
        "assigned_agent_id",
        "assigned_agent_name",
        "created_at",
        "assigned_at",
        "resolved_at",
        "queue_position",
        "mode",
        "skill",
        "priority",
        "trigger",
        "resolution",
        "flagged_at",
        "estimated_wait_seconds",
    }
    assert (handoff["skill"], handoff["priority"], handoff["mode"]) == (
        "general",
        "normal",
        "queue",
    )
    assert handoff["sender_id"] == "c0ffee"
    assert handoff["language"] == "ko"
    assert handoff["created_at"].endswith("+00:00")
    assert handoff["assigned_agent_id"] is None


async def test_asking_twice_never_queues_twice(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await create_handoff(client)

    again = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )

    assert again.status == 200
    assert (await again.json())["id"] == first["id"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 1


async def test_queue_positions_follow_arrival(client: Client, tokens: Any) -> None:
    first = await create_handoff(client, "first")
    second = await create_handoff(client, "second")
    third = await create_handoff(client, "third")
    assert [first["queue_position"], second["queue_position"]] == [1, 2]
    assert third["queue_position"] == 3

    await claim(client, first["id"], tokens["mina"])
    response = await client.get("/api/handoffs?status=queued", headers=tokens["joon"])

    assert response.status == 200
    queued = (await response.json())["handoffs"]
    assert [(item["id"], item["queue_position"]) for item in queued] == [
        (second["id"], 1),
        (third["id"], 2),
    ]


async def test_listing_without_status_shows_every_open_handoff(
    client: Client, tokens: Any
) -> None:
    queued = await create_handoff(client, "waiting")
    assigned = await create_handoff(client, "talking")
    resolved = await create_handoff(client, "done")
    await claim(client, assigned["id"], tokens["mina"])
    await claim(client, resolved["id"], tokens["mina"])
    await client.post(f"/api/handoffs/{resolved['id']}/close", headers=tokens["mina"])

    # The supervisor sees every agent's conversations.
    open_ones = await (await client.get("/api/handoffs", headers=tokens["sora"])).json()
    done = await (
        await client.get("/api/handoffs?status=resolved", headers=tokens["sora"])
    ).json()
    mine = await (
        await client.get("/api/handoffs?status=assigned", headers=tokens["sora"])
    ).json()

    assert [item["id"] for item in open_ones["handoffs"]] == [
        queued["id"],
        assigned["id"],
    ]
    assert [item["id"] for item in done["handoffs"]] == [resolved["id"]]
    assert done["handoffs"][0]["resolved_at"] is not None
    assert [item["id"] for item in mine["handoffs"]] == [assigned["id"]]
    assert mine["handoffs"][0]["queue_position"] is None


async def test_listing_refuses_unknown_status(client: Client, tokens: Any) -> None:
    response = await client.get("/api/handoffs?status=lost", headers=tokens["mina"])

    await assert_refused(
        response, 400, "invalid_request", "status must be one of: queued, assigned"
    )


async def test_detail_carries_context_and_messages(client: Client, tokens: Any) -> None:
    handoff = await create_handoff(client)

    response = await client.get(
        f"/api/handoffs/{handoff['id']}", headers=tokens["mina"]
    )

    assert response.status == 200
    detail = await response.json()
    # Everything the bot sent but the sender id, which would let staff take the chat.
    without_sender = {k: v for k, v in handoff_body().items() if k != "sender_id"}
    assert detail["context"] == without_sender
    assert detail["messages"] == []
    assert detail["queue_position"] == 1


async def test_claim_assigns_the_caller(client: Client, team: Any, tokens: Any) -> None:
    handoff = await create_handoff(client)

    response = await claim(client, handoff["id"], tokens["mina"])

    assert response.status == 200
    claimed = await response.json()
    assert claimed["status"] == "assigned"
    assert claimed["assigned_agent_id"] == team.mina.id
    assert claimed["assigned_at"] is not None
    assert claimed["queue_position"] is None


async def test_claim_of_a_claimed_handoff_conflicts_and_changes_nothing(
    client: Client, team: Any, tokens: Any
) -> None:
    handoff = await create_handoff(client)
    first = await (await claim(client, handoff["id"], tokens["mina"])).json()

    response = await claim(client, handoff["id"], tokens["joon"])

    assert response.status == 409
    problem = await response.json()
    assert problem["error"] == "already_assigned"
    assert "is already assigned to another agent" in problem["message"]
    after = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["sora"])
    ).json()
    assert after["assigned_agent_id"] == team.mina.id
    assert after["assigned_at"] == first["assigned_at"]


async def test_claiming_your_own_handoff_again_is_harmless(
    client: Client, tokens: Any
) -> None:
    handoff = await create_handoff(client)
    first = await (await claim(client, handoff["id"], tokens["mina"])).json()

    again = await claim(client, handoff["id"], tokens["mina"])

    assert again.status == 200
    assert await again.json() == first


async def test_claim_of_a_resolved_handoff_is_an_invalid_transition(
    client: Client, tokens: Any
) -> None:
    handoff = await create_handoff(client)
    await claim(client, handoff["id"], tokens["mina"])
    await client.post(f"/api/handoffs/{handoff['id']}/close", headers=tokens["mina"])

    response = await claim(client, handoff["id"], tokens["joon"])

    await assert_refused(response, 409, "invalid_transition", "cannot become assigned")


async def test_unknown_handoff_is_not_found(client: Client, tokens: Any) -> None:
    for method, path in (
        ("GET", "/api/handoffs/999"),
        ("POST", "/api/handoffs/999/claim"),
        ("POST", "/api/handoffs/999/close"),
        ("POST", "/api/handoffs/99999999999999999999/claim"),
    ):
        response = await client.request(method, path, headers=tokens["mina"])
        await assert_refused(response, 404, "not_found", "does not exist")
    response = await client.post(
        "/api/handoffs/999/messages", json={"text": "hello"}, headers=tokens["mina"]
    )
    await assert_refused(response, 404, "not_found", "handoff 999 does not exist")


async def test_reply_needs_a_token(client: Client, tokens: Any) -> None:
    handoff = await create_handoff(client)
    await claim(client, handoff["id"], tokens["mina"])

    for headers, message in (
        ({}, "an Authorization: Bearer token is required"),
        (
            {"Authorization": "Bearer not-a-token"},
            "the token is unknown or has expired",
        ),
        ({"Authorization": "x"}, "an Authorization: Bearer token is required"),
    ):
        response = await client.post(
            f"/api/handoffs/{handoff['id']}/messages",
            json={"text": "hello"},
            headers=headers,
        )
        await assert_refused(response, 401, "unauthorized", message)


async def test_reply_to_another_agents_conversation_is_forbidden(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff = await create_handoff(client)
    await claim(client, handoff["id"], tokens["mina"])

    reply = await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        json={"text": "hello"},
        headers=tokens["joon"],
    )
    close = await client.post(
        f"/api/handoffs/{handoff['id']}/close", headers=tokens["joon"]
    )

    for refused in (reply, close):
        await assert_refused(
            refused, 403, "forbidden", f"handoff {handoff['id']} is assigned to another"
        )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
        stored = await session.get_one(Handoff, handoff["id"])
        assert stored.status.value == "assigned"


async def test_reply_to_an_unclaimed_handoff_is_an_invalid_transition(
    client: Client, tokens: Any
) -> None:
    handoff = await create_handoff(client)

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        json={"text": "hello"},
        headers=tokens["mina"],
    )

    await assert_refused(response, 409, "invalid_transition", "is queued, not assigned")


async def test_reply_bodies_are_validated(client: Client, tokens: Any) -> None:
    handoff = await create_handoff(client)
    await claim(client, handoff["id"], tokens["mina"])
    url = f"/api/handoffs/{handoff['id']}/messages"

    not_json = "the body is not valid JSON"
    text_length = "text must be 1 to 2000 characters"
    cases: list[tuple[bytes, str, str]] = [
        (b"{not json", "malformed_json", not_json),
        (b"", "malformed_json", not_json),
        (b'{"text": NaN}', "malformed_json", not_json),
        (b"\xff\xfe", "malformed_json", not_json),
        (b'["text"]', "invalid_request", "the body must be a JSON object"),
        (b'{"text": 42}', "invalid_request", "text must be a string"),
        (b'{"text": "   "}', "invalid_request", text_length),
        (b"{}", "invalid_request", "body: missing field(s): text"),
        (
            b'{"text": "hi", "urgent": true}',
            "invalid_request",
            "unknown field(s): urgent",
        ),
        (('{"text": "' + "가" * 2001 + '"}').encode(), "invalid_request", text_length),
    ]
    for raw, code, message in cases:
        response = await client.post(
            url,
            data=raw,
            headers={**tokens["mina"], "Content-Type": "application/json"},
        )
        await assert_refused(response, 400, code, message)


async def test_oversized_bodies_are_refused(client: Client, tokens: Any) -> None:
    handoff = await create_handoff(client)
    await claim(client, handoff["id"], tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        data=b'{"text": "' + b"a" * (64 * 1024) + b'"}',
        headers={**tokens["mina"], "Content-Type": "application/json"},
    )

    await assert_refused(
        response, 413, "too_large", "request body is larger than 64 KiB"
    )


async def test_handoff_requests_are_validated(client: Client) -> None:
    timestamp = "transcript[0].timestamp must be a number"
    invalid_bodies: list[tuple[dict[str, Any], str]] = [
        (handoff_body(language="fr"), "language must be one of ['en', 'ko']"),
        (handoff_body(sender_id=""), "sender_id must not be empty"),
        (handoff_body(sender_id=7), "sender_id must be a string"),
        (handoff_body(transcript="hello"), "transcript must be a list"),
        (
            handoff_body(transcript=[{"role": "agent", "text": "x", "timestamp": 1.0}]),
            "transcript[0].role must be one of ['bot', 'user']",
        ),
        (
            handoff_body(transcript=[{"role": "user", "text": "x"}]),
            "transcript[0]: missing field(s): timestamp",
        ),
        (
            handoff_body(
                transcript=[{"role": "user", "text": "x", "timestamp": "now"}]
            ),
            timestamp,
        ),
        (
            handoff_body(transcript=[{"role": "user", "text": "x", "timestamp": True}]),
            timestamp,
        ),
        (handoff_body(intent={"confidence": 0.5}), "intent: missing field(s): name"),
        (
            handoff_body(intent={"name": 7, "confidence": 0.5}),
            "intent.name must be a string",
        ),
        (
            handoff_body(entities=[{"value": "x"}]),
            "entities[0].entity must be a string",
        ),
        (handoff_body(slots=["language"]), "slots must be an object"),
        (handoff_body(emotion="angry"), "emotion must be an object"),
        (
            {key: value for key, value in handoff_body().items() if key != "reason"},
            "body: missing field(s): reason",
        ),
    ]
    for body, message in invalid_bodies:
        response = await client.post(
            "/api/rasa/handoffs", json=body, headers=BOT_HEADERS
        )
        await assert_refused(response, 400, "invalid_request", message)


async def test_an_unknown_intent_may_be_null(client: Client) -> None:
    body = handoff_body(intent={"name": None, "confidence": None})

    response = await client.post("/api/rasa/handoffs", json=body, headers=BOT_HEADERS)

    assert response.status == 201


async def test_optional_fields_may_be_left_out(client: Client) -> None:
    body = handoff_body(transcript=[])
    for key in ("intent", "entities", "slots"):
        del body[key]

    response = await client.post("/api/rasa/handoffs", json=body, headers=BOT_HEADERS)

    assert response.status == 201


async def test_unknown_api_routes_answer_json(client: Client, tokens: Any) -> None:
    missing = await client.get("/api/nothing-here", headers=tokens["mina"])
    wrong_method = await client.delete("/api/handoffs", headers=tokens["mina"])

    await assert_refused(
        missing, 404, "not_found", "no such resource: /api/nothing-here"
    )
    await assert_refused(wrong_method, 405, "method_not_allowed", "Method Not Allowed")
