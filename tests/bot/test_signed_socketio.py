"""The web chat's socket.io channel accepts only session ids the service signed.

The channel's handlers are driven directly on its python-socketio server, with a
connected client registered in the server's manager as a real connection would be.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered
from rasa.shared.exceptions import RasaException

from bot.signed_socketio import (
    LabelledSocketIOOutput,
    SignedSocketIOInput,
    session_signature,
)

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
    """The channel's server with one connected client, recording what it sends."""

    def __init__(self) -> None:
        self.channel = SignedSocketIOInput(session_persistence=True)
        self.received: list[UserMessage] = []
        self.channel.blueprint(self._on_new_message)
        server = self.channel.sio
        assert server is not None
        self.server = server
        self.sid = server.manager.connect("engine-io-client", "/")
        self.sent: list[tuple[str, Any, str]] = []
        server.emit = self._emit  # type: ignore[method-assign]

    async def _on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)

    async def _emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        self.sent.append((event, data, kwargs.get("room") or kwargs.get("to")))

    async def send(self, event: str, data: Any) -> None:
        await self.server.handlers["/"][event](self.sid, data)

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
