"""How the action server gives the actions their dependencies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.code_requests import CodeRequestLog, VerificationLimits
from actions.dependencies import build_dependencies, server_dependencies
from actions.settings import ActionSettings, verification_limits_from_env


def test_rasa_sdk_builds_the_actions_on_the_servers_dependencies() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    users = [
        executor.actions[name].__self__
        for name in (
            "action_handoff",
            "action_submit_offline_contact",
            "action_ask_otp_code",
            "validate_signup_form",
            "validate_autopay_date_form",
        )
    ]
    assert all(user.dependencies is server_dependencies() for user in users)


async def test_the_back_end_its_outbox_and_code_log_follow_the_settings(
    tmp_path: Path,
) -> None:
    settings = ActionSettings(
        handoff_url="http://127.0.0.1:9",
        service_secret="",
        handoff_timeout_seconds=1,
        demo_backend_path=tmp_path / "backend" / "demo.db",
        dev_outbox_path=tmp_path / "outbox" / "dev_outbox.log",
    )
    dependencies = build_dependencies(settings)
    backend = dependencies.backend
    customer = await backend.find_customer_by_phone("010-1234-5678")
    assert customer is not None
    sent = await backend.send_verification_code(customer.id)
    assert sent.expires_at > dt.datetime.now(dt.timezone.utc)
    assert (tmp_path / "backend" / "demo.db").is_file()
    [line] = (tmp_path / "outbox" / "dev_outbox.log").read_text("utf-8").splitlines()
    assert "010-1234-5678" in line
    # Code requests are logged next to the demo customers.
    await dependencies.code_requests.log("c", "010-1234-5678", dt.datetime.now())
    reopened = CodeRequestLog(tmp_path / "backend" / "demo.db")
    assert await reopened.latest("c", "010-1234-5678") is not None


def test_the_verification_limits_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CODES_PER_NUMBER", "2")
    monkeypatch.setenv("TANDEM_CODES_PER_CONVERSATION", "4")
    monkeypatch.setenv("TANDEM_NUMBERS_PER_CONVERSATION", "1")
    monkeypatch.setenv("TANDEM_VERIFICATION_WINDOW_SECONDS", "600")
    assert verification_limits_from_env() == VerificationLimits(
        codes_per_number=2,
        codes_per_conversation=4,
        numbers_per_conversation=1,
        window=dt.timedelta(minutes=10),
    )


def test_a_limit_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_CODES_PER_NUMBER", "0")
    with pytest.raises(ValueError, match="TANDEM_CODES_PER_NUMBER must be at least 1"):
        verification_limits_from_env()
