"""A WhatsApp customer's photo and an agent's PDF through Twilio, with the real Rasa
server, action server and handoff service and Twilio's API played by its stand-in:
the photo is fetched from Twilio's media URL (basic auth, then the redirect to its
storage), stored by the service and offered to an agent, who sees and downloads
the same bytes; the agent's PDF goes out as the message's ``MediaUrl``, a public
link that opens the PDF."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.e2e.messaging_customers import TwilioCustomer
from tests.e2e.participants import Agent
from tests.e2e.stack import Stack
from tests.sample_files import JPEG, PDF

pytestmark = pytest.mark.e2e


async def test_a_whatsapp_photo_reaches_the_agent_and_the_agents_pdf_the_customer(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    assert stack.platforms is not None
    customer = TwilioCustomer(stack, "+821055500101", whatsapp=True)
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("mina", stack.agent_password)
        await customer.say("안녕하세요")
        await customer.reply_containing("탠덤")

        stored = await customer.control(
            "/_media",
            {
                "content_base64": base64.b64encode(JPEG).decode("ascii"),
                "content_type": "image/jpeg",
            },
        )
        await customer.say("", media=[(stored["url"], "image/jpeg")])
        await customer.reply_containing("사진 잘 받았어요")
        # The offer's buttons are numbered on WhatsApp: 1 is "yes".
        await customer.say("1")
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert (handoff["channel"], handoff["reason"]) == ("whatsapp", "attachment")
        status, _ = await agent.call("POST", f"/api/handoffs/{handoff['id']}/claim")
        assert status == 200

        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        assert status == 200
        [photo] = customer_files(detail)
        assert (photo["media_type"], photo["size_bytes"]) == ("image/jpeg", len(JPEG))
        assert photo["url"] == f"/api/attachments/{photo['id']}"
        async with agent.session.get(
            f"{stack.handoff_url}{photo['url']}", headers=agent.headers
        ) as download:
            assert download.status == 200
            assert download.content_type == "image/jpeg"
            assert await download.read() == JPEG

        form = aiohttp.FormData()
        form.add_field(
            "file", PDF, filename="요금 안내.pdf", content_type="application/pdf"
        )
        async with agent.session.post(
            f"{stack.handoff_url}/api/handoffs/{handoff['id']}/attachments",
            data=form,
            headers=agent.headers,
        ) as answer:
            assert answer.status == 201, await answer.text()
            uploaded = await answer.json()
        assert uploaded["media_type"] == "application/pdf"
        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "안내서를 보내 드립니다.", "attachment_id": uploaded["id"]},
        )
        assert (status, sent["delivery"]) == (201, "delivered")

        [form_sent] = await twilio_messages_with_media(customer)
        assert form_sent["Body"] == "Mina Kim: 안내서를 보내 드립니다."
        link = str(form_sent["MediaUrl"])
        # Absolute with TANDEM_PUBLIC_URL (here Rasa's address); the edge sends
        # /files/ to the service, so Twilio's fetch is made there.
        parts = urlsplit(link)
        assert parts.scheme == "http" and parts.path.startswith("/files/")
        assert f"{parts.scheme}://{parts.netloc}" == stack.rasa_url
        async with (
            aiohttp.ClientSession() as twilio,
            twilio.get(f"{stack.handoff_url}{parts.path}?{parts.query}") as opened,
        ):
            assert opened.status == 200
            assert opened.content_type == "application/pdf"
            assert await opened.read() == PDF
    finally:
        await agent.close()


def customer_files(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's files a handoff shows: the photo shared with the bot before
    the handoff is among its files, not its messages."""
    return [file for file in detail["attachments"] if file["uploaded_by"] == "customer"]


async def twilio_messages_with_media(customer: TwilioCustomer) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{customer.platform_url}/_recorded") as answer,
    ):
        calls = (await answer.json())["calls"]
    return [
        call["form"]
        for call in calls
        if (call.get("form") or {}).get("To") == customer.address
        and "MediaUrl" in call["form"]
    ]
