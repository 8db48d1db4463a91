"""Files both ways through the two pages and the real stack, in Debian's chromium
driven by Playwright: the customer attaches a photo in the web chat while an agent
has the conversation, the agent sees it drawn in the console (opened with the
agent's token into a blob: URL), attaches a PDF to a reply, and the customer's chat
shows a link that downloads the PDF."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Download, expect

from tests.e2e.page_security import record_policy_violations
from tests.e2e.stack import Stack
from tests.sample_files import PDF, png

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
PHOTO = png(width=24, height=16, rgb=(40, 120, 200))
BLOB_URL = re.compile(r"^blob:")
expect.set_options(timeout=TIMEOUT_MS)


async def test_a_photo_to_the_agent_and_a_pdf_back_to_the_customer(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    errors: list[str] = []
    violations: list[str] = []
    chat_context = await browser.new_context(
        viewport={"width": 480, "height": 760}, accept_downloads=True
    )
    chat = await chat_context.new_page()
    console = await (
        await browser.new_context(viewport={"width": 1280, "height": 800})
    ).new_page()
    for page in (chat, console):
        page.on("pageerror", lambda error: errors.append(str(error)))
        await record_policy_violations(page, violations)
        page.set_default_timeout(TIMEOUT_MS)

    await console.goto(f"{stack.handoff_url}/console")
    await console.get_by_test_id("login-username").fill("mina")
    await console.get_by_test_id("login-password").fill(stack.agent_password)
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("queue")).to_be_visible()

    await chat.goto(f"{stack.handoff_url}/chat")
    await expect(chat.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    await chat.get_by_test_id("chat-input").fill("상담원 연결해 주세요")
    await chat.get_by_test_id("chat-send").click()
    bot = chat.locator('[data-testid="chat-message"][data-role="bot"]')
    await expect(bot.last).to_contain_text("대기 순서")
    item = console.locator('[data-testid="queue-item"][data-status="queued"]').first
    await item.get_by_test_id("claim-button").click()
    transcript = console.get_by_test_id("transcript")
    await expect(transcript).to_contain_text("상담원 연결해 주세요")

    photo = tmp_path / "modem.png"
    photo.write_bytes(PHOTO)
    await chat.get_by_test_id("chat-file").set_input_files(str(photo))
    mine = chat.locator('[data-testid="chat-message"][data-role="user"]')
    await expect(mine.last.get_by_test_id("chat-attachment")).to_have_attribute(
        "data-kind", "image"
    )

    shown = console.locator(
        '[data-testid="message"][data-role="user"] [data-testid="attachment-image"]'
    )
    await expect(shown).to_have_attribute("alt", "modem.png")
    await expect(shown).to_have_attribute("src", BLOB_URL)
    await console.wait_for_function(
        "image => image.complete && image.naturalWidth > 0",
        arg=await shown.element_handle(),
    )
    assert await shown.evaluate("image => image.naturalWidth") == 24

    await console.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "요금 안내.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await expect(console.get_by_test_id("reply-attachment")).to_contain_text(
        "요금 안내.pdf"
    )
    await console.get_by_test_id("reply-input").fill("안내서를 보내 드립니다.")
    await console.get_by_test_id("reply-send").click()
    reply = console.locator('[data-testid="message"][data-role="agent"]')
    await expect(reply).to_have_attribute("data-delivery", "delivered")

    link = bot.last.get_by_test_id("chat-attachment")
    await expect(link).to_have_attribute("data-kind", "document")
    await expect(link).to_contain_text("요금 안내.pdf")
    await expect(bot.last).to_contain_text("안내서를 보내 드립니다.")
    # The link opens a tab whose answer is a download; whichever page Chromium
    # gives the download to, it is caught.
    downloads: asyncio.Queue[Download] = asyncio.Queue()
    chat.on("download", downloads.put_nowait)
    chat_context.on("page", lambda tab: tab.on("download", downloads.put_nowait))
    await link.click()
    download = await asyncio.wait_for(downloads.get(), TIMEOUT_MS / 1000)
    assert download.suggested_filename == "요금 안내.pdf"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == PDF
    assert errors == []
    assert violations == []
