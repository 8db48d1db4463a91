"""What the messaging channels share: sender ids, delivery failures and retries,
redeliveries, text pieces, options and the state kept across restarts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.channel_state import FileChannelState, ReplyOption
from bot.channels.delivery import (
    MAX_RETRY_AFTER_SECONDS,
    DeliveryFailed,
    TransientFailure,
    customer_text,
    is_service_push,
    report_failures,
    send_with_retry,
)
from bot.channels.incoming import chosen_option, reply_options, typed_text
from bot.channels.redelivery import SeenUpdates
from bot.channels.sender_ids import (
    CHANNELS,
    WEB,
    channel_of,
    platform_user,
    sender_id,
)
from bot.channels.text_parts import split_text, utf16_units
from tests.bot.channel_testing import NoWait

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- sender ids


def test_a_sender_id_names_its_channel_and_the_platforms_user() -> None:
    assert sender_id("telegram", "424242") == "telegram:424242"
    assert sender_id("whatsapp", "+821012345678") == "whatsapp:+821012345678"
    assert channel_of("sms:+821012345678") == "sms"
    assert platform_user("whatsapp:+821012345678") == "+821012345678"
    with pytest.raises(ValueError):
        sender_id("fax", "1")
    with pytest.raises(ValueError):
        sender_id("telegram", "")


@pytest.mark.parametrize(
    "web_sender",
    ["Zm9vYmFy.c2lnbmF0dXJl", "telegram:", "facebook:123", "", "c0ffee", ":x"],
)
def test_anything_without_a_known_prefix_is_the_web_chat(web_sender: str) -> None:
    assert channel_of(web_sender) == WEB
    with pytest.raises(ValueError):
        platform_user(web_sender)


def test_the_channels_are_the_service_documents_channel_enum() -> None:
    document = yaml.safe_load((ROOT / "handoff" / "openapi.yaml").read_text("utf-8"))
    documented = document["components"]["schemas"]["Channel"]["enum"]

    assert sorted(documented) == sorted([WEB, *CHANNELS])


# ---------------------------------------------------------------- failures


def test_a_failure_says_what_the_service_recognises() -> None:
    failure = DeliveryFailed("whatsapp", "window_closed", permanent=True, detail="24 h")

    assert (
        str(failure) == "tandem-delivery-failed:whatsapp:window_closed:permanent: 24 h"
    )
    assert str(DeliveryFailed("telegram", "timeout", permanent=False)).startswith(
        "tandem-delivery-failed:telegram:timeout:transient:"
    )
    with pytest.raises(ValueError):
        DeliveryFailed("sms", "lost in the mail", permanent=True)


class Attempts:
    """A send that fails with the given errors, then answers "sent"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


def transient(retry_after: float | None = None) -> TransientFailure:
    return TransientFailure("sms", "platform_error", "Twilio 503", retry_after)


async def test_transient_failures_are_retried_with_growing_delays() -> None:
    send, sleep = Attempts(transient(), transient()), NoWait()

    assert (
        await send_with_retry(send, attempts=3, base_delay=0.5, sleep=sleep) == "sent"
    )

    assert send.calls == 3
    assert 0.375 <= sleep.delays[0] <= 0.5
    assert 0.75 <= sleep.delays[1] <= 1.0


async def test_the_platforms_retry_after_is_waited() -> None:
    send, sleep = Attempts(transient(retry_after=3)), NoWait()

    await send_with_retry(send, sleep=sleep)

    assert sleep.delays == [3.0]


async def test_after_the_last_attempt_the_failure_is_transient() -> None:
    send, sleep = Attempts(transient(), transient(), transient()), NoWait()

    with pytest.raises(DeliveryFailed) as failed:
        await send_with_retry(send, attempts=3, sleep=sleep)

    assert (failed.value.channel, failed.value.reason) == ("sms", "platform_error")
    assert failed.value.permanent is False
    assert send.calls == 3
    assert len(sleep.delays) == 2


async def test_a_permanent_failure_is_not_retried() -> None:
    blocked = DeliveryFailed("telegram", "blocked", permanent=True)
    send, sleep = Attempts(blocked), NoWait()

    with pytest.raises(DeliveryFailed) as failed:
        await send_with_retry(send, sleep=sleep)

    assert failed.value is blocked
    assert send.calls == 1
    assert sleep.delays == []


async def test_a_wait_longer_than_the_service_allows_ends_the_attempts() -> None:
    send, sleep = Attempts(transient(MAX_RETRY_AFTER_SECONDS + 1)), NoWait()

    with pytest.raises(DeliveryFailed) as failed:
        await send_with_retry(send, sleep=sleep)

    assert "asked to wait" in failed.value.detail
    assert send.calls == 1


async def test_a_push_from_the_service_raises_and_the_bots_own_reply_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def blocked() -> None:
        raise DeliveryFailed("telegram", "blocked", permanent=True)

    with pytest.raises(DeliveryFailed):
        await report_failures(blocked, {"text": "hi", "tandem_message_id": 3})
    with pytest.raises(DeliveryFailed):
        await report_failures(blocked, {"text": "2nd in line", "tandem_notice": True})
    with caplog.at_level(logging.WARNING):
        await report_failures(blocked, {"text": "the bot's own reply"})

    assert "tandem-delivery-failed:telegram:blocked" in caplog.text


def test_what_counts_as_a_push_and_how_an_agent_is_named() -> None:
    assert is_service_push({"tandem_message_id": 1})
    assert not is_service_push({"text": "hi", "tandem_notice": False})
    assert customer_text({"text": "네", "agent": " Mina Kim "}) == "Mina Kim: 네"
    assert customer_text({"text": "네", "agent": ""}) == "네"
    assert customer_text({"text": None}) == ""


# ---------------------------------------------------------------- redeliveries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_id_is_taken_once_until_it_is_forgotten_or_expires() -> None:
    clock = Clock()
    seen = SeenUpdates(ttl_seconds=60, max_entries=10, clock=clock)

    assert seen.first_time(1)
    assert not seen.first_time(1)
    seen.forget(1)
    assert seen.first_time(1)
    clock.now = 59
    assert not seen.first_time(1)
    clock.now = 60
    assert seen.first_time(1)


def test_beyond_its_size_the_oldest_id_is_forgotten_first() -> None:
    seen = SeenUpdates(max_entries=3, clock=Clock())
    for key in ("a", "b", "c", "d"):
        assert seen.first_time(key)

    assert len(seen) == 3
    assert seen.first_time("a")
    assert not seen.first_time("d")


# ---------------------------------------------------------------- text pieces


@pytest.mark.parametrize(
    ("text", "limit", "pieces"),
    [
        ("", 10, []),
        ("   ", 10, []),
        ("short", 10, ["short"]),
        ("a b c d e f g", 3, ["a b", "c d", "e f", "g"]),
        ("abcdefgh", 3, ["abc", "def", "gh"]),
        ("hello world\nsecond line here", 14, ["hello world", "second line", "here"]),
        ("first paragraph\n\nsecond one", 20, ["first paragraph", "second one"]),
        ("한국어 문장입니다 그리고 더", 9, ["한국어 문장입니다", "그리고 더"]),
    ],
)
def test_long_text_is_cut_at_lines_then_words(
    text: str, limit: int, pieces: list[str]
) -> None:
    assert split_text(text, limit) == pieces


def test_telegrams_limit_counts_utf16_units() -> None:
    assert utf16_units("😀") == 2
    assert split_text("😀😀😀", 4, utf16_units) == ["😀😀", "😀"]
    long_korean = "가" * 5000
    pieces = split_text(long_korean, 4096, utf16_units)
    assert [len(piece) for piece in pieces] == [4096, 904]


# ---------------------------------------------------------------- options and state


OPTIONS = [
    ReplyOption("전화 받기", "/choose_callback"),
    ReplyOption("문의 남기기", "/choose_ticket"),
]


@pytest.mark.parametrize(
    ("answer", "payload"),
    [
        ("1", "/choose_callback"),
        (" 2. ", "/choose_ticket"),
        ("2)", "/choose_ticket"),
        ("２", "/choose_ticket"),
        ("문의 남기기", "/choose_ticket"),
        ("3", None),
        ("0", None),
        ("12 months", None),
        ("전화", None),
    ],
)
def test_an_option_is_chosen_by_number_or_title(
    answer: str, payload: str | None
) -> None:
    chosen = chosen_option(answer, OPTIONS)
    assert (chosen.payload if chosen else None) == payload


def test_reply_options_are_the_buttons_with_a_title_and_payload() -> None:
    message: dict[str, Any] = {
        "buttons": [
            {"title": "Yes", "payload": "/affirm"},
            {"title": "", "payload": "/deny"},
            {"title": "Link", "url": "https://example.com"},
            "junk",
        ]
    }
    assert reply_options(message) == [ReplyOption("Yes", "/affirm")]
    assert reply_options({"quick_replies": [{"title": "A", "payload": "/a"}]}) == [
        ReplyOption("A", "/a")
    ]


def test_typed_text_loses_its_intent_slashes() -> None:
    assert typed_text(" //request_human ") == "request_human"
    assert typed_text("1/2 요금") == "1/2 요금"


async def test_the_state_outlives_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "state" / "channel_state.db"
    state = FileChannelState(path)
    await state.record_inbound("whatsapp:+8210", 100.0)
    await state.record_inbound("whatsapp:+8210", 50.0)
    await state.remember_options("sms:+8210", OPTIONS, 200.0)
    state.close()

    reopened = FileChannelState(path)

    assert await reopened.last_inbound("whatsapp:+8210") == 100.0
    assert await reopened.last_inbound("whatsapp:+8299") is None
    assert await reopened.options("sms:+8210") == OPTIONS
    assert await reopened.options("sms:+8210", sent_after=200.0) == []
    await reopened.forget_options("sms:+8210")
    assert await reopened.options("sms:+8210") == []
