"""A customer who sends faster than their rate (TANDEM_CUSTOMER_MESSAGE_BURST at once,
then TANDEM_CUSTOMER_MESSAGES_PER_MINUTE), in Debian's chromium against the real stack:
the bot's channel refuses the message over it in its acknowledgement, and the chat
page says so under it, keeps it, and sends it by itself once the wait is over."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import LIMITED_BURST
from tests.e2e.stack import Stack
from tests.e2e.test_browser_customer_chat import ChatPage

pytestmark = pytest.mark.browser


async def test_messages_over_the_customers_rate_are_shown_as_not_sent(
    json_stack: Stack, browser: Browser
) -> None:
    chat = await ChatPage.open(
        browser, json_stack, locale="ko-KR", width=480, height=760
    )
    # Two more than the burst, sent within one moment, as a stuck key or a script
    # would; at two a minute, no token comes back meanwhile.
    await chat.page.evaluate(
        """count => {
            const input = document.querySelector('[data-testid="chat-input"]');
            const send = document.querySelector('[data-testid="chat-send"]');
            for (let number = 0; number < count; number++) {
                input.value = `문의 ${number}`;
                input.dispatchEvent(new Event("input", {bubbles: true}));
                send.click();
            }
        }""",
        LIMITED_BURST + 2,
    )

    # The page sends one message at a time; the one after the burst waits.
    waiting = chat.page.locator('.chat-row[data-role="user"][data-refused]')
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_have_attribute("data-refused", "rate_limited")
    await expect(waiting).to_contain_text(f"문의 {LIMITED_BURST}")
    await expect(waiting).to_have_attribute("data-pending", "")
    await expect(waiting.locator(".chat-meta")).to_contain_text("Waiting")
    await expect(waiting.locator(".chat-meta")).to_contain_text("너무 빠르게")
    # Nothing after it has gone ahead of it.
    sent = chat.page.locator('.chat-row[data-role="user"]:not([data-pending])')
    await expect(sent).to_have_count(LIMITED_BURST)
    chat.assert_clean()
