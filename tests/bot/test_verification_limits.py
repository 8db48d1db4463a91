"""Verification answers alike for every number, and limits codes and numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa_sdk.executor import CollectingDispatcher

from actions.code_requests import (
    CODES_REFUSED,
    NUMBERS_REFUSED,
    CodeRequestLog,
    VerificationLimits,
)
from actions.dependencies import Dependencies
from actions.verification import (
    ActionAskOtpCode,
    ValidateVerificationForm,
    handoff_after_failed_verification,
)
from tests.bot.conftest import SERVICE_SECRET, Clock, last_code, outbox_lines
from tests.bot.tracker_fixtures import message_tracker

CUSTOMER = "010-1234-5678"
NO_CUSTOMER = "010-0000-0000"
LIMITED = {
    "phone_number": None,
    "verification_failed": True,
    "verification_limited": True,
}


class Conversation:
    """One customer's conversation: what the bot says and which slots it sets."""

    def __init__(
        self, dependencies: Dependencies, sender_id: str = "c", language: str = "ko"
    ) -> None:
        self.dependencies = dependencies
        self.sender_id = sender_id
        self.slots: dict[str, Any] = {"language": language}

    def tracker(self, text: str) -> Any:
        return message_tracker(
            text, None, dict(self.slots), intent="inform", sender_id=self.sender_id
        )

    async def give_number(self, typed: str) -> tuple[dict[str, Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        result = await ValidateVerificationForm(
            self.dependencies
        ).validate_phone_number(typed, dispatcher, self.tracker(typed), {})
        self.slots.update(result)
        if result.get("phone_number"):
            await self.ask_code(dispatcher)
        return result, dispatcher.messages

    async def ask_code(self, dispatcher: CollectingDispatcher) -> None:
        events = await ActionAskOtpCode(self.dependencies).run(
            dispatcher, self.tracker(""), {}
        )
        self.slots.update({event["name"]: event["value"] for event in events})

    async def give_code(self, code: str) -> tuple[dict[str, Any], list[Any]]:
        dispatcher = CollectingDispatcher()
        result = await ValidateVerificationForm(self.dependencies).validate_otp_code(
            code, dispatcher, self.tracker(code), {}
        )
        self.slots.update(result)
        return result, dispatcher.messages


def without_numbers(messages: list[Any]) -> list[Any]:
    return [
        {key: value for key, value in message.items() if key != "masked_phone_number"}
        for message in messages
    ]


@pytest.mark.parametrize("language", ["ko", "en"])
async def test_a_number_on_no_account_gets_the_same_answers(
    dependencies: Dependencies, outbox_path: Path, language: str
) -> None:
    customer = Conversation(dependencies, "customer", language)
    stranger = Conversation(dependencies, "stranger", language)
    answers = []
    for conversation, number in [(customer, CUSTOMER), (stranger, NO_CUSTOMER)]:
        taken, said = await conversation.give_number(number)
        # Never the code just sent to the customer.
        wrong_code = f"{(int(last_code(outbox_path)) + 1) % 1_000_000:06d}"
        wrong = [await conversation.give_code(wrong_code) for _ in range(3)]
        answers.append((taken["phone_number"], said, wrong))
    (customer_number, customer_said, customer_wrong) = answers[0]
    (stranger_number, stranger_said, stranger_wrong) = answers[1]
    assert (customer_number, stranger_number) == (CUSTOMER, NO_CUSTOMER)
    assert [m["masked_phone_number"] for m in customer_said + stranger_said] == [
        "010-****-5678",
        "010-****-0000",
    ]
    assert without_numbers(customer_said) == without_numbers(stranger_said)
    assert customer_wrong == stranger_wrong
    assert [result for result, _ in stranger_wrong] == [
        {"otp_code": None},
        {"otp_code": None},
        {"otp_code": None, "verification_failed": True},
    ]
    assert [said[0]["attempts_left"] for _, said in stranger_wrong[:2]] == [2, 1]
    # Only the customer's line got a text.
    # One text: the refused conversation's try of the customer's number sent none.
    assert [line.split("\t")[1] for line in outbox_lines(outbox_path)] == [CUSTOMER]


async def test_an_expired_code_of_no_customer_is_answered_as_a_customers(
    dependencies: Dependencies, outbox_path: Path, clock: Clock
) -> None:
    customer = Conversation(dependencies, "customer")
    stranger = Conversation(dependencies, "stranger")
    await customer.give_number(CUSTOMER)
    await stranger.give_number(NO_CUSTOMER)
    clock.advance(minutes=5)
    expired_customer = await customer.give_code(last_code(outbox_path))
    expired_stranger = await stranger.give_code("123456")
    assert expired_customer[0] == expired_stranger[0] == {"otp_code": None}
    assert without_numbers(expired_customer[1]) == without_numbers(expired_stranger[1])
    assert expired_stranger[1][0]["response"] == "utter_otp_expired"
    # The fresh "code" of no customer has its three attempts again.
    _, said = await stranger.give_code("123456")
    assert said[0]["attempts_left"] == 2


def test_the_answers_to_a_number_say_if_it_is_ours_in_both_languages() -> None:
    domain = yaml.safe_load(Path("domain.yml").read_text("utf-8"))
    responses = domain["responses"]
    assert "utter_unknown_phone_number" not in responses
    for name, marker_en, marker_ko in [
        ("utter_otp_sent", "if {masked_phone_number} is a number on", "번호라면"),
        ("utter_otp_expired", "If {masked_phone_number} is a number on", "번호라면"),
        ("utter_verification_limited", "can't send another code", "보내드릴 수 없어요"),
    ]:
        english, korean = responses[name]
        assert english["condition"] == [
            {"type": "slot", "name": "language", "value": "en"}
        ]
        assert marker_en in english["text"]
        assert "condition" not in korean
        assert marker_ko in korean["text"]


async def test_codes_to_one_number_are_limited_across_conversations_and_restarts(
    dependencies: Dependencies, tmp_path: Path, outbox_path: Path
) -> None:
    limits = VerificationLimits(codes_per_number=2)
    dependencies = replace(dependencies, verification_limits=limits)
    for sender_id in ["first", "second"]:
        taken, _ = await Conversation(dependencies, sender_id).give_number(CUSTOMER)
        assert taken == {"phone_number": CUSTOMER}
    # The action server restarts: a new log on the same file.
    restarted = replace(
        dependencies, code_requests=CodeRequestLog(tmp_path / "code_requests.db")
    )
    third = Conversation(restarted, "third", "en")
    assert await third.give_number(CUSTOMER) == (LIMITED, [])
    assert len(outbox_lines(outbox_path)) == 2
    # Another number is not held back by this one's limit.
    taken, _ = await third.give_number(NO_CUSTOMER)
    assert taken == {"phone_number": NO_CUSTOMER}


async def test_codes_of_one_conversation_are_limited(
    dependencies: Dependencies, outbox_path: Path, clock: Clock
) -> None:
    limits = VerificationLimits(codes_per_conversation=2)
    conversation = Conversation(replace(dependencies, verification_limits=limits))
    await conversation.give_number(CUSTOMER)
    clock.advance(minutes=5)
    _, said = await conversation.give_code("123456")
    assert [message["response"] for message in said] == ["utter_otp_expired"]
    clock.advance(minutes=5)
    assert await conversation.give_code("123456") == ({"otp_code": None, **LIMITED}, [])
    assert len(outbox_lines(outbox_path)) == 2


async def test_numbers_tried_by_one_conversation_are_limited(
    dependencies: Dependencies, outbox_path: Path
) -> None:
    limits = VerificationLimits(numbers_per_conversation=2)
    conversation = Conversation(replace(dependencies, verification_limits=limits))
    for number in [NO_CUSTOMER, "010-0000-0001"]:
        taken, _ = await conversation.give_number(number)
        assert taken == {"phone_number": number}
    # Customer's or not, a third number is refused the same way, and gets no text.
    for number in [CUSTOMER, "010-0000-0002"]:
        assert await conversation.give_number(number) == (LIMITED, [])
    # Another conversation may still try its own.
    taken, _ = await Conversation(conversation.dependencies, "other").give_number(
        CUSTOMER
    )
    assert taken == {"phone_number": CUSTOMER}
    # One text: the refused conversation's try of the customer's number sent none.
    assert [line.split("\t")[1] for line in outbox_lines(outbox_path)] == [CUSTOMER]


async def test_the_limits_lift_after_their_window(
    dependencies: Dependencies, clock: Clock
) -> None:
    limits = VerificationLimits(codes_per_number=1, window=dt.timedelta(hours=1))
    dependencies = replace(dependencies, verification_limits=limits)
    await Conversation(dependencies, "first").give_number(CUSTOMER)
    assert (await Conversation(dependencies, "second").give_number(CUSTOMER))[
        0
    ] == LIMITED
    clock.advance(hours=1)
    taken, _ = await Conversation(dependencies, "third").give_number(CUSTOMER)
    assert taken == {"phone_number": CUSTOMER}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_limited_verification_hands_off_with_its_own_message(language: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "x", None, {"language": language, "verification_limited": True}
    )
    handoff_after_failed_verification(dispatcher, tracker)
    assert [message["response"] for message in dispatcher.messages] == [
        "utter_verification_limited"
    ]


class RefusalCounter:
    def __init__(self) -> None:
        self.refusals: list[dict[str, Any]] = []

    async def count(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SERVICE_SECRET}":
            return web.json_response({"error": "unauthorized"}, status=401)
        self.refusals.append(await request.json())
        return web.json_response({"kind": "x"}, status=201)


@pytest.fixture
async def refusal_counter(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> tuple[RefusalCounter, str]:
    counter = RefusalCounter()
    app = web.Application()
    app.router.add_post("/api/rasa/refusals", counter.count)
    server = await aiohttp_server(app)
    return counter, str(server.make_url("")).rstrip("/")


async def test_refusals_are_counted_by_the_handoff_service(
    connect: Callable[..., Dependencies], refusal_counter: tuple[RefusalCounter, str]
) -> None:
    counter, url = refusal_counter
    limits = VerificationLimits(codes_per_number=1, numbers_per_conversation=1)
    dependencies = replace(connect(url), verification_limits=limits)
    await Conversation(dependencies, "first").give_number(CUSTOMER)
    await Conversation(dependencies, "second").give_number(CUSTOMER)
    await Conversation(dependencies, "first").give_number(NO_CUSTOMER)
    assert counter.refusals == [
        {"sender_id": "second", "kind": CODES_REFUSED},
        {"sender_id": "first", "kind": NUMBERS_REFUSED},
    ]


async def test_a_refusal_stands_when_the_handoff_service_is_down(
    dependencies: Dependencies,
) -> None:
    dependencies = replace(
        dependencies, verification_limits=VerificationLimits(codes_per_number=1)
    )
    await Conversation(dependencies, "first").give_number(CUSTOMER)
    assert await Conversation(dependencies, "second").give_number(CUSTOMER) == (
        LIMITED,
        [],
    )
