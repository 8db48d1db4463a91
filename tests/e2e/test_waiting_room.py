"""Waiting for an agent in the chat page, in Debian's chromium: what the customer
reads when the handoff is queued, and when they write while waiting."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from handoff.conversation.chat_sessions import public_handle
from tests.e2e.page_security import record_policy_violations
from tests.e2e.participants import Agent
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
SESSION_KEY = "tandem.chat.session_id"
expect.set_options(timeout=TIMEOUT_MS)


def bot_messages(page: Page):
    return page.locator('[data-testid="chat-message"][data-role="bot"]')


async def open_chat(browser: Browser, stack: Stack, errors: list[str]) -> Page:
    page = await (
        await browser.new_context(viewport={"width": 480, "height": 760})
    ).new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await record_policy_violations(page, errors)
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{stack.handoff_url}/chat")
    await expect(page.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    return page


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


@pytest.mark.parametrize(
    ("greeting", "request_text", "waiting", "written", "acknowledged"),
    [
        (
            "안녕하세요",
            "상담원 연결해 주세요",
            [
                "지금 대기 순서는 1번째입니다.",
                "지금은 예상 시간을 알 수 없습니다.",
                "'취소'라고 보내시면 대기를 멈춥니다.",
            ],
            "아직 기다리고 있어요",
            "메시지를 받았습니다. 상담원에게 함께 전달됩니다.",
        ),
        (
            "hello",
            "can I talk to a real person",
            [
                "You are number 1 in the queue.",
                "The expected wait is unknown right now.",
                "Send 'cancel' to stop waiting.",
            ],
            "still here, my bill is wrong",
            "Message received. The agent will see it with the rest of your chat.",
        ),
    ],
)
async def test_the_waiting_customer_knows_where_they_are_and_is_heard(
    stack: Stack,
    browser: Browser,
    greeting: str,
    request_text: str,
    waiting: list[str],
    written: str,
    acknowledged: str,
) -> None:
    errors: list[str] = []
    chat = await open_chat(browser, stack, errors)
    await send(chat, greeting)
    await expect(bot_messages(chat)).not_to_have_count(0)

    # No agent is online in the test stack: a place in the queue, no guess at
    # the wait, and the way out, in one message.
    await send(chat, request_text)
    waiting_message = bot_messages(chat).filter(has_text=waiting[0])
    await expect(waiting_message).to_have_count(1)
    for part in waiting[1:]:
        await expect(waiting_message).to_contain_text(part)

    await send(chat, written)
    await expect(bot_messages(chat).last).to_have_text(acknowledged)

    # The message waits for the agent with the rest of the conversation.
    session_id = await chat.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("mina", stack.agent_password)
        status, queue = await agent.call("GET", "/api/handoffs?status=queued")
        assert status == 200, queue
        [handoff] = [
            item
            for item in queue["handoffs"]
            if item["conversation"] == public_handle(session_id)
        ]
        status, claimed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/claim"
        )
        assert status == 200, claimed
        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        assert [m["text"] for m in detail["messages"] if m["role"] == "user"] == [
            written
        ]
        await agent.call("POST", f"/api/handoffs/{handoff['id']}/close")
    finally:
        await agent.close()
    assert errors == []
