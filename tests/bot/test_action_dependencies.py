"""How the action server gives the actions their dependencies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rasa_sdk.executor import ActionExecutor

from actions.dependencies import build_dependencies, server_dependencies
from actions.settings import ActionSettings


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


async def test_the_back_end_and_its_outbox_follow_the_settings(tmp_path: Path) -> None:
    settings = ActionSettings(
        handoff_url="http://127.0.0.1:9",
        service_secret="",
        handoff_timeout_seconds=1,
        demo_backend_path=tmp_path / "backend" / "demo.db",
        dev_outbox_path=tmp_path / "outbox" / "dev_outbox.log",
    )
    backend = build_dependencies(settings).backend
    customer = await backend.find_customer_by_phone("010-1234-5678")
    assert customer is not None
    sent = await backend.send_verification_code(customer.id)
    assert sent.expires_at > dt.datetime.now()
    assert (tmp_path / "backend" / "demo.db").is_file()
    [line] = (tmp_path / "outbox" / "dev_outbox.log").read_text("utf-8").splitlines()
    assert "010-1234-5678" in line
