"""Who says a message, read from the metadata of its Rasa ``bot`` event."""

from __future__ import annotations

from typing import Any

import pytest

from bot.message_speakers import (
    MAX_NAME_LENGTH,
    Speaker,
    SpeakerKind,
    handoff_of,
    labelled_text,
    speaker_fields,
    speaker_of,
)


@pytest.mark.parametrize(
    ("metadata", "speaker"),
    [
        (
            {"agent": "Mina Kim", "tandem_message_id": 3},
            Speaker(SpeakerKind.AGENT, "Mina Kim"),
        ),
        ({"agent": "  Mina \n Kim "}, Speaker(SpeakerKind.AGENT, "Mina Kim")),
        ({"tandem_notice": True, "agent": "Mina Kim"}, Speaker(SpeakerKind.NOTICE)),
        ({"tandem_notice": True}, Speaker(SpeakerKind.NOTICE)),
        ({"tandem_notice": "yes"}, Speaker(SpeakerKind.BOT)),
        ({"agent": ""}, Speaker(SpeakerKind.BOT)),
        ({"agent": "   "}, Speaker(SpeakerKind.BOT)),
        ({"agent": {"name": "x"}}, Speaker(SpeakerKind.BOT)),
        ({"utter_action": "utter_greet"}, Speaker(SpeakerKind.BOT)),
        ({}, Speaker(SpeakerKind.BOT)),
    ],
)
def test_the_speaker_of_a_message(metadata: dict[str, Any], speaker: Speaker) -> None:
    assert speaker_of(metadata) == speaker


def test_a_long_name_is_cut_to_what_the_service_allows() -> None:
    speaker = speaker_of({"agent": "가" * 500})
    assert speaker.name == "가" * MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("metadata", "handoff"),
    [
        ({"handoff_status": "queued"}, {"status": "queued"}),
        ({"handoff_status": "queued", "agent": "Mina"}, {"status": "queued"}),
        (
            {"handoff_status": "assigned", "agent": "Mina Kim"},
            {"status": "assigned", "agent": "Mina Kim"},
        ),
        ({"handoff_status": "assigned"}, {"status": "assigned"}),
        ({"handoff_status": "resolved"}, None),
        ({"handoff_status": ["queued"]}, None),
        ({}, None),
    ],
)
def test_where_the_customer_stands(
    metadata: dict[str, Any], handoff: dict[str, str] | None
) -> None:
    assert handoff_of(metadata) == handoff


def test_the_fields_the_web_chat_gets() -> None:
    assert speaker_fields({"agent": "Mina Kim", "tandem_message_id": 1}) == {
        "sender": {"kind": "agent", "name": "Mina Kim"}
    }
    assert speaker_fields({"tandem_notice": True, "handoff_status": "queued"}) == {
        "sender": {"kind": "notice"},
        "handoff": {"status": "queued"},
    }
    assert speaker_fields({}) == {"sender": {"kind": "bot"}}


@pytest.mark.parametrize(
    ("metadata", "text"),
    [
        ({"agent": "민아", "tandem_message_id": 1}, "민아: 확인해 드릴게요."),
        ({"agent": "Mina Kim"}, "Mina Kim: 확인해 드릴게요."),
        ({"tandem_notice": True, "agent": "민아"}, "확인해 드릴게요."),
        ({}, "확인해 드릴게요."),
    ],
)
def test_a_channel_without_labels_puts_the_agents_name_first(
    metadata: dict[str, Any], text: str
) -> None:
    assert labelled_text("확인해 드릴게요.", metadata) == text
