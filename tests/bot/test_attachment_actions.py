"""A customer shares a photo or a file: the bot offers a person once, a yes hands
off with the reason ``attachment``, and the agent's transcript names the file."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.attachments import ActionOfferAttachmentHelp
from actions.handoff_context import transcript
from actions.handoff_decision import decide_handoff
from bot.emotion_tracking import times_asked
from bot.message_attachments import (
    attachment_from,
    share_text,
    transcript_label,
)

PHOTO = {
    "id": "k3Yx",
    "media_type": "image/jpeg",
    "filename": "meter.jpg",
    "size_bytes": 52_000,
    "url": "/files/k3Yx?expires=1900000000&signature=s",
}
PDF = {**PHOTO, "media_type": "application/pdf", "filename": "bill.pdf"}


def shared(attachment: dict[str, Any]) -> dict[str, Any]:
    kind = "image" if attachment["media_type"].startswith("image/") else "document"
    return {
        "event": "user",
        "text": share_text(kind),
        "parse_data": {"intent": {"name": "share_attachment"}},
        "metadata": {"tandem_attachment": attachment},
    }


def said(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def bot(text: str, utter_action: str) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"utter_action": utter_action}}


def conversation(
    events: list[dict[str, Any]], active_loop: str | None = None
) -> Tracker:
    latest = events[-1] if events[-1]["event"] == "user" else {}
    return Tracker(
        "telegram:1",
        {"language": "ko", "attachment_kind": "image"},
        {"text": latest.get("text"), **(latest.get("parse_data") or {})},
        [{"event": "session_started"}, *events],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


async def offer(tracker: Tracker) -> tuple[list[str], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionOfferAttachmentHelp().run(dispatcher, tracker, {})
    return [message["response"] for message in dispatcher.messages], events


async def test_a_shared_photo_is_met_with_the_offer_of_a_person() -> None:
    responses, events = await offer(conversation([shared(PHOTO)]))

    assert responses == ["utter_offer_attachment_help"]
    assert events == []


async def test_more_files_while_the_offer_stands_are_taken_without_a_word() -> None:
    tracker = conversation(
        [
            shared(PHOTO),
            bot("사진 잘 받았어요…", "utter_offer_attachment_help"),
            shared(PDF),
        ]
    )

    assert await offer(tracker) == ([], [])


async def test_a_file_after_other_talk_is_offered_again() -> None:
    tracker = conversation(
        [
            shared(PHOTO),
            bot("사진 잘 받았어요…", "utter_offer_attachment_help"),
            said("요금 얼마예요?", "ask_bill"),
            bot("이번 달 요금은…", "utter_current_bill"),
            shared(PHOTO),
        ]
    )

    responses, _ = await offer(tracker)

    assert responses == ["utter_offer_attachment_help"]


async def test_a_file_in_the_middle_of_a_form_ends_the_form() -> None:
    tracker = conversation(
        [said("장애 있어요?", "ask_outage"), shared(PHOTO)], active_loop="outage_form"
    )

    responses, events = await offer(tracker)

    assert responses == ["utter_offer_attachment_help"]
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]


@pytest.mark.parametrize(
    ("before", "skill"),
    [([], "general"), ([said("이번 달 요금 얼마예요?", "ask_bill")], "billing")],
    ids=["no-subject", "about-the-bill"],
)
def test_yes_to_the_offer_hands_off_for_the_attachment(
    before: list[dict[str, Any]], skill: str
) -> None:
    tracker = conversation(
        [
            *before,
            shared(PHOTO),
            bot("사진 잘 받았어요…", "utter_offer_attachment_help"),
            said("네", "affirm"),
        ]
    )

    decision = decide_handoff(tracker)

    assert (decision.trigger, decision.reason) == ("explicit_request", "attachment")
    assert (decision.skill, decision.priority) == (skill, "normal")
    assert decision.opening_response is None


def test_the_agents_transcript_names_the_files_not_the_payload() -> None:
    tracker = conversation(
        [
            said("공유기 불이 깜빡여요", "report_internet_down"),
            shared(PHOTO),
            shared(PDF),
            # A description that is not one stays as it was written.
            {**shared(PHOTO), "metadata": {"tandem_attachment": {"id": 5}}},
        ]
    )

    texts = [turn["text"] for turn in transcript(tracker)]

    assert texts == [
        "공유기 불이 깜빡여요",
        "[photo: meter.jpg]",
        "[file: bill.pdf]",
        '/share_attachment{"attachment_kind":"image"}',
    ]


def test_several_photos_are_not_the_same_question_asked_again() -> None:
    earlier = [("share_attachment", share_text("image"))] * 4

    assert times_asked("share_attachment", share_text("image"), earlier) == 1


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({}, True),
        ({"media_type": "image/svg+xml"}, False),
        ({"url": "//evil.example.com/x"}, False),
        ({"url": "data:image/png;base64,AAAA"}, False),
        ({"size_bytes": True}, False),
        ({"id": ""}, False),
        ({"filename": 7}, False),
    ],
)
def test_only_a_well_formed_description_is_an_attachment(
    change: dict[str, Any], valid: bool
) -> None:
    attachment = attachment_from({**PHOTO, **change})

    assert (attachment is not None) is valid
    if attachment is not None:
        assert transcript_label(attachment) == "[photo: meter.jpg]"


def test_only_images_and_documents_are_shared() -> None:
    assert share_text("document") == '/share_attachment{"attachment_kind":"document"}'
    with pytest.raises(ValueError):
        share_text("video")
