"""What the customer sees in the web chat, in Debian's chromium driven by Playwright,
against the real stack: who is answering (the assistant, nobody yet, an agent by
name), the agents' names on their messages and the notices when one joins or
passes the conversation on, the confirmation before a new conversation, and the
composer on a phone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class ChatPage:
    """The customer's chat page, with what the tests read from it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.violations: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(TIMEOUT_MS)

    @classmethod
    async def open(
        cls, browser: Browser, stack: Stack, *, locale: str, width: int, height: int
    ) -> ChatPage:
        context = await browser.new_context(
            locale=locale, viewport={"width": width, "height": height}
        )
        chat = cls(await context.new_page())
        await record_policy_violations(chat.page, chat.violations)
        await chat.page.goto(f"{stack.handoff_url}/chat")
        await chat.connected()
        return chat

    async def connected(self) -> None:
        await expect(self.page.get_by_test_id("chat-status")).to_have_attribute(
            "data-state", "connected"
        )

    async def say(self, text: str) -> None:
        await self.page.get_by_test_id("chat-input").fill(text)
        await self.page.get_by_test_id("chat-input").press("Enter")

    def messages(self, sender: str | None = None) -> Any:
        selector = '[data-testid="chat-message"]'
        if sender is not None:
            selector += f'[data-sender="{sender}"]'
        return self.page.locator(selector)

    def replies(self) -> Any:
        """Everything not the customer's: the bot's, agents' and notices."""
        return self.page.locator('[data-testid="chat-message"][data-role="bot"]')

    @property
    def mode(self) -> Any:
        return self.page.get_by_test_id("chat-mode")

    async def expect_mode(self, mode: str, text: str) -> None:
        await expect(self.mode).to_have_attribute("data-mode", mode)
        await expect(self.mode).to_have_text(text)

    async def session_id(self) -> str:
        return str(await self.page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')"))

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.violations == []


@dataclass(frozen=True)
class Script:
    locale: str
    ask_for_human: str
    queued: str
    assistant: str
    waiting: str
    joined: str
    with_mina: str
    mina_label: str
    mina_reply: str
    passed_on: str
    with_joon: str
    joon_label: str
    joon_reply: str
    welcome_back: str


KOREAN = Script(
    locale="ko-KR",
    ask_for_human="상담원 연결해 주세요",
    queued="대기 순서는",
    assistant="챗봇 상담 중",
    waiting="상담원 연결을 기다리는 중",
    joined="상담원 Mina Kim님이 연결되었습니다. 지금부터 도와드릴게요.",
    with_mina="상담원 Mina Kim님과 상담 중",
    mina_label="상담원 Mina Kim",
    mina_reply="안녕하세요, 상담원 민아입니다.",
    passed_on="상담이 상담원 Joon Park님께 전달되었습니다. "
    "이어서 Joon Park님이 도와드릴게요.",
    with_joon="상담원 Joon Park님과 상담 중",
    joon_label="상담원 Joon Park",
    joon_reply="이어서 도와드릴게요.",
    welcome_back="다시 챗봇이",
)
ENGLISH = Script(
    locale="en-US",
    ask_for_human="can I talk to a real person",
    queued="in the queue",
    assistant="Chatting with our assistant",
    waiting="Waiting for an agent",
    joined="You are now chatting with Mina Kim, a customer care agent.",
    with_mina="Chatting with Mina Kim (agent)",
    mina_label="Agent Mina Kim",
    mina_reply="Hi, this is Mina from customer care.",
    passed_on="Your conversation has been passed to Joon Park, another customer "
    "care agent, who will carry on from here.",
    with_joon="Chatting with Joon Park (agent)",
    joon_label="Agent Joon Park",
    joon_reply="Hi, Joon here. Let me take a look.",
    welcome_back="I'm back",
)


async def handoff_of(agent: Agent, conversation: str) -> int:
    """The id of the handoff the bot opened for ``conversation``."""
    while True:
        frame = await agent.frame("handoff.created")
        if frame["handoff"]["conversation"] == conversation:
            return int(frame["handoff"]["id"])


async def expect_agent_message(chat: ChatPage, label: str, text: str) -> None:
    row = chat.page.locator('.chat-row[data-sender="agent"]').last
    await expect(row.get_by_test_id("chat-message")).to_have_text(text)
    await expect(row.get_by_test_id("chat-sender")).to_have_text(label)


@pytest.mark.parametrize("script", [KOREAN, ENGLISH], ids=["korean", "english"])
async def test_the_customer_sees_who_answers_and_is_told_of_each_takeover(
    stack: Stack, browser: Browser, script: Script
) -> None:
    mina, joon = Agent(stack.handoff_url), Agent(stack.handoff_url)
    try:
        await mina.login("mina", stack.agent_password)
        await joon.login("joon", stack.agent_password)
        # Away: Joon can be handed a conversation, but is not given queued ones.
        status, _ = await joon.call("PUT", "/api/agents/me/status", {"status": "away"})
        assert status == 200
        chat = await ChatPage.open(
            browser, stack, locale=script.locale, width=480, height=760
        )
        await chat.expect_mode("bot", script.assistant)

        await chat.say(script.ask_for_human)
        await expect(chat.messages("bot").last).to_contain_text(script.queued)
        await chat.expect_mode("waiting", script.waiting)

        handoff_id = await handoff_of(mina, public_handle(await chat.session_id()))
        status, _ = await mina.call("POST", f"/api/handoffs/{handoff_id}/claim")
        assert status == 200
        await expect(chat.messages("notice").last).to_have_text(script.joined)
        await chat.expect_mode("agent", script.with_mina)
        await expect(chat.mode).to_have_attribute("data-agent", "Mina Kim")

        status, _ = await mina.call(
            "POST", f"/api/handoffs/{handoff_id}/messages", {"text": script.mina_reply}
        )
        assert status == 201
        await expect_agent_message(chat, script.mina_label, script.mina_reply)

        status, _ = await mina.call(
            "POST",
            f"/api/handoffs/{handoff_id}/transfer",
            {"to_agent_id": await agent_id(joon), "note": "follow-up"},
        )
        assert status == 200
        await expect(chat.messages("notice").last).to_have_text(script.passed_on)
        await chat.expect_mode("agent", script.with_joon)
        status, _ = await joon.call(
            "POST", f"/api/handoffs/{handoff_id}/messages", {"text": script.joon_reply}
        )
        assert status == 201
        await expect_agent_message(chat, script.joon_label, script.joon_reply)

        # A reload in the same tab keeps who answers and who said what.
        await chat.page.reload()
        await chat.connected()
        await chat.expect_mode("agent", script.with_joon)
        await expect_agent_message(chat, script.joon_label, script.joon_reply)
        await expect(
            chat.page.get_by_test_id("chat-sender").filter(has_text=script.mina_label)
        ).to_have_count(1)

        status, _ = await joon.call("POST", f"/api/handoffs/{handoff_id}/close")
        assert status == 200
        await expect(
            chat.messages("bot").filter(has_text=script.welcome_back)
        ).to_have_count(1)
        await chat.expect_mode("bot", script.assistant)
        chat.assert_clean()
    finally:
        await joon.call("PUT", "/api/agents/me/status", {"status": "offline"})
        await mina.close()
        await joon.close()


async def agent_id(agent: Agent) -> int:
    status, me = await agent.call("GET", "/api/agents/me")
    assert status == 200
    return int(me["id"])


async def test_a_new_conversation_is_only_started_once_confirmed(
    stack: Stack, browser: Browser
) -> None:
    chat = await ChatPage.open(browser, stack, locale="ko-KR", width=480, height=760)
    page = chat.page
    await chat.say("안녕하세요")
    await expect(chat.replies().last).to_contain_text("탠덤")
    before = await chat.session_id()
    count = await chat.messages().count()
    dialog = page.get_by_role("dialog", name="새 대화를 시작할까요?")

    await page.get_by_test_id("chat-new-conversation").click()
    await expect(dialog).to_be_visible()
    await expect(page.get_by_test_id("chat-new-cancel")).to_be_focused()
    await page.get_by_test_id("chat-new-cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_test_id("chat-new-conversation")).to_be_focused()
    await expect(chat.messages()).to_have_count(count)

    await page.get_by_test_id("chat-new-conversation").click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(chat.messages()).to_have_count(count)
    assert await chat.session_id() == before

    await page.get_by_test_id("chat-new-conversation").click()
    await page.get_by_test_id("chat-new-confirm").click()
    await expect(dialog).to_be_hidden()
    await expect(chat.messages()).to_have_count(0)
    await expect(page.locator("#chat-empty")).to_be_visible()
    await chat.connected()
    assert await chat.session_id() not in (before, "None")
    await chat.say("hello")
    await expect(chat.replies().last).to_contain_text("Tandem")
    chat.assert_clean()


async def test_on_a_phone_the_input_and_send_share_one_aligned_row(
    stack: Stack, browser: Browser
) -> None:
    chat = await ChatPage.open(browser, stack, locale="ko-KR", width=375, height=667)
    page = chat.page

    async def assert_one_row(when: str) -> None:
        composer = page.get_by_test_id("chat-input")
        field = await composer.bounding_box()
        send = await page.get_by_test_id("chat-send").bounding_box()
        assert field is not None and send is not None
        assert abs(field["y"] - send["y"]) < 0.5, (when, field, send)
        assert abs(field["height"] - send["height"]) < 0.5, (when, field, send)
        lines = await composer.evaluate(
            """input => {
                const style = getComputedStyle(input);
                const text = input.clientHeight - parseFloat(style.paddingTop)
                    - parseFloat(style.paddingBottom);
                return text / parseFloat(style.lineHeight);
            }"""
        )
        assert round(lines) == 1, (when, lines)

    await assert_one_row("empty")
    # A Korean font draws the placeholder about twice as wide as this machine's
    # fallback: it must not take a second line either.
    await page.get_by_test_id("chat-input").evaluate(
        """input => {
            input.placeholder = `${input.placeholder} ${input.placeholder}`;
            input.dispatchEvent(new Event("input"));
        }"""
    )
    await assert_one_row("long placeholder")
    await page.get_by_test_id("chat-input").fill("네")
    await assert_one_row("a short message")
    chat.assert_clean()
