"""The web chat's socket.io channel accepts only session ids the service signed.

The channel's handlers are driven directly on its python-socketio server, with a
connected client registered in the server's manager as a real connection would be.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered
from rasa.shared.exceptions import RasaException

from bot import signed_socketio
from bot.channels.delivery import DeliveryFailed
from bot.message_rate import MessageRate
from bot.redis_message_rate import RedisMessageRate
from bot.resent_messages import RESENT_KEY
from bot.signed_socketio import (
    LabelledSocketIOOutput,
    SignedSocketIOInput,
    session_signature,
)
from bot.web_chat_turns import TROUBLE
from tests.bot.lock_schedules import REDIS_URL
from tests.bot.redis_fixtures import client, prefix

SECRET = "test-secret"
# The same vector is pinned in tests/handoff/test_chat_sessions.py, where the
# service signs: both sides must compute the same signature.
PINNED_SIGNATURE = "wm0FVNR4R4LKSEmZ8-wCVmj4vETRkptHJJgBDPTmZJM"

NOT_ISSUED = {
    "reason": "session_not_issued",
    "message": "This chat session id was not issued by the service; "
    "ask POST /api/chat/sessions for a new one.",
}
MISSING = {
    "reason": "session_missing",
    "message": "A chat session id issued by POST /api/chat/sessions is needed.",
}


class Harness:
    """The channel's server with one connected client, recording what it sends; the
    client confirms what is sent with a callback, unless told not to, and Rasa
    fails every message while ``failure`` is set."""

    def __init__(self) -> None:
        self.channel = SignedSocketIOInput(session_persistence=True)
        self.received: list[UserMessage] = []
        self.confirming = True
        self.failure: Exception | None = None
        self.options: list[dict[str, Any]] = []
        # While set, a turn waits for it, as one still running would.
        self.hold: asyncio.Event | None = None
        self.blueprint = self.channel.blueprint(self._on_new_message)
        server = self.channel.sio
        assert server is not None
        self.server = server
        self.sid = server.manager.connect("engine-io-client", "/")
        self.sent: list[tuple[str, Any, str]] = []
        server.emit = self._emit  # type: ignore[method-assign]

    async def _on_new_message(self, message: UserMessage) -> None:
        if self.hold is not None:
            await self.hold.wait()
        if self.failure is not None:
            raise self.failure
        self.received.append(message)

    def listener(self, event: str) -> Any:
        (found,) = [
            future.listener
            for future in self.blueprint._future_listeners
            if future.event == event
        ]
        return found

    async def _emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        self.sent.append((event, data, kwargs.get("room") or kwargs.get("to")))
        self.options.append(kwargs)
        callback = kwargs.get("callback")
        if callback is not None and self.confirming:
            callback()

    async def send(self, event: str, data: Any) -> Any:
        return await self.server.handlers["/"][event](self.sid, data)

    def rooms(self) -> list[str]:
        return list(self.server.rooms(self.sid))


def issued(nonce: str = "a" * 32) -> str:
    return f"{nonce}.{session_signature(SECRET, nonce)}"


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    return Harness()


def test_the_signature_is_the_one_the_service_computes() -> None:
    assert session_signature(SECRET, "nonce") == PINNED_SIGNATURE


async def test_an_issued_id_is_confirmed_and_its_messages_reach_the_bot(
    harness: Harness,
) -> None:
    session_id = issued()

    await harness.send("session_request", {"session_id": session_id})
    await harness.send("user_uttered", {"message": "hi", "session_id": session_id})

    assert harness.sent == [("session_confirm", session_id, harness.sid)]
    assert session_id in harness.rooms()
    assert [(m.text, m.sender_id) for m in harness.received] == [("hi", session_id)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"session_id": "0123456789abcdef0123456789abcdef"}, NOT_ISSUED),
        ({"session_id": f"{'a' * 32}.{'b' * 43}"}, NOT_ISSUED),
        (
            {"session_id": f"{'b' * 32}.{session_signature(SECRET, 'a' * 32)}"},
            NOT_ISSUED,
        ),
        (
            {"session_id": f"{'a' * 32}.{session_signature('other', 'a' * 32)}"},
            NOT_ISSUED,
        ),
        ({"session_id": f".{session_signature(SECRET, '')}"}, NOT_ISSUED),
        ({"session_id": None}, MISSING),
        ({}, MISSING),
        (None, MISSING),
        ({"session_id": 7}, MISSING),
    ],
)
async def test_a_session_request_without_an_issued_id_is_refused(
    harness: Harness, data: Any, expected: dict[str, str]
) -> None:
    await harness.send("session_request", data)

    assert harness.sent == [("session_refused", expected, harness.sid)]
    # Rasa's handler would have made up an id, or joined the named conversation.
    assert harness.rooms() == [harness.sid]


async def test_a_message_with_a_forged_id_never_reaches_the_bot(
    harness: Harness,
) -> None:
    victim = issued()
    await harness.send("session_request", {"session_id": victim})
    harness.sent.clear()

    forged = victim[:-1] + ("A" if victim[-1] != "A" else "B")
    await harness.send("user_uttered", {"message": "my bill", "session_id": forged})
    await harness.send("user_uttered", {"message": "my bill"})

    assert harness.received == []
    assert harness.sent == [
        ("session_refused", NOT_ISSUED, harness.sid),
        ("session_refused", MISSING, harness.sid),
    ]


def test_the_channel_does_not_start_without_its_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TANDEM_CHAT_SESSION_SECRET", raising=False)

    with pytest.raises(RasaException, match="TANDEM_CHAT_SESSION_SECRET must be set"):
        SignedSocketIOInput(session_persistence=True)


def test_the_channel_needs_session_persistence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)

    with pytest.raises(RasaException, match="needs session_persistence: true"):
        SignedSocketIOInput(session_persistence=False)


def test_credentials_name_the_channel_by_module_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    from rasa.core.run import create_http_input_channels

    channels = create_http_input_channels(None, "credentials.yml")

    signed = [c for c in channels if isinstance(c, SignedSocketIOInput)]
    assert len(signed) == 1 and signed[0].name() == "socketio"


async def test_what_the_service_sends_says_who_speaks(harness: Harness) -> None:
    output = harness.channel.get_output_channel()
    assert isinstance(output, LabelledSocketIOOutput)
    conversation = issued()

    for event in (
        BotUttered(
            "안녕하세요, 상담원 민아입니다.",
            metadata={"agent": "Mina Kim", "tandem_message_id": 7},
        ),
        BotUttered(
            "상담원 Mina Kim님이 연결되었습니다.",
            metadata={
                "tandem_notice": True,
                "handoff_status": "assigned",
                "agent": "Mina Kim",
            },
        ),
        BotUttered(
            "지금 대기 순서는 2번째입니다.",
            metadata={"tandem_notice": True},
        ),
    ):
        await output.send_response(conversation, event.message())

    assert harness.sent == [
        (
            "bot_uttered",
            {
                "text": "안녕하세요, 상담원 민아입니다.",
                "sender": {"kind": "agent", "name": "Mina Kim"},
                "message_id": 7,
            },
            conversation,
        ),
        (
            "bot_uttered",
            {
                "text": "상담원 Mina Kim님이 연결되었습니다.",
                "sender": {"kind": "notice"},
                "handoff": {"status": "assigned", "agent": "Mina Kim"},
            },
            conversation,
        ),
        (
            "bot_uttered",
            {"text": "지금 대기 순서는 2번째입니다.", "sender": {"kind": "notice"}},
            conversation,
        ),
    ]


async def test_the_bots_own_messages_say_so_in_every_shape(harness: Harness) -> None:
    output = harness.channel.get_output_channel()
    assert output is not None
    buttons = [{"title": "네", "payload": "/affirm"}]

    await output.send_response(
        "c",
        BotUttered("첫 문단\n\n둘째 문단", metadata={"utter_action": "x"}).message(),
    )
    await output.send_response(
        "c",
        BotUttered(
            "상담원에게 연결해 드릴게요.",
            data={"buttons": buttons},
            metadata={
                "utter_action": "utter_handoff_queued",
                "handoff_status": "queued",
            },
        ).message(),
    )
    await output.send_response(
        "c", {"text": "골라 주세요", "quick_replies": buttons, "utter_action": "x"}
    )
    await output.send_response("c", {"image": "https://example.com/a.png"})

    bot = {"kind": "bot"}
    chip = {"content_type": "text", "title": "네", "payload": "/affirm"}
    assert [data for _, data, _ in harness.sent] == [
        {"text": "첫 문단", "sender": bot},
        {"text": "둘째 문단", "sender": bot},
        {
            "text": "상담원에게 연결해 드릴게요.",
            "quick_replies": [chip],
            "sender": bot,
            "handoff": {"status": "queued"},
        },
        {"text": "골라 주세요", "quick_replies": [chip], "sender": bot},
        {
            "attachment": {
                "type": "image",
                "payload": {"src": "https://example.com/a.png"},
            },
            "sender": bot,
        },
    ]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"language": "ko"}, {"language": "ko"}),
        ('{"language": "en"}', {"language": "en"}),
        ("not json", {}),
        ("[1, 2]", {}),
        (None, {}),
        (7, {}),
    ],
)
async def test_the_customers_turn_is_answered_through_the_labelled_output(
    harness: Harness, metadata: Any, expected: dict[str, Any]
) -> None:
    conversation = issued()

    await harness.send(
        "user_uttered",
        {"message": "hi", "session_id": conversation, "metadata": metadata},
    )

    [message] = harness.received
    assert (message.text, message.sender_id) == ("hi", conversation)
    assert isinstance(message.output_channel, LabelledSocketIOOutput)
    assert message.input_channel == "socketio"
    assert message.metadata == expected


# ---------------------------------------------------------------- what a message may be


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"message": 42}, "invalid_message"),
        ({"message": ["hi"]}, "invalid_message"),
        ({"message": "   "}, "empty_message"),
        ({}, "empty_message"),
        ({"message": "가" * 2001}, "message_too_long"),
        ({"message": "hi", "metadata": {"blob": "x" * 9000}}, "metadata_too_large"),
    ],
)
async def test_a_payload_that_is_no_message_is_refused_and_never_reaches_the_bot(
    harness: Harness, data: dict[str, Any], reason: str
) -> None:
    session_id = issued()
    await harness.send("session_request", {"session_id": session_id})
    harness.sent.clear()

    answer = await harness.send("user_uttered", {**data, "session_id": session_id})

    assert harness.received == []
    assert (answer["ok"], answer["error"]) == (False, reason)
    assert "/" in answer["message"]  # in Korean and English, as the page shows it
    assert harness.sent == []


async def test_a_message_of_the_pages_longest_reaches_the_bot(harness: Harness) -> None:
    session_id = issued()

    answer = await harness.send(
        "user_uttered", {"message": "가" * 2000, "session_id": session_id}
    )

    assert answer == {"ok": True}
    assert [m.text for m in harness.received] == ["가" * 2000]


async def test_messages_over_the_customers_rate_are_refused_with_the_wait(
    harness: Harness,
) -> None:
    session_id, other = issued(), issued("b" * 32)
    harness.channel.rate = MessageRate(per_minute=6, burst=3, clock=lambda: 100.0)

    answers = [
        await harness.send(
            "user_uttered", {"message": f"m{number}", "session_id": session_id}
        )
        for number in range(5)
    ]
    await harness.send("user_uttered", {"message": "mine", "session_id": other})

    assert [m.text for m in harness.received] == ["m0", "m1", "m2", "mine"]
    assert [answer["ok"] for answer in answers] == [True, True, True, False, False]
    assert [(a["error"], a["retry_after"]) for a in answers[3:]] == [
        ("rate_limited", 10),
        ("rate_limited", 10),
    ]


@pytest.mark.redis
async def test_a_page_reconnected_to_another_server_keeps_its_rate(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    monkeypatch.setenv("TANDEM_CHANNEL_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TANDEM_CHANNEL_REDIS_PREFIX", prefix)
    monkeypatch.setenv("TANDEM_CUSTOMER_MESSAGE_BURST", "2")
    monkeypatch.setenv("TANDEM_CUSTOMER_MESSAGES_PER_MINUTE", "1")
    first, second = Harness(), Harness()
    rates = [first.channel.rate, second.channel.rate]
    assert all(isinstance(rate, RedisMessageRate) for rate in rates)
    session_id = issued()

    try:
        answers = [
            await server.send(
                "user_uttered", {"message": f"m{number}", "session_id": session_id}
            )
            for number, server in enumerate([first, second, first])
        ]
    finally:
        for rate in rates:
            assert isinstance(rate, RedisMessageRate)
            await rate.client.close()

    assert [m.text for m in first.received + second.received] == ["m0", "m1"]
    assert [answer["ok"] for answer in answers] == [True, True, False]
    # A minute less what Redis's clock saw pass since the first message.
    assert 58 <= answers[2]["retry_after"] <= 60


AGENT_FILE = {
    "id": "f1",
    "media_type": "application/pdf",
    "filename": "guide.pdf",
    "size_bytes": 2048,
    "url": "/files/f1?expires=1900000000&signature=abc",
}


async def test_a_handled_message_is_acknowledged_with_the_pages_own_id(
    harness: Harness,
) -> None:
    session_id = issued()

    answer = await harness.send(
        "user_uttered",
        {"message": "hi", "session_id": session_id, "message_id": "page-0001-abcd"},
    )

    assert answer == {"ok": True}
    (message,) = harness.received
    assert message.message_id == "page-0001-abcd"
    assert RESENT_KEY not in message.metadata


@pytest.mark.parametrize("message_id", ["short", "with space 123", "x" * 65, 7])
async def test_an_unusable_page_id_is_left_for_rasa_to_make_one(
    harness: Harness, message_id: object
) -> None:
    await harness.send(
        "user_uttered",
        {
            "message": "hi",
            "session_id": issued(),
            "message_id": message_id,
            "resent": True,
        },
    )

    (message,) = harness.received
    assert message.message_id != message_id
    # Without its id a message cannot be looked for, so it is not marked resent.
    assert RESENT_KEY not in message.metadata


async def test_a_message_sent_again_says_so(harness: Harness) -> None:
    await harness.send(
        "user_uttered",
        {
            "message": "hi",
            "session_id": issued(),
            "message_id": "page-0001-abcd",
            "resent": True,
        },
    )

    assert harness.received[0].metadata[RESENT_KEY] is True


@pytest.mark.parametrize(
    ("text", "apology"),
    [
        ("요금이 이상해요", TROUBLE["ko"]),
        ("my bill is wrong", TROUBLE["en"]),
        ("1234", TROUBLE["ko"]),
    ],
)
async def test_a_message_that_fails_is_answered_with_an_apology(
    harness: Harness, text: str, apology: str
) -> None:
    harness.failure = LockError("Could not queue for the lock: Connection refused")

    answer = await harness.send(
        "user_uttered", {"message": text, "session_id": issued()}
    )

    assert answer == {"ok": False, "error": "unavailable"}
    assert harness.sent == [
        (
            "bot_uttered",
            {"text": apology, "sender": {"kind": "notice"}, "trouble": True},
            harness.sid,
        )
    ]
    # Straight to the socket, which is on this server: not through Redis.
    assert harness.options[0]["ignore_queue"] is True


async def test_a_refused_message_is_answered_so(harness: Harness) -> None:
    answer = await harness.send("user_uttered", {"message": "hi"})

    assert answer == {"ok": False, "error": "session_missing"}


async def test_an_agent_reply_no_page_confirms_fails_for_the_service_to_record(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signed_socketio, "AGENT_REPLY_ACK_SECONDS", 0.05)
    output = harness.channel.get_output_channel()
    assert output is not None
    harness.confirming = False

    with pytest.raises(DeliveryFailed) as failed:
        await output.send_response(
            issued(),
            BotUttered(
                "안녕하세요", metadata={"agent": "Mina Kim", "tandem_message_id": 9}
            ).message(),
        )

    assert str(failed.value).startswith("tandem-delivery-failed:web:timeout:transient:")


async def test_what_the_bot_and_the_service_notices_say_waits_for_no_one(
    harness: Harness,
) -> None:
    output = harness.channel.get_output_channel()
    assert output is not None
    harness.confirming = False

    await output.send_response("c", BotUttered("안녕하세요").message())
    await output.send_response(
        "c", BotUttered("대기 중입니다", metadata={"tandem_notice": True}).message()
    )

    assert [options.get("callback") for options in harness.options] == [None, None]


async def test_an_agents_file_goes_to_the_page_with_the_reply(harness: Harness) -> None:
    output = harness.channel.get_output_channel()
    assert output is not None
    agent = {"agent": "Mina Kim", "tandem_message_id": 8}

    await output.send_response(
        "c",
        BotUttered(
            "안내서예요\n\n3쪽을 보세요",
            metadata={**agent, "tandem_attachment": AGENT_FILE},
        ).message(),
    )
    await output.send_response(
        "c",
        BotUttered(
            "guide.pdf",
            metadata={
                **agent,
                "tandem_message_id": 9,
                "tandem_attachment": {**AGENT_FILE, "url": "//x"},
            },
        ).message(),
    )

    mina = {"kind": "agent", "name": "Mina Kim"}
    assert [data for _, data, _ in harness.sent] == [
        # An agent's reply is one bubble, which the page confirms, with its file.
        {
            "text": "안내서예요\n\n3쪽을 보세요",
            "sender": mina,
            "tandem_attachment": AGENT_FILE,
            "message_id": 8,
        },
        # A description that is not a file's is left out, the text goes.
        {"text": "guide.pdf", "sender": mina, "message_id": 9},
    ]


@pytest.mark.parametrize(
    ("attachment", "kept"),
    [
        (AGENT_FILE, True),
        ({**AGENT_FILE, "media_type": "text/html"}, False),
        ({**AGENT_FILE, "url": "javascript:alert(1)"}, False),
        ({**AGENT_FILE, "size_bytes": "2048"}, False),
        ("f1", False),
    ],
    ids=["file", "other-type", "script-url", "size-text", "not-an-object"],
)
async def test_a_customers_file_reaches_the_bot_only_as_a_file_description(
    harness: Harness, attachment: Any, kept: bool
) -> None:
    conversation = issued()

    await harness.send(
        "user_uttered",
        {
            "message": '/share_attachment{"attachment_kind": "document"}',
            "session_id": conversation,
            "metadata": {"language": "ko", "tandem_attachment": attachment},
        },
    )

    [message] = harness.received
    expected: dict[str, Any] = {"language": "ko"}
    if kept:
        expected["tandem_attachment"] = attachment
    assert message.metadata == expected


async def test_a_stopping_server_finishes_the_turns_under_way_first(
    harness: Harness,
) -> None:
    harness.hold = asyncio.Event()
    turn = asyncio.create_task(
        harness.send("user_uttered", {"message": "hi", "session_id": issued()})
    )
    await asyncio.sleep(0.05)

    stopping = asyncio.create_task(harness.listener("before_server_stop")(None, None))
    await asyncio.sleep(0.2)
    waited = not stopping.done()
    harness.hold.set()

    # Only then may Sanic close the sockets: the acknowledgement went out.
    assert await turn == {"ok": True}
    await asyncio.wait_for(stopping, 5)
    assert waited


async def test_a_stopping_server_waits_for_a_reply_to_be_confirmed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signed_socketio, "AGENT_REPLY_ACK_SECONDS", 0.5)
    harness.confirming = False
    output = harness.channel.get_output_channel()
    assert output is not None
    reply = asyncio.create_task(
        output.send_response(
            issued(),
            BotUttered(
                "네", metadata={"agent": "Mina Kim", "tandem_message_id": 3}
            ).message(),
        )
    )
    await asyncio.sleep(0.05)

    await harness.listener("before_server_stop")(None, None)

    # The reply ran its course (unconfirmed here) before the stop went on.
    assert reply.done()
    assert isinstance(reply.exception(), DeliveryFailed)


# Imported fixtures, which pytest finds here.
__all__ = ["client", "prefix"]
