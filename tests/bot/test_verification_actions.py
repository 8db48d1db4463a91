"""Verification: phone number, one-time code from the dev outbox, expiry, attempts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.code_requests import CodeRequestLog
from actions.dependencies import Dependencies
from actions.verification import ActionAskOtpCode, ValidateVerificationForm
from tests.bot.conftest import Clock, last_code, outbox_lines
from tests.bot.tracker_fixtures import message_tracker

PHONE = "010-1234-5678"


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages]


async def validate_phone(
    dependencies: Dependencies, typed: str
) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    result = await ValidateVerificationForm(dependencies).validate_phone_number(
        typed, dispatcher, message_tracker(typed, None, {"language": "ko"}), {}
    )
    return result, responses(dispatcher)


async def ask_code(
    dependencies: Dependencies, slots: dict[str, Any]
) -> tuple[list[Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(PHONE, None, {"language": "ko", **slots})
    events = await ActionAskOtpCode(dependencies).run(dispatcher, tracker, {})
    return events, dispatcher


async def enter_code(
    dependencies: Dependencies, code: str
) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        code, None, {"language": "ko", "phone_number": PHONE}, intent="inform_code"
    )
    result = await ValidateVerificationForm(dependencies).validate_otp_code(
        code, dispatcher, tracker, {}
    )
    return result, dispatcher


@pytest.mark.parametrize(
    "typed", ["010-1234-5678", "01012345678", "010 1234 5678", "+82 10 1234 5678"]
)
async def test_known_number_in_any_format_is_normalised(
    dependencies, typed: str
) -> None:
    assert await validate_phone(dependencies, typed) == ({"phone_number": PHONE}, [])


async def test_malformed_number_is_refused(dependencies) -> None:
    assert await validate_phone(dependencies, "12345") == (
        {"phone_number": None, "phone_number_failures": 1},
        ["utter_invalid_phone_number"],
    )


async def test_a_number_on_no_account_is_taken_like_a_customers(dependencies) -> None:
    assert await validate_phone(dependencies, "010-0000-0000") == (
        {"phone_number": "010-0000-0000"},
        [],
    )


async def test_the_third_malformed_number_ends_verification(dependencies) -> None:
    validator = ValidateVerificationForm(dependencies)
    failures: float = 0
    outcomes = []
    for typed in ["12345", "010-12", "9999"]:
        dispatcher = CollectingDispatcher()
        tracker = message_tracker(
            typed, None, {"language": "en", "phone_number_failures": failures}
        )
        result = await validator.validate_phone_number(typed, dispatcher, tracker, {})
        failures = result["phone_number_failures"]
        outcomes.append((result, responses(dispatcher)))
    assert outcomes == [
        (
            {"phone_number": None, "phone_number_failures": 1},
            ["utter_invalid_phone_number"],
        ),
        (
            {"phone_number": None, "phone_number_failures": 2},
            ["utter_invalid_phone_number"],
        ),
        (
            {
                "phone_number": None,
                "phone_number_failures": 3,
                "verification_failed": True,
            },
            [],
        ),
    ]


async def test_code_request_log_down_apologises(
    dependencies: Dependencies, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    broken_log = CodeRequestLog(blocker / "code_requests.db")
    assert await validate_phone(
        replace(dependencies, code_requests=broken_log), PHONE
    ) == ({"phone_number": None}, ["utter_backend_unavailable"])


async def test_asking_for_the_code_sends_it_once(
    dependencies, outbox_path: Path
) -> None:
    events, dispatcher = await ask_code(dependencies, {"phone_number": PHONE})
    assert events == [SlotSet("otp_sent_to", PHONE)]
    [sent] = dispatcher.messages
    assert sent["response"] == "utter_otp_sent"
    assert sent["masked_phone_number"] == "010-****-5678"
    assert sent["minutes"] == 5
    [line] = outbox_lines(outbox_path)
    assert line.split("\t")[1] == PHONE
    assert len(last_code(outbox_path)) == 6

    events, dispatcher = await ask_code(
        dependencies, {"phone_number": PHONE, "otp_sent_to": PHONE}
    )
    assert events == []
    assert responses(dispatcher) == ["utter_ask_otp_code"]
    assert len(outbox_lines(outbox_path)) == 1


async def test_the_right_code_verifies(dependencies, outbox_path) -> None:
    await ask_code(dependencies, {"phone_number": PHONE})
    result, dispatcher = await enter_code(
        dependencies, f"인증번호 {last_code(outbox_path)}이에요"
    )
    assert result == {
        "otp_code": None,
        "otp_sent_to": None,
        "verified_customer_id": "1",
        "verified_customer_name": "김민준",
    }
    assert dispatcher.messages[0]["response"] == "utter_verified"
    assert dispatcher.messages[0]["customer_name"] == "김민준"


async def test_a_code_works_once(dependencies, outbox_path) -> None:
    await ask_code(dependencies, {"phone_number": PHONE})
    code = last_code(outbox_path)
    await enter_code(dependencies, code)
    result, dispatcher = await enter_code(dependencies, code)
    assert "verified_customer_id" not in result
    # A spent code counts as none: a fresh one is sent.
    assert responses(dispatcher) == ["utter_otp_expired"]


async def test_three_wrong_codes_fail_the_verification(
    dependencies, outbox_path
) -> None:
    await ask_code(dependencies, {"phone_number": PHONE})
    wrong = f"{(int(last_code(outbox_path)) + 1) % 1_000_000:06d}"
    left = []
    for _ in range(2):
        result, dispatcher = await enter_code(dependencies, wrong)
        assert result == {"otp_code": None}
        assert responses(dispatcher) == ["utter_otp_wrong"]
        left.append(dispatcher.messages[0]["attempts_left"])
    assert left == [2, 1]
    result, dispatcher = await enter_code(dependencies, wrong)
    assert result == {"otp_code": None, "verification_failed": True}
    assert dispatcher.messages == []
    # Even the right code is refused now.
    result, _ = await enter_code(dependencies, last_code(outbox_path))
    assert result == {"otp_code": None, "verification_failed": True}


async def test_an_expired_code_is_refused_and_a_new_one_sent(
    dependencies, outbox_path, clock: Clock
) -> None:
    await ask_code(dependencies, {"phone_number": PHONE})
    first = last_code(outbox_path)
    clock.advance(minutes=5)
    result, dispatcher = await enter_code(dependencies, first)
    assert result == {"otp_code": None}
    assert responses(dispatcher) == ["utter_otp_expired"]
    assert len(outbox_lines(outbox_path)) == 2
    result, _ = await enter_code(dependencies, last_code(outbox_path))
    assert result["verified_customer_id"] == "1"


async def test_a_code_of_the_wrong_shape_costs_no_attempt(
    dependencies, outbox_path
) -> None:
    await ask_code(dependencies, {"phone_number": PHONE})
    for typed in ["12345", "1234567", "abc"]:
        result, dispatcher = await enter_code(dependencies, typed)
        assert (result, responses(dispatcher)) == (
            {"otp_code": None},
            ["utter_otp_code_format"],
        )
    result, _ = await enter_code(dependencies, last_code(outbox_path))
    assert result["verified_customer_id"] == "1"


async def test_checking_a_code_with_the_back_end_down_apologises(
    with_backend, broken_backend
) -> None:
    dependencies = with_backend(broken_backend)
    result, dispatcher = await enter_code(dependencies, "123456")
    assert (result, responses(dispatcher)) == (
        {"otp_code": None},
        ["utter_backend_unavailable"],
    )


async def test_sending_a_code_with_the_back_end_down_apologises(
    with_backend, broken_backend
) -> None:
    dependencies = with_backend(broken_backend)
    events, dispatcher = await ask_code(dependencies, {"phone_number": PHONE})
    assert events == []
    assert responses(dispatcher) == ["utter_backend_unavailable"]


@pytest.mark.parametrize(
    ("slots", "required"),
    [
        ({}, ["phone_number", "otp_code"]),
        ({"verified_customer_id": "1"}, []),
        ({"verification_failed": True}, []),
    ],
)
async def test_verified_or_failed_customers_are_asked_nothing(
    dependencies: Dependencies, slots: dict[str, Any], required: list[str]
) -> None:
    tracker = message_tracker("x", None, {"language": "ko", **slots})
    assert (
        await ValidateVerificationForm(dependencies).required_slots(
            ["phone_number", "otp_code"], CollectingDispatcher(), tracker, {}
        )
        == required
    )


def test_failed_verification_events_hand_off() -> None:
    from actions.verification import handoff_after_failed_verification

    dispatcher = CollectingDispatcher()
    tracker = message_tracker("x", None, {"language": "ko"})
    assert handoff_after_failed_verification(dispatcher, tracker) == [
        SlotSet("verification_failed", True),
        FollowupAction("action_handoff"),
    ]
    assert responses(dispatcher) == ["utter_verification_failed"]


def test_failed_phone_numbers_hand_off_with_their_own_message() -> None:
    from actions.verification import handoff_after_failed_verification

    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "x", None, {"language": "ko", "phone_number_failures": 3.0}
    )
    assert handoff_after_failed_verification(dispatcher, tracker)[0] == SlotSet(
        "verification_failed", True
    )
    assert responses(dispatcher) == ["utter_phone_number_failed"]


def test_a_verified_identity_lasts_for_the_session_only() -> None:
    import yaml

    domain = yaml.safe_load(Path("domain.yml").read_text("utf-8"))
    assert domain["session_config"]["carry_over_slots_to_new_session"] is False
    for slot in (
        "verified_customer_id",
        "verification_failed",
        "otp_sent_to",
        "phone_number_failures",
        "verification_limited",
    ):
        assert domain["slots"][slot]["mappings"] == [{"type": "custom"}]
