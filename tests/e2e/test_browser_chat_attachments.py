"""Photos and PDFs in the customer's web chat, in Debian's chromium driven by
Playwright, against stand-ins of the service and the bot's socket
(tests/e2e/chat_page_standin.py): the attach button uploads the file with the
session id, the customer sees their photo or PDF, the bot gets
/share_attachment with the stored file in the metadata, refusals are told in both
languages, an agent's file shows in their bubble, and everything survives a reload
under the page's content security policy."""

from __future__ import annotations

import socket
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.chat_page_standin import ChatPageStandIn, running
from tests.e2e.page_security import record_policy_violations
from tests.standins.handoff_attachments import PDF

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
MAX_BYTES = 64 * 1024
SESSION_KEY = "tandem.chat.session_id"
expect.set_options(timeout=TIMEOUT_MS)


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG the browser can draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x90\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def stand_in() -> AsyncIterator[ChatPageStandIn]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    page_side = ChatPageStandIn(max_bytes=MAX_BYTES)
    async with running(page_side, port):
        yield page_side


@pytest.fixture
async def page(stand_in: ChatPageStandIn, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="ko-KR")
    opened = await context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    violations: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await record_policy_violations(opened, violations)
    await opened.goto(f"{stand_in.url}/chat")
    await expect(opened.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    yield opened
    await context.close()
    assert errors == []
    assert violations == []


async def choose(page: Page, path: Path) -> None:
    await page.get_by_test_id("chat-file").set_input_files(str(path))


async def test_a_photo_is_uploaded_shown_and_shared_with_the_bot(
    page: Page, stand_in: ChatPageStandIn, tmp_path: Path
) -> None:
    photo = tmp_path / "router.png"
    photo.write_bytes(png())

    await choose(page, photo)

    mine = page.locator('[data-testid="chat-message"][data-role="user"]')
    image = mine.get_by_test_id("chat-attachment")
    await expect(image).to_have_attribute("data-kind", "image")
    await expect(image.locator("img")).to_have_attribute("alt", "router.png")
    assert (
        await image.locator("img").evaluate(
            "img => img.decode().then(() => img.naturalWidth)"
        )
        == 4
    )
    assert (await image.locator("img").get_attribute("src") or "").startswith("/files/")
    # The bot's answer, with its buttons.
    await expect(
        page.locator('[data-testid="chat-message"][data-role="bot"]')
    ).to_have_text("사진 잘 받았어요. 상담원을 연결해 드릴까요?")

    session_id = await page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    assert stand_in.uploads == [
        {"session_id": session_id, "filename": "router.png", "size": len(png())}
    ]
    [said] = stand_in.uttered
    assert said["message"] == '/share_attachment{"attachment_kind":"image"}'
    assert said["session_id"] == session_id
    stored = said["metadata"]["tandem_attachment"]
    assert (stored["media_type"], stored["filename"]) == ("image/png", "router.png")
    assert stored["id"] in stand_in.store.files


async def test_a_pdf_is_a_link_and_survives_a_reload(
    page: Page, stand_in: ChatPageStandIn, tmp_path: Path
) -> None:
    bill = tmp_path / "bill.pdf"
    bill.write_bytes(PDF)

    await choose(page, bill)

    link = page.locator('[data-role="user"] [data-testid="chat-attachment"]')
    await expect(link).to_have_attribute("data-kind", "document")
    await expect(link).to_contain_text("bill.pdf")
    assert (await link.get_attribute("href") or "").startswith("/files/")
    await expect(
        page.locator('[data-role="bot"][data-testid="chat-message"]')
    ).to_have_count(1)
    assert stand_in.uttered[0]["message"] == (
        '/share_attachment{"attachment_kind":"document"}'
    )

    await page.reload()
    await expect(page.get_by_test_id("chat-status")).to_have_attribute(
        "data-state", "connected"
    )
    await expect(
        page.locator('[data-role="user"] [data-testid="chat-attachment"]')
    ).to_contain_text("bill.pdf")


async def test_a_file_over_the_limit_is_refused_before_any_upload(
    page: Page, stand_in: ChatPageStandIn, tmp_path: Path
) -> None:
    big = tmp_path / "scan.pdf"
    big.write_bytes(PDF + bytes(MAX_BYTES))

    await choose(page, big)

    error = page.get_by_test_id("chat-file-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-error", "attachment_too_large")
    await expect(error).to_contain_text("파일이 너무 큽니다(최대 64 KB)")
    await expect(error).to_contain_text("The file is too large")
    assert stand_in.uploads == []
    assert stand_in.uttered == []
    await expect(page.get_by_test_id("chat-message")).to_have_count(0)


async def test_a_file_the_service_refuses_is_told_and_not_shared(
    page: Page, stand_in: ChatPageStandIn, tmp_path: Path
) -> None:
    # Named like a photo, but not one: only the service can tell.
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"<html>not a photo</html>")

    await choose(page, fake)

    error = page.get_by_test_id("chat-file-error")
    await expect(error).to_have_attribute("data-error", "attachment_type_not_allowed")
    await expect(error).to_contain_text("Only photos (JPEG, PNG, GIF, WebP) and PDF")
    assert [upload["filename"] for upload in stand_in.uploads] == ["photo.png"]
    assert stand_in.uttered == []
    await expect(page.get_by_test_id("chat-message")).to_have_count(0)

    # The next file goes through, and the error is gone.
    photo = tmp_path / "real.png"
    photo.write_bytes(png())
    await choose(page, photo)
    await expect(error).to_be_hidden()
    await expect(page.get_by_test_id("chat-attachment")).to_have_count(1)


async def test_an_agents_pdf_and_photo_show_in_their_bubbles(
    page: Page, stand_in: ChatPageStandIn
) -> None:
    session_id = await page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')")
    guide = stand_in.agent_file(PDF, "guide.pdf")
    photo = stand_in.agent_file(png(6, 2), "steps.png")
    agent = {"kind": "agent", "name": "Mina Kim"}

    await stand_in.push(
        session_id, {"text": "guide.pdf", "sender": agent, "tandem_attachment": guide}
    )
    await stand_in.push(
        session_id,
        {"text": "이 순서대로 해 보세요", "sender": agent, "tandem_attachment": photo},
    )

    bubbles = page.locator('[data-testid="chat-message"][data-sender="agent"]')
    await expect(bubbles).to_have_count(2)
    # The file's name is its only text: shown once, as the link.
    await expect(bubbles.nth(0)).to_have_text("guide.pdf (1 KB)")
    await expect(bubbles.nth(0).get_by_test_id("chat-attachment")).to_have_attribute(
        "data-kind", "document"
    )
    await expect(bubbles.nth(1)).to_contain_text("이 순서대로 해 보세요")
    agent_image = bubbles.nth(1).locator("img")
    await expect(agent_image).to_have_attribute("alt", "steps.png")
    assert (
        await agent_image.evaluate("img => img.decode().then(() => img.naturalWidth)")
        == 6
    )
    await expect(page.get_by_test_id("chat-sender").first).to_have_text(
        "상담원 Mina Kim"
    )
