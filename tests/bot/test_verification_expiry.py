"""A verified customer who stays silent too long has to verify again."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies, build_dependencies
from actions.settings import load_settings
from actions.verification import ValidateVerificationForm
from tests.bot.test_billing_actions import answer, asked

# When account_question_ko.json verifies the customer.
VERIFIED_AT = 1732291030.2
IDLE_LIMIT = dt.timedelta(minutes=10)


def returning_after(seconds: float, intent: str = "ask_bill"):
    """The verified customer asks ``intent`` ``seconds`` after verifying."""
    tracker = asked(intent)
    tracker.events.append(
        {
            "event": "user",
            "timestamp": VERIFIED_AT + seconds,
            "text": "이번 달 요금 얼마예요?",
            "parse_data": {"intent": {"name": intent, "confidence": 0.95}},
        }
    )
    return tracker


@pytest.fixture
def idle_dependencies(dependencies: Dependencies) -> Dependencies:
    return replace(dependencies, verification_idle=IDLE_LIMIT)


async def test_within_the_idle_limit_the_customer_stays_verified(
    idle_dependencies: Dependencies,
) -> None:
    _, [message] = await answer(idle_dependencies, returning_after(599))
    assert message["response"] == "utter_current_bill"


async def test_after_the_idle_limit_no_account_data_is_shown(
    idle_dependencies: Dependencies,
) -> None:
    events, messages = await answer(idle_dependencies, returning_after(601))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_verification_required"]


async def test_every_pause_counts_not_only_the_latest(
    idle_dependencies: Dependencies,
) -> None:
    tracker = returning_after(700)
    # A quick follow-up after the long pause does not make the pause forgotten.
    tracker.events.append({**tracker.events[-1], "timestamp": VERIFIED_AT + 710})
    _, messages = await answer(idle_dependencies, tracker)
    assert [m["response"] for m in messages] == ["utter_verification_required"]


@pytest.mark.parametrize(
    ("seconds", "required"), [(599, []), (601, ["phone_number", "otp_code"])]
)
async def test_the_verification_form_asks_again_after_the_idle_limit(
    idle_dependencies: Dependencies, seconds: float, required: list[str]
) -> None:
    form = ValidateVerificationForm(idle_dependencies)
    assert (
        await form.required_slots(
            [], CollectingDispatcher(), returning_after(seconds), {}
        )
        == required
    )


def test_the_idle_limit_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("TANDEM_VERIFICATION_IDLE_MINUTES", "3")
    monkeypatch.setenv("TANDEM_DEMO_BACKEND_DB", str(tmp_path / "demo.db"))
    load_settings.cache_clear()
    try:
        settings = load_settings()
    finally:
        load_settings.cache_clear()
    assert build_dependencies(settings).verification_idle == dt.timedelta(minutes=3)


def test_the_default_idle_limit_is_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANDEM_VERIFICATION_IDLE_MINUTES", raising=False)
    load_settings.cache_clear()
    try:
        assert load_settings().verification_idle_minutes == 10
    finally:
        load_settings.cache_clear()
