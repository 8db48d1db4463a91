"""A Telegram customer's photo and an agent's PDF, through the real Rasa server,
action server and handoff service, with Telegram's API played by its stand-in: the
photo is fetched and stored, the bot offers a person, the handoff says why and
names the photo, and the agent's PDF reaches the chat as a document. Needs the
service's file endpoints (the attachments contract)."""

from __future__ import annotations

import base64
import time

import aiohttp
import pytest

from tests.e2e.messaging_customers import TelegramCustomer
from tests.e2e.participants import Agent
from tests.e2e.stack import Stack
from tests.standins.handoff_attachments import JPEG, PDF
from tests.standins.telegram_api import button_update

pytestmark = pytest.mark.e2e

CHAT = 7100042


async def test_a_photo_goes_to_the_agent_and_the_agents_pdf_to_the_customer(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    customer = TelegramCustomer(stack, chat_id=CHAT)
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("mina", stack.agent_password)
        await customer.control(
            "/_files",
            {
                "file_id": "meter-photo",
                "file_path": "photos/meter.jpg",
                "content_base64": base64.b64encode(JPEG).decode("ascii"),
            },
        )

        delivered = await customer.deliver(photo_update(9001))
        assert delivered["status"] == 200, delivered
        await customer.reply_containing("사진 잘 받았어요")

        pressed = await customer.deliver(button_update(9002, CHAT, "/affirm"))
        assert pressed["status"] == 200, pressed
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["reason"] == "attachment"
        transcript = [turn["text"] for turn in handoff["context"]["transcript"]]
        assert "[photo: meter.jpg]" in transcript
        status, _ = await agent.call("POST", f"/api/handoffs/{handoff['id']}/claim")
        assert status == 200

        form = aiohttp.FormData()
        form.add_field(
            "file", PDF, filename="guide.pdf", content_type="application/pdf"
        )
        async with agent.session.post(
            f"{stack.handoff_url}/api/handoffs/{handoff['id']}/attachments",
            data=form,
            headers=agent.headers,
        ) as answer:
            assert answer.status == 201, await answer.text()
            stored = await answer.json()
        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "", "attachment_id": stored["id"]},
        )
        assert (status, sent["delivery"]) == (201, "delivered")

        documents = [
            call["payload"]
            for call in await recorded(customer.platform_url)
            if call["method"] == "sendDocument"
            and call["payload"].get("chat_id") == CHAT
        ]
        assert len(documents) == 1
        assert documents[0]["caption"] == "Mina Kim: guide.pdf"
    finally:
        await agent.close()


def photo_update(update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "from": {
                "id": CHAT,
                "is_bot": False,
                "first_name": "Customer",
                "language_code": "ko",
            },
            "chat": {"id": CHAT, "type": "private", "first_name": "Customer"},
            "photo": [
                {
                    "file_id": "meter-photo",
                    "file_unique_id": "m",
                    "width": 640,
                    "height": 480,
                    "file_size": len(JPEG),
                },
            ],
        },
    }


async def recorded(url: str) -> list[dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/_recorded") as answer,
    ):
        return list((await answer.json())["calls"])
