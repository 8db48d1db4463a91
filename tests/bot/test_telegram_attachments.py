"""Files on Telegram: a customer's photo or document goes through getFile and the
file URL to the handoff service and reaches the bot as /share_attachment; what
cannot be received is told to the customer; an agent's file goes out with sendPhoto
or sendDocument. Against the Bot API's and the service's stand-ins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.channels.attachments import AttachmentSettings
from bot.channels.channel_state import FileChannelState
from bot.channels.delivery import DeliveryFailed
from bot.channels.telegram import TelegramInput, TelegramSettings
from tests.bot.channel_testing import (
    Agent,
    channel_server,
    no_wait_retries,
    queue_failures,
    recorded,
    standin,
)
from tests.standins import handoff_attachments, telegram_api
from tests.standins.handoff_attachments import JPEG, PDF, PNG, put_file
from tests.standins.telegram_api import post_update, text_update

TOKEN = "123456:test-token"
SECRET = "webhook-secret_1"
SERVICE_SECRET = "shared"
CHAT = 515151
SENDER = f"telegram:{CHAT}"
MAX_BYTES = 4096
SHARE_IMAGE = '/share_attachment{"attachment_kind":"image"}'
SHARE_DOCUMENT = '/share_attachment{"attachment_kind":"document"}'
TOO_LARGE_KO = "파일이 너무 커서 받지 못했어요. 4 KB 이하의 사진이나 PDF를 보내 주세요."
TYPE_EN = (
    "We couldn't receive that file: we accept photos (JPEG, PNG, GIF, WebP)"
    " and PDF files only."
)
FAILED_KO = "죄송해요, 파일을 받지 못했어요. 잠시 후 다시 보내 주세요."


@dataclass
class Setup:
    webhook: str
    api: str
    api_app: web.Application
    service: str
    service_app: web.Application
    agent: Agent
    channel: TelegramInput

    async def post(self, update: dict[str, Any]) -> Any:
        return await post_update(self.webhook, update, SECRET)

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return [
            call
            for call in await recorded(self.api)
            if method is None or call["method"] == method
        ]

    async def uploads(self) -> list[dict[str, Any]]:
        return await recorded(self.service)

    def notices(self, calls: list[dict[str, Any]]) -> list[str]:
        return [call["payload"]["text"] for call in calls]


@pytest.fixture
async def telegram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Setup]:
    api_app = telegram_api.create_app(TOKEN)
    service_app = handoff_attachments.create_app(SERVICE_SECRET, max_bytes=MAX_BYTES)
    async with standin(api_app) as api, standin(service_app) as service:
        channel = TelegramInput(
            TelegramSettings(token=TOKEN, secret_token=SECRET, api_url=api),
            FileChannelState(tmp_path / "channel_state.db"),
            retries=no_wait_retries(),
            attachments=AttachmentSettings(service, SERVICE_SECRET, MAX_BYTES),
        )
        agent = Agent()
        async with channel_server(channel, agent, monkeypatch) as url:
            yield Setup(
                f"{url}/webhooks/telegram/webhook",
                api,
                api_app,
                service,
                service_app,
                agent,
                channel,
            )


def photo_update(update_id: int, *, language_code: str = "ko") -> dict[str, Any]:
    update = text_update(update_id, CHAT, "", language_code=language_code)
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": "thumb", "file_unique_id": "t", "width": 90, "height": 90},
        {"file_id": "full", "file_unique_id": "f", "width": 800, "height": 800},
    ]
    return update


def document_update(
    update_id: int, document: dict[str, Any], caption: str | None = None
) -> dict[str, Any]:
    update = text_update(update_id, CHAT, "", language_code="en")
    del update["message"]["text"]
    update["message"]["document"] = document
    if caption is not None:
        update["message"]["caption"] = caption
    return update


# ---------------------------------------------------------------- from the customer


async def test_a_photo_goes_to_the_service_and_reaches_the_bot_as_shared(
    telegram: Setup,
) -> None:
    telegram_api.add_file(telegram.api_app, "full", JPEG, file_path="photos/f.jpg")

    status, _ = await telegram.post(photo_update(1))

    assert status == 200
    assert [call["payload"] for call in await telegram.calls("getFile")] == [
        {"file_id": "full"}
    ]
    assert telegram.api_app[telegram_api.BOT].downloads == ["photos/f.jpg"]
    [upload] = await telegram.uploads()
    assert upload == {
        "method": "upload",
        "sender_id": SENDER,
        "filename": "f.jpg",
        "declared_type": "image/jpeg",
        "size": len(JPEG),
    }
    [message] = telegram.agent.heard
    assert (message.sender_id, message.text) == (SENDER, SHARE_IMAGE)
    attachment = message.metadata["tandem_attachment"]
    assert attachment["media_type"] == "image/jpeg"
    assert attachment["size_bytes"] == len(JPEG)
    assert attachment["url"].startswith(f"/files/{attachment['id']}?expires=")
    assert message.input_channel == "telegram"


async def test_a_captioned_pdf_reaches_the_bot_as_its_caption_then_the_file(
    telegram: Setup,
) -> None:
    telegram_api.add_file(telegram.api_app, "doc", PDF, file_path="documents/x")

    await telegram.post(
        document_update(
            2,
            {"file_id": "doc", "mime_type": "application/pdf", "file_name": "bill.pdf"},
            caption="this bill is wrong",
        )
    )

    assert telegram.agent.texts() == [
        (SENDER, "this bill is wrong"),
        (SENDER, SHARE_DOCUMENT),
    ]
    assert telegram.agent.heard[0].metadata is None
    shared = telegram.agent.heard[1].metadata["tandem_attachment"]
    assert (shared["filename"], shared["media_type"]) == ("bill.pdf", "application/pdf")


async def test_a_photo_telegram_says_is_too_big_is_refused_before_downloading(
    telegram: Setup,
) -> None:
    update = photo_update(3)
    update["message"]["photo"][-1]["file_size"] = MAX_BYTES + 1

    assert (await telegram.post(update))[0] == 200

    assert await telegram.calls("getFile") == []
    assert telegram.notices(await telegram.calls("sendMessage")) == [TOO_LARGE_KO]
    assert telegram.agent.heard == []
    assert await telegram.uploads() == []


async def test_a_file_whose_size_getfile_reports_too_big_is_not_downloaded(
    telegram: Setup,
) -> None:
    telegram_api.add_file(
        telegram.api_app, "full", JPEG, file_path="photos/big.jpg", file_size=30_000_000
    )

    await telegram.post(photo_update(4))

    assert telegram.api_app[telegram_api.BOT].downloads == []
    assert telegram.notices(await telegram.calls("sendMessage")) == [TOO_LARGE_KO]
    assert telegram.agent.heard == []


async def test_a_download_bigger_than_telegram_said_is_refused(
    telegram: Setup,
) -> None:
    # getFile claims a small file; the download is over the limit (cut off by its
    # length here; test_attachment_service.py cuts off one without a length).
    telegram_api.add_file(
        telegram.api_app,
        "full",
        JPEG + bytes(MAX_BYTES),
        file_path="photos/liar.jpg",
        file_size=100,
    )

    await telegram.post(photo_update(5))

    assert telegram.api_app[telegram_api.BOT].downloads == ["photos/liar.jpg"]
    assert telegram.notices(await telegram.calls("sendMessage")) == [TOO_LARGE_KO]
    assert await telegram.uploads() == []


async def test_a_document_of_a_kind_the_service_refuses_is_not_downloaded(
    telegram: Setup,
) -> None:
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    await telegram.post(
        document_update(6, {"file_id": "w", "mime_type": docx, "file_name": "a.docx"})
    )

    assert await telegram.calls("getFile") == []
    assert telegram.notices(await telegram.calls("sendMessage")) == [TYPE_EN]
    assert telegram.agent.heard == []


async def test_a_file_that_is_not_what_it_claims_is_refused_by_the_service(
    telegram: Setup,
) -> None:
    telegram_api.add_file(telegram.api_app, "fake", b"MZ\x90\x00 not a pdf")

    await telegram.post(
        document_update(7, {"file_id": "fake", "mime_type": "application/pdf"})
    )

    assert len(await telegram.uploads()) == 1
    assert telegram.notices(await telegram.calls("sendMessage")) == [TYPE_EN]
    assert telegram.agent.heard == []


async def test_a_service_that_fails_leaves_the_customer_told_and_the_bot_unbothered(
    telegram: Setup,
) -> None:
    telegram_api.add_file(telegram.api_app, "full", JPEG)
    await queue_failures(
        telegram.service,
        [{"status": 503, "body": {"error": "internal_error"}, "method": "upload"}],
    )

    status, body = await telegram.post(photo_update(8))

    assert status == 200 and body["status"] != "processing_failed"
    assert telegram.notices(await telegram.calls("sendMessage")) == [FAILED_KO]
    assert telegram.agent.heard == []


async def test_a_file_telegram_no_longer_has_is_told_as_not_received(
    telegram: Setup,
) -> None:
    await telegram.post(photo_update(9))

    assert [call["payload"] for call in await telegram.calls("getFile")] == [
        {"file_id": "full"}
    ]
    assert telegram.notices(await telegram.calls("sendMessage")) == [FAILED_KO]
    assert telegram.agent.heard == []


async def test_a_sticker_is_still_only_a_label(telegram: Setup) -> None:
    update = text_update(10, CHAT, "")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "st", "width": 1, "height": 1}

    await telegram.post(update)

    assert telegram.agent.texts() == [(SENDER, "[스티커]")]
    assert await telegram.calls("getFile") == []


# ---------------------------------------------------------------- from the agent


async def test_an_agents_photo_with_a_public_link_goes_by_its_link_with_a_caption(
    telegram: Setup,
) -> None:
    attachment = {
        "id": "a1",
        "media_type": "image/png",
        "filename": "router.png",
        "size_bytes": 120,
        "url": "https://care.example.com/files/a1?expires=1&signature=s",
    }

    await telegram.channel.get_output_channel().send_response(
        SENDER,
        {
            "text": "이 버튼을 눌러 주세요",
            "agent": "Mina Kim",
            "tandem_message_id": 9,
            "tandem_attachment": attachment,
        },
    )

    assert await telegram.calls() == [
        {
            "method": "sendPhoto",
            "payload": {
                "chat_id": CHAT,
                "caption": "Mina Kim: 이 버튼을 눌러 주세요",
                "photo": attachment["url"],
            },
        }
    ]


async def test_an_agents_pdf_without_a_public_link_is_uploaded_from_the_service(
    telegram: Setup,
) -> None:
    attachment = put_file(telegram.service_app, PDF, "application/pdf", "guide.pdf")
    assert str(attachment["url"]).startswith("/files/")

    await telegram.channel.get_output_channel().send_response(
        SENDER,
        {
            "text": "guide.pdf",
            "agent": "Mina Kim",
            "tandem_message_id": 10,
            "tandem_attachment": attachment,
        },
    )

    [call] = await telegram.calls()
    assert call == {
        "method": "sendDocument",
        "payload": {
            "chat_id": CHAT,
            "caption": "Mina Kim: guide.pdf",
            "document": {
                "filename": "guide.pdf",
                "content_type": "application/pdf",
                "size": len(PDF),
                "sha256": hashlib.sha256(PDF).hexdigest(),
            },
        },
    }


async def test_an_agents_long_text_goes_first_and_the_file_after_it(
    telegram: Setup,
) -> None:
    attachment = put_file(telegram.service_app, PNG, "image/png", "steps.png")
    text = "단계별로 설명드릴게요. " * 100

    await telegram.channel.get_output_channel().send_response(
        SENDER,
        {"text": text, "agent": "Joon", "tandem_message_id": 11, **_meta(attachment)},
    )

    calls = await telegram.calls()
    assert [call["method"] for call in calls] == ["sendMessage", "sendPhoto"]
    assert "caption" not in calls[1]["payload"]
    assert calls[1]["payload"]["photo"]["size"] == len(PNG)


async def test_an_agents_file_the_service_cannot_give_fails_before_anything_is_sent(
    telegram: Setup,
) -> None:
    attachment = put_file(telegram.service_app, PDF, "application/pdf", "gone.pdf")
    telegram.service_app[handoff_attachments.STORE].files.clear()

    with pytest.raises(DeliveryFailed) as failed:
        await telegram.channel.get_output_channel().send_response(
            SENDER,
            {"text": "gone.pdf", "agent": "Mina", "tandem_message_id": 12}
            | _meta(attachment),
        )

    assert (failed.value.reason, failed.value.permanent) == ("platform_error", True)
    assert await telegram.calls() == []


def _meta(attachment: dict[str, Any]) -> dict[str, Any]:
    return {"tandem_attachment": json.loads(json.dumps(attachment))}
