"""Files in the console: an agent sees the customer's photos in the conversation,
the one shared with the bot before the handoff and the one sent since, and attaches
a document to a reply that reaches the customer's channel as a signed link."""

from __future__ import annotations

import re
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Locator, Page, expect
from pytest_aiohttp import AiohttpServer

from tests.e2e.console_service import Service, Staff, open_console, queue_item
from tests.sample_files import PDF, png

pytestmark = pytest.mark.browser

BEFORE = png(width=40, height=30, rgb=(30, 160, 80))
SINCE = png(width=60, height=20, rgb=(200, 40, 40))
BLOB_URL = re.compile(r"^blob:")


@pytest.fixture
def rasa_calls() -> list[Any]:
    return []


@pytest.fixture
async def rasa_url(aiohttp_server: AiohttpServer, rasa_calls: list[Any]) -> str:
    """A stand-in Rasa that takes every call and keeps what it was sent."""

    async def accept(request: web.Request) -> web.Response:
        rasa_calls.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def customer_uploads(
    staff: Staff, session_id: str, content: bytes, name: str
) -> dict[str, Any]:
    """What the web chat page does with the customer's file."""
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="image/png")
    async with staff.http.post(
        "/api/chat/attachments",
        data=form,
        headers={"X-Tandem-Chat-Session": session_id},
    ) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def drawn_width(page: Page, image: Locator) -> int:
    """The width of the picture the browser decoded, once it has."""
    await page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0",
        arg=await image.element_handle(),
    )
    return int(await image.evaluate("image => image.naturalWidth"))


async def test_an_agent_sees_the_customers_photos_and_attaches_a_file(
    service: Service, staff: Staff, browser: Browser, rasa_calls: list[Any]
) -> None:
    async with staff.http.post("/api/chat/sessions") as issued:
        session_id = (await issued.json())["session_id"]
    before = await customer_uploads(staff, session_id, BEFORE, "공유기.png")
    handoff = await staff.hand_off(session_id, reason="attachment")
    await staff.call("POST", f"/api/handoffs/{handoff['id']}/claim", as_="mina")
    since = await customer_uploads(staff, session_id, SINCE, "modem-lights.png")
    await staff.call(
        "POST",
        "/api/rasa/events",
        {
            "events": [
                {
                    "event": "user",
                    "sender_id": session_id,
                    "timestamp": time.time(),
                    "text": '/share_attachment{"attachment_kind":"image"}',
                    "metadata": {"tandem_attachment": since},
                }
            ]
        },
    )
    console = await open_console(browser, service, "mina")
    page = console.page

    await queue_item(page, handoff["id"]).get_by_test_id("queue-customer").click()

    earlier = page.get_by_test_id("earlier-files").get_by_test_id("attachment-image")
    await expect(earlier).to_have_attribute("alt", before["filename"])
    await expect(earlier).to_have_attribute("src", BLOB_URL)
    sent = page.locator('[data-testid="message"][data-role="user"]').get_by_test_id(
        "attachment-image"
    )
    await expect(sent).to_have_attribute("alt", "modem-lights.png")
    await expect(sent).to_have_attribute("src", BLOB_URL)
    assert await drawn_width(page, sent) == 60
    assert await drawn_width(page, earlier) == 40
    reason = page.get_by_test_id("context-reason")
    await expect(reason).to_have_text("사진·파일 확인 요청")

    # A file of a type the service does not take is refused in the agent's words.
    await page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    await expect(page.get_by_test_id("reply-error")).to_have_text(
        "사진(JPEG, PNG, GIF, WebP)과 PDF 파일만 보낼 수 있습니다."
    )
    await expect(page.get_by_test_id("reply-attachment")).to_be_hidden()

    await page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "설치 안내.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    chip = page.get_by_test_id("reply-attachment")
    await expect(chip).to_contain_text("설치 안내.pdf")
    await expect(page.get_by_test_id("reply-send")).to_be_enabled()
    await page.get_by_test_id("reply-input").fill("설치 안내서를 보내 드립니다.")
    await page.get_by_test_id("reply-send").click()

    reply = page.locator('[data-testid="message"][data-role="agent"]')
    await expect(reply).to_contain_text("설치 안내서를 보내 드립니다.")
    await expect(reply.get_by_test_id("attachment-download")).to_contain_text(
        "설치 안내.pdf"
    )
    await expect(reply).to_have_attribute("data-delivery", "delivered")
    await expect(chip).to_be_hidden()
    [sent_to_rasa] = [
        call
        for call in rasa_calls
        if isinstance(call, dict)
        and "tandem_attachment" in (call.get("metadata") or {})
    ]
    assert sent_to_rasa["text"] == "설치 안내서를 보내 드립니다."
    link = sent_to_rasa["metadata"]["tandem_attachment"]
    assert link["filename"] == "설치 안내.pdf"
    assert link["media_type"] == "application/pdf"
    # The customer's link opens the file without any sign-in.
    async with (
        aiohttp.ClientSession(service.url) as customer,
        customer.get(link["url"]) as opened,
    ):
        assert opened.status == 200
        assert await opened.read() == PDF
    console.assert_clean()
