"""The round trip through the two pages, in Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.page_security import assert_security_headers, record_policy_violations
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("TANDEM_SCREENSHOT_DIR")
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


async def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def bot_messages(page: Page):
    return page.locator('[data-testid="chat-message"][data-role="bot"]')


SESSION_KEY = "tandem.chat.session_id"


async def test_round_trip_in_two_tabs(stack: Stack, browser: Browser) -> None:
    errors: list[str] = []
    chat = await (
        await browser.new_context(viewport={"width": 480, "height": 760})
    ).new_page()
    console = await (
        await browser.new_context(viewport={"width": 1280, "height": 800})
    ).new_page()
    violations: list[str] = []
    for page in (chat, console):
        page.on("pageerror", lambda error: errors.append(str(error)))
        await record_policy_violations(page, violations)
        page.set_default_timeout(TIMEOUT_MS)

    await assert_security_headers(await console.goto(f"{stack.handoff_url}/console"))
    await console.get_by_test_id("login-username").fill("mina")
    await console.get_by_test_id("login-password").fill("wrong password")
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("login-error")).to_be_visible()
    await console.get_by_test_id("login-password").fill(stack.agent_password)
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("queue")).to_be_visible()

    # An older page left a made-up session id in localStorage for good.
    await chat.add_init_script(f"localStorage.setItem('{SESSION_KEY}', 'c0ffee')")
    await assert_security_headers(await chat.goto(f"{stack.handoff_url}/chat"))
    await expect(chat.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    # The page talks under an id the service issued, kept for this tab only.
    session_id = await chat.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    assert session_id.count(".") == 1 and session_id != "c0ffee"
    assert await chat.evaluate(f"localStorage.getItem('{SESSION_KEY}')") is None
    await chat.get_by_test_id("chat-input").fill("안녕하세요")
    await chat.get_by_test_id("chat-send").click()
    await expect(bot_messages(chat).last).to_contain_text("탠덤")
    await chat.get_by_test_id("chat-input").fill("상담원 연결해 주세요")
    await chat.get_by_test_id("chat-input").press("Enter")
    await expect(bot_messages(chat).last).to_contain_text("대기 순서")

    item = console.locator('[data-testid="queue-item"][data-status="queued"]').first
    await expect(item).to_be_visible()
    handoff_id = await item.get_attribute("data-handoff-id")
    await item.get_by_test_id("claim-button").click()
    conversation = console.get_by_test_id("conversation")
    await expect(console.get_by_test_id("transcript")).to_contain_text(
        "상담원 연결해 주세요"
    )
    await expect(console.get_by_test_id("context-panel")).to_contain_text(
        "request_human"
    )

    await console.get_by_test_id("reply-input").fill("안녕하세요, 상담원 민아입니다.")
    await console.get_by_test_id("reply-send").click()
    await expect(bot_messages(chat).last).to_have_text("안녕하세요, 상담원 민아입니다.")

    await chat.get_by_test_id("chat-input").fill("요금이 두 번 나갔어요")
    await chat.get_by_test_id("chat-send").click()
    customer_lines = conversation.locator('[data-testid="message"][data-role="user"]')
    await expect(customer_lines.last).to_contain_text("요금이 두 번 나갔어요")
    await screenshot(console, "agent-console")
    await screenshot(chat, "web-chat")

    console.once("dialog", lambda dialog: dialog.accept())
    await console.get_by_test_id("close-button").click()
    await expect(bot_messages(chat).filter(has_text="다시 챗봇이")).to_have_count(1)
    await expect(bot_messages(chat).last).to_contain_text("1점")
    await chat.get_by_test_id("chat-chip").filter(has_text="5").first.click()
    await expect(bot_messages(chat).last).to_contain_text("남기고 싶은 말씀")
    await chat.get_by_test_id("chat-chip").filter(has_text="괜찮아요").first.click()
    await expect(bot_messages(chat).last).to_contain_text("평가해 주셔서 감사합니다")
    closed_item = console.locator(
        f'[data-testid="queue-item"][data-handoff-id="{handoff_id}"]'
    )
    await expect(closed_item).to_have_count(0)
    assert errors == []
    assert violations == []
