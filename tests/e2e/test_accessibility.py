"""Every page on a phone, by keyboard alone and through axe-core, in Debian's
chromium against the real stack: the web chat before and after a message, the
agent console signed out, signed in and with a conversation open (and its
transfer dialog), the supervisor dashboard signed out and in.

At 375 px nothing scrolls sideways and no control is out of reach; Tab walks
every control, each visibly focused and named; new messages arrive in a live
region; axe-core finds nothing serious or critical (tests/e2e/accessibility_checks.py).
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.accessibility_checks import (
    DESKTOP,
    PHONE,
    assert_fits_phone_width,
    assert_no_serious_violations,
    focused,
    keys,
    walk_with_tab,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
# Inside an element that announces what is added to it.
_IN_LIVE_REGION = """
(el) => Boolean(el.closest('[aria-live="polite"], [aria-live="assertive"], [role=log]'))
"""


async def new_page(
    browser: Browser, viewport: dict[str, int], errors: list[str]
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


async def check(page: Page, state: str, *, reaches: set[str]) -> None:
    """Phone width (at a phone's width), keyboard walk, axe."""
    if page.viewport_size == PHONE:
        await assert_fits_phone_width(page)
    stops = keys(await walk_with_tab(page))
    assert reaches <= set(stops), f"{state}: Tab reached only {stops}"
    await assert_no_serious_violations(page, state)


async def request_a_person(stack: Stack, browser: Browser, errors: list[str]) -> None:
    context, chat = await new_page(browser, PHONE, errors)
    await chat.goto(f"{stack.handoff_url}/chat")
    await expect(chat.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    await chat.get_by_test_id("chat-input").focus()
    await chat.keyboard.type("상담원 연결해 주세요")
    await chat.keyboard.press("Enter")
    replies = chat.locator('[data-testid="chat-message"][data-role="bot"]')
    await expect(replies.last).to_contain_text("대기 순서는")
    await context.close()


async def signed_out_page_ready(page: Page) -> None:
    """The page has started once it puts the cursor in the username field; its
    scripts finish after the load event (the labels are fetched first)."""
    await expect(page.get_by_test_id("login-username")).to_be_focused()


async def sign_in_by_keyboard(page: Page, username: str, password: str) -> None:
    await page.get_by_test_id("login-username").focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def press_on(page: Page, testid_or_selector: str) -> None:
    """Focus a control the way Tab would land on it, and press Enter."""
    target = page.locator(testid_or_selector)
    await target.focus()
    await page.keyboard.press("Enter")


async def test_web_chat(stack: Stack, browser: Browser) -> None:
    errors: list[str] = []
    for viewport in (PHONE, DESKTOP):
        context, page = await new_page(browser, viewport, errors)
        await page.goto(f"{stack.handoff_url}/chat")
        await expect(page.get_by_test_id("chat-status")).to_have_attribute(
            "data-state", "connected"
        )
        await check(
            page,
            "chat, before a message",
            reaches={"chat-input", "chat-new-conversation"},
        )

        await page.get_by_test_id("chat-input").focus()
        await page.keyboard.type("안녕하세요")
        await page.keyboard.press("Enter")
        reply = page.locator('[data-testid="chat-message"][data-role="bot"]').first
        await expect(reply).to_contain_text("탠덤")
        # Screen readers announce the bot's answer as it arrives.
        assert await reply.evaluate(_IN_LIVE_REGION)
        await check(page, "chat, after a message", reaches={"chat-input"})
        await context.close()
    assert errors == []


async def test_agent_console(stack: Stack, browser: Browser) -> None:
    errors: list[str] = []
    await request_a_person(stack, browser, errors)
    for viewport in (DESKTOP, PHONE):
        context, page = await new_page(browser, viewport, errors)
        await page.goto(f"{stack.handoff_url}/console")
        await signed_out_page_ready(page)
        await check(
            page,
            "console, signed out",
            reaches={"login-username", "login-password", "login-submit"},
        )
        await sign_in_by_keyboard(page, "mina", stack.agent_password)
        item = page.get_by_test_id("queue-item").first
        await expect(item).to_be_visible()
        await check(
            page, "console, signed in", reaches={"agent-status", "logout", "tab-queue"}
        )

        # A wide console claims the handoff, a phone opens the claimed one.
        button = "[data-testid=claim-button]" if viewport == DESKTOP else ".qi-main"
        await press_on(page, f"[data-testid=queue-item] {button}")
        await expect(page.get_by_test_id("transcript")).to_contain_text(
            "상담원 연결해 주세요"
        )
        await expect(page.get_by_test_id("reply-input")).to_be_enabled()
        # The conversation's new messages are announced as they arrive.
        assert await page.get_by_test_id("messages").evaluate(_IN_LIVE_REGION)
        await check(
            page,
            "console, a conversation open",
            reaches={"transfer-button", "close-button", "reply-input", "thread"},
        )

        # The transfer dialog keeps the keyboard inside, and gives it back.
        await press_on(page, '[data-testid="transfer-button"]')
        dialog = page.get_by_test_id("transfer-dialog")
        await expect(dialog).to_be_visible()
        for _ in range(8):
            await page.keyboard.press("Tab")
            inside = await page.evaluate(
                "document.activeElement?.closest('dialog')?.id ?? null"
            )
            assert inside == "transfer-dialog"
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        stop = await focused(page)
        assert stop is not None and stop.key == "transfer-button", stop
        await context.close()
    assert errors == []


async def test_supervisor_dashboard(stack: Stack, browser: Browser) -> None:
    errors: list[str] = []
    for viewport in (PHONE, DESKTOP):
        context, page = await new_page(browser, viewport, errors)
        await page.goto(f"{stack.handoff_url}/supervisor")
        await signed_out_page_ready(page)
        await check(
            page,
            "dashboard, signed out",
            reaches={"login-username", "login-password", "login-submit"},
        )
        await sign_in_by_keyboard(page, "sora", stack.agent_password)
        await expect(page.get_by_test_id("dashboard")).to_be_visible()
        await expect(
            page.get_by_test_id("chart-wait").locator("svg")
        ).to_have_attribute("data-points", "24")
        await check(
            page,
            "dashboard",
            reaches={"logout", "period-bucket", "period-apply", "csv-buckets"},
        )
        await context.close()
    assert errors == []
