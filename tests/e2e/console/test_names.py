"""The console names customers, channels and colleagues: no bot ids, no "Agent #1"."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.console_service import (
    Service,
    Staff,
    open_console,
    queue_item,
)

pytestmark = pytest.mark.browser


async def test_customers_channels_and_agents_are_named(
    service: Service, staff: Staff, browser: Browser
) -> None:
    verified = await staff.hand_off(
        "web-verified",
        verified_identity={"customer_id": "C-7", "name": "김민수"},
    )
    typed = await staff.hand_off(
        "kakao:9f2c",
        channel="callback",
        slots={"language": "ko", "signup_name": "박지영"},
        reason="billing_dispute",
        skill="billing",
    )
    unknown = await staff.hand_off("web-anonymous")
    # Mina takes the verified customer's conversation and answers.
    await staff.call("POST", f"/api/handoffs/{verified['id']}/claim", as_="mina")
    await staff.call(
        "POST",
        f"/api/handoffs/{verified['id']}/messages",
        {"text": "안녕하세요, 상담원 민아입니다."},
        as_="mina",
    )

    console = await open_console(browser, service, "sora")
    page = console.page
    await expect(queue_item(page, verified["id"])).to_contain_text("김민수")
    await expect(
        queue_item(page, verified["id"]).get_by_test_id("queue-owner")
    ).to_have_text("상담원: Mina Kim")
    await expect(
        queue_item(page, typed["id"]).get_by_test_id("queue-customer")
    ).to_have_text("박*영")
    await expect(
        queue_item(page, typed["id"]).get_by_test_id("channel-badge")
    ).to_have_text("카카오톡")
    await expect(
        queue_item(page, typed["id"]).get_by_test_id("queue-reason")
    ).to_have_text("요금 이의")
    await expect(
        queue_item(page, unknown["id"]).get_by_test_id("queue-customer")
    ).to_have_text("미확인 고객")
    await expect(
        queue_item(page, unknown["id"]).get_by_test_id("channel-badge")
    ).to_have_text("웹 채팅")
    # No card shows the bot's conversation handle.
    await expect(page.get_by_test_id("queue")).not_to_contain_text(
        verified["conversation"]
    )

    await queue_item(page, verified["id"]).get_by_test_id("queue-customer").click()
    await expect(page.get_by_test_id("conversation-customer")).to_contain_text("김민수")
    await expect(page.get_by_test_id("conversation-channel")).to_have_text("웹 채팅")
    await expect(page.get_by_test_id("conversation-agent")).to_have_text("Mina Kim")
    reply = page.locator('[data-testid="message"][data-role="agent"]')
    await expect(reply.get_by_test_id("message-author")).to_have_text("Mina Kim")
    await expect(page.get_by_test_id("messages")).not_to_contain_text("#")

    # A note of the supervisor's own names them as themselves.
    await page.get_by_test_id("note-toggle").check()
    await page.get_by_test_id("reply-input").fill("환불 건 확인 중")
    await page.get_by_test_id("reply-send").click()
    await expect(
        page.get_by_test_id("note").get_by_test_id("message-author")
    ).to_have_text("내부 메모 · Sora Lee (나)")
    console.assert_clean()
