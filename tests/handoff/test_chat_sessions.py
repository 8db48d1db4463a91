"""Web chat session ids issued by the service, and the handle staff see instead."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, CHAT_SESSION_SECRET, handoff_body

from handoff.conversation import chat_session_limits
from handoff.conversation.chat_sessions import (
    issue_session_id,
    public_handle,
    session_signature,
)
from handoff.settings import Settings

Client = TestClient[web.Request, web.Application]

# The same vector is pinned in tests/bot/test_signed_socketio.py, where the bot's
# channel checks the signature: both sides must compute the same one.
PINNED_SIGNATURE = "wm0FVNR4R4LKSEmZ8-wCVmj4vETRkptHJJgBDPTmZJM"


def checks_out(secret: str, session_id: str) -> bool:
    nonce, _, signature = session_id.rpartition(".")
    mac = hmac.new(
        secret.encode(), b"tandem chat session id\n" + nonce.encode(), "sha256"
    )
    expected = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    return hmac.compare_digest(signature, expected)


def test_the_signature_is_the_one_the_bot_checks() -> None:
    assert session_signature("test-secret", "nonce") == PINNED_SIGNATURE


def test_issued_ids_are_random_and_signed_with_the_secret() -> None:
    ids = {issue_session_id("s") for _ in range(100)}

    assert len(ids) == 100
    for session_id in ids:
        nonce, _, _ = session_id.partition(".")
        # 24 random bytes: unguessable, and no two customers share an id.
        assert len(base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))) == 24
        assert checks_out("s", session_id)
        assert not checks_out("another secret", session_id)


async def test_the_chat_page_gets_a_signed_session_id(client: Client) -> None:
    first = await client.post("/api/chat/sessions")
    second = await client.post("/api/chat/sessions")

    assert first.status == second.status == 201
    issued = [(await first.json())["session_id"], (await second.json())["session_id"]]
    assert issued[0] != issued[1]
    assert all(checks_out(CHAT_SESSION_SECRET, session_id) for session_id in issued)


def test_the_public_handle_names_a_conversation_without_revealing_it() -> None:
    sender_id = issue_session_id("s")

    handle = public_handle(sender_id)

    assert handle == "c-" + hashlib.sha256(sender_id.encode()).hexdigest()[:12]
    assert handle == public_handle(sender_id)
    assert sender_id not in handle


async def test_staff_see_the_handle_and_never_the_sender_id(
    client: Client, tokens: Any
) -> None:
    sender_id = issue_session_id(CHAT_SESSION_SECRET)
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    handoff = await created.json()
    # The bot, which named the conversation, is answered its sender id.
    assert handoff["sender_id"] == sender_id

    listed = await client.get("/api/handoffs", headers=tokens["sora"])
    detail = await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["sora"])

    staff_sees = json.dumps([await listed.json(), await detail.json()])
    assert sender_id not in staff_sees
    assert (await detail.json())["conversation"] == public_handle(sender_id)
    assert "sender_id" not in (await detail.json())["context"]


class Clock:
    """The issuer's clock, moved by the test instead of by the machine's speed."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(chat_session_limits, "utcnow", clock)
    return clock


async def test_one_address_is_issued_only_so_many_ids_a_minute(
    client: Client, clock: Clock
) -> None:
    for _ in range(Settings.chat_sessions_per_address):
        assert (await client.post("/api/chat/sessions")).status == 201

    refused = await client.post("/api/chat/sessions")

    assert refused.status == 429
    assert await refused.json() == {
        "error": "too_many_requests",
        "message": "too many new chat sessions from this address; try again later",
        "retry_after_seconds": 60,
    }
    assert refused.headers["Retry-After"] == "60"


async def test_the_wait_named_is_until_the_oldest_id_leaves_the_minute(
    client: Client, clock: Clock
) -> None:
    assert (await client.post("/api/chat/sessions")).status == 201
    clock.advance(44.5)
    for _ in range(Settings.chat_sessions_per_address - 1):
        assert (await client.post("/api/chat/sessions")).status == 201

    refused = await client.post("/api/chat/sessions")
    assert refused.headers["Retry-After"] == "16"
    assert (await refused.json())["retry_after_seconds"] == 16

    clock.advance(15.5)
    assert (await client.post("/api/chat/sessions")).status == 201
