"""The agent console shows why a reply to a messaging customer was not delivered and
what to do instead, in Debian's chromium driven by Playwright."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.messaging_customers import TelegramCustomer
from tests.e2e.participants import Agent
from tests.e2e.stack import Stack
from tests.e2e.test_browser_round_trip import TIMEOUT_MS

pytestmark = pytest.mark.browser


async def test_a_reply_the_customer_blocked_says_why_and_offers_a_follow_up(
    channel_stack: Stack, browser: Browser
) -> None:
    stack = channel_stack
    customer = TelegramCustomer(stack, chat_id=7100003)
    errors: list[str] = []
    console = await (
        await browser.new_context(viewport={"width": 1280, "height": 800})
    ).new_page()
    console.on("pageerror", lambda error: errors.append(str(error)))
    console.set_default_timeout(TIMEOUT_MS)
    await console.goto(f"{stack.handoff_url}/console")
    await console.get_by_test_id("login-username").fill("joon")
    await console.get_by_test_id("login-password").fill(stack.agent_password)
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("queue")).to_be_visible()

    await customer.say("상담원 연결해 주세요")
    await customer.reply_containing("대기 순서는")
    item = console.locator('[data-testid="queue-item"][data-status="queued"]').first
    await expect(item).to_contain_text("텔레그램")
    handoff_id = await item.get_attribute("data-handoff-id")
    await item.get_by_test_id("claim-button").click()
    await expect(console.get_by_test_id("transcript")).to_contain_text(
        "상담원 연결해 주세요"
    )

    await customer.block_bot()
    await console.get_by_test_id("reply-input").fill("확인해 보겠습니다.")
    await console.get_by_test_id("reply-send").click()

    failed = console.locator('[data-testid="message"][data-delivery="failed"]')
    await expect(failed).to_have_count(1)
    await expect(failed.get_by_test_id("delivery-failure")).to_contain_text(
        "The customer blocked the bot or unsubscribed"
    )
    await expect(failed.get_by_test_id("delivery-advice")).to_contain_text(
        "다른 연락 수단"
    )
    await expect(failed.get_by_test_id("retry-button")).to_have_count(0)
    await expect(console.get_by_test_id("reply-error")).to_contain_text("Not delivered")

    console.once("dialog", lambda dialog: dialog.accept())
    await failed.get_by_test_id("follow-up-button").click()
    await expect(
        console.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff_id}"]')
    ).to_have_count(0)
    await customer.block_bot(False)
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("joon", stack.agent_password)
        status, closed = await agent.call("GET", f"/api/handoffs/{handoff_id}")
    finally:
        await agent.close()
    assert (status, closed["status"], closed["resolution"]) == (
        200,
        "resolved",
        "follow_up",
    )
    assert errors == []
