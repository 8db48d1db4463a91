"""The live feed across two service instances on one PostgreSQL database: what
one instance publishes reaches the consoles connected to the other, once, to
the same audience, and the feed recovers when its listening connection dies."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType, web
from aiohttp.test_utils import TestClient
from conftest import Team
from handoff_testing import (
    BOT_HEADERS,
    assert_refused,
    expect_ready,
    handoff_body,
    user_event,
)
from postgres_databases import fresh_postgres_database
from pytest_aiohttp import AiohttpClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from handoff.app import create_app
from handoff.app_keys import LIVE_FEED
from handoff.realtime.feed_relay import (
    APPLICATION_NAME,
    MAX_PAYLOAD_BYTES,
    MissingPieces,
    Piece,
    PieceAssembler,
    PostgresFeedRelay,
    split_utf8,
)
from handoff.realtime.live_feed import EVERYONE, LiveFeed
from handoff.settings import Settings

Client = TestClient[web.Request, web.Application]
Tokens = dict[str, dict[str, str]]
Socket = ClientWebSocketResponse


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def instances(
    settings: Settings, engine: AsyncEngine, aiohttp_client: AiohttpClient
) -> tuple[Client, Client]:
    """Instances A and B of the service, as if behind one load balancer."""
    # Asked for after the database, so that the servers stop before it goes.
    first = await aiohttp_client(create_app(settings, run_sweeper=False))
    second = await aiohttp_client(create_app(settings, run_sweeper=False))
    return first, second


async def connect(instance: Client, headers: dict[str, str]) -> Socket:
    token = headers["Authorization"].removeprefix("Bearer ")
    socket = await instance.ws_connect(f"/api/ws?token={token}")
    await expect_ready(socket)
    return socket


async def nothing_more(instances: tuple[Client, Client], *sockets: Socket) -> None:
    """No socket has a frame left over, duplicates included.

    A marker is published on each instance. Frames reach another instance in
    the order they were committed, and an instance's own frames are delivered
    before it publishes the next, so any duplicate or leaked frame published
    before the markers would arrive before both of them.
    """
    markers = []
    for instance in instances:
        marker = {"type": "test.marker", "id": uuid.uuid4().hex}
        await instance.app[LIVE_FEED].publish(marker)
        markers.append(marker)
    for socket in sockets:
        seen = []
        while len(seen) < len(markers):
            frame = await socket.receive_json(timeout=10)
            assert frame in markers, f"unexpected frame {frame}"
            seen.append(frame)
        assert sorted(marker["id"] for marker in seen) == sorted(
            marker["id"] for marker in markers
        )


@pytest.mark.postgres
async def test_a_message_ingested_on_one_instance_reaches_the_other_once(
    instances: tuple[Client, Client], tokens: Tokens
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    sora_on_b = await connect(b, tokens["sora"])

    created = await b.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    assert created.status == 201
    announced = await sora_on_b.receive_json(timeout=10)
    assert announced["type"] == "handoff.created"
    assert await mina_on_a.receive_json(timeout=10) == announced

    await b.post(
        "/api/rasa/events", json={"events": [user_event()]}, headers=BOT_HEADERS
    )
    message = await sora_on_b.receive_json(timeout=10)
    assert message["type"] == "message.created"
    assert message["message"]["text"] == user_event()["text"]
    assert await mina_on_a.receive_json(timeout=10) == message

    await nothing_more(instances, mina_on_a, sora_on_b)


@pytest.mark.postgres
async def test_a_claim_on_one_instance_updates_the_queue_on_the_other(
    instances: tuple[Client, Client], tokens: Tokens
) -> None:
    a, b = instances
    created = await b.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    mina_on_a = await connect(a, tokens["mina"])

    claimed = await b.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["joon"])
    assert claimed.status == 200
    assert await mina_on_a.receive_json(timeout=10) == {
        "type": "handoff.updated",
        "handoff": await claimed.json(),
    }
    await nothing_more(instances, mina_on_a)


@pytest.mark.postgres
async def test_a_frame_larger_than_a_notification_crosses_whole(
    instances: tuple[Client, Client], tokens: Tokens
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    sora_on_b = await connect(b, tokens["sora"])
    # Korean text is three bytes a character: this transcript is about 26 kB.
    transcript = [
        {
            "role": "user" if index % 2 == 0 else "bot",
            "text": f"{index}번째 메시지: " + "요금이 왜 이렇게 많이 나왔나요" * 110,
            "timestamp": 1732290000.0 + index,
        }
        for index in range(5)
    ]

    created = await b.post(
        "/api/rasa/handoffs",
        json=handoff_body(transcript=transcript),
        headers=BOT_HEADERS,
    )
    assert created.status == 201

    local = await sora_on_b.receive_json(timeout=10)
    assert local["handoff"]["context"]["transcript"] == transcript
    assert len(json.dumps(local, ensure_ascii=False).encode()) > 3 * 8000
    assert await mina_on_a.receive_json(timeout=10) == local
    await nothing_more(instances, mina_on_a, sora_on_b)


@pytest.mark.postgres
async def test_another_agents_conversation_does_not_leak_across_instances(
    instances: tuple[Client, Client], tokens: Tokens, team: Team
) -> None:
    a, b = instances
    created = await b.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    claimed = await b.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    assert claimed.status == 200
    mina_on_a = await connect(a, tokens["mina"])
    joon_on_a = await connect(a, tokens["joon"])
    sora_on_a = await connect(a, tokens["sora"])
    joon_on_b = await connect(b, tokens["joon"])

    await b.post(
        "/api/rasa/events", json={"events": [user_event()]}, headers=BOT_HEADERS
    )

    for allowed in (mina_on_a, sora_on_a):
        frame = await allowed.receive_json(timeout=10)
        assert frame["type"] == "message.created"
        assert frame["handoff_id"] == handoff_id
    # Agents other than the assignee get neither the message nor anything else.
    await nothing_more(instances, mina_on_a, joon_on_a, sora_on_a, joon_on_b)


@pytest.mark.postgres
async def test_signing_out_on_one_instance_closes_the_socket_on_the_other(
    instances: tuple[Client, Client], tokens: Tokens
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    joon_on_a = await connect(a, tokens["joon"])
    # A has just verified the token and would trust it for a moment.
    assert (await a.get("/api/agents/me", headers=tokens["mina"])).status == 200

    logout = await b.post("/api/auth/logout", headers=tokens["mina"])
    assert logout.status == 204

    closing = await mina_on_a.receive(timeout=10)
    assert closing.type is WSMsgType.CLOSE
    assert closing.data == 4401
    # The relay's word reached A's verified tokens with the socket: refused at once.
    await assert_refused(
        await a.get("/api/agents/me", headers=tokens["mina"]),
        401,
        "unauthorized",
        "the token is unknown or has expired",
    )
    assert not joon_on_a.closed
    await nothing_more(instances, joon_on_a)


@pytest.mark.postgres
async def test_deactivating_on_one_instance_closes_every_socket_on_the_other(
    instances: tuple[Client, Client], tokens: Tokens, team: Team
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    joon_on_a = await connect(a, tokens["joon"])

    response = await b.patch(
        f"/api/agents/{team.mina.id}", json={"active": False}, headers=tokens["sora"]
    )
    assert response.status == 200

    message = await mina_on_a.receive(timeout=10)
    assert message.type is WSMsgType.CLOSE
    assert message.data == 4401
    assert not joon_on_a.closed


@pytest.mark.postgres
async def test_the_listener_reconnects_and_consoles_resync(
    instances: tuple[Client, Client], tokens: Tokens, engine: AsyncEngine
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    sora_on_b = await connect(b, tokens["sora"])

    async with engine.connect() as connection:
        terminated = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
                " AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        )
    assert terminated == 2

    # Each instance listens again and tells its consoles to reload.
    for socket in (mina_on_a, sora_on_b):
        assert await socket.receive_json(timeout=15) == {"type": "feed.resync"}
    created = await b.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    frame = await mina_on_a.receive_json(timeout=10)
    assert frame["type"] == "handoff.created"
    assert frame["handoff"]["id"] == (await created.json())["id"]
    await sora_on_b.receive_json(timeout=10)
    await nothing_more(instances, mina_on_a, sora_on_b)


@pytest.mark.postgres
async def test_a_frame_that_could_not_be_sent_makes_the_others_resync(
    instances: tuple[Client, Client],
    tokens: Tokens,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, _ = instances
    mina_on_a = await connect(a, tokens["mina"])
    # A sender whose only database connection is taken, as under heavy load.
    engine = create_async_engine(
        database_url, pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    sender = PostgresFeedRelay(LiveFeed(), engine)
    try:
        async with engine.connect():
            await sender.forward({"type": "test.lost"}, EVERYONE)
        assert "not passed to the other instances" in caplog.text
        await sender.forward({"type": "test.after"}, EVERYONE)
    finally:
        await engine.dispose()

    assert await mina_on_a.receive_json(timeout=10) == {"type": "feed.resync"}
    assert await mina_on_a.receive_json(timeout=10) == {"type": "test.after"}
    await nothing_more(instances, mina_on_a)


@pytest.mark.postgres
async def test_frames_from_the_other_instance_keep_their_order(
    instances: tuple[Client, Client], tokens: Tokens
) -> None:
    a, b = instances
    mina_on_a = await connect(a, tokens["mina"])
    await b.post("/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS)
    await mina_on_a.receive_json(timeout=10)

    texts = [f"메시지 {index}" for index in range(30)]
    for index, message in enumerate(texts):
        await b.post(
            "/api/rasa/events",
            json={"events": [user_event(text=message, timestamp=1732290100 + index)]},
            headers=BOT_HEADERS,
        )
    received = [
        (await mina_on_a.receive_json(timeout=10))["message"]["text"] for _ in texts
    ]
    assert received == texts


def test_pieces_stay_under_the_limit_and_never_split_a_character() -> None:
    body = "상담원" * 5000 + "abc" + "😀" * 3000
    pieces = split_utf8(body, MAX_PAYLOAD_BYTES)
    assert "".join(pieces) == body
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= MAX_PAYLOAD_BYTES for piece in pieces)
    assert split_utf8("", MAX_PAYLOAD_BYTES) == [""]


def test_an_envelope_that_breaks_off_is_reported() -> None:
    assembler = PieceAssembler()
    assert assembler.add(Piece.parse('i1 0 0 2 {"a":')) is None
    assert assembler.add(Piece.parse("i1 0 1 2 1}")) == '{"a":1}'
    assert assembler.add(Piece.parse("i1 1 0 3 [")) is None
    with pytest.raises(MissingPieces):
        assembler.add(Piece.parse("i2 0 0 1 {}"))
    # After the report it starts afresh.
    assert assembler.add(Piece.parse("i2 1 0 1 {}")) == "{}"
    with pytest.raises(MissingPieces):
        assembler.add(Piece.parse("i2 2 1 2 }"))
    with pytest.raises(ValueError):
        Piece.parse("i2 3 2 2 x")
