"""Files on Twilio (WhatsApp and SMS): a customer's photo or PDF is fetched from its
media URL with the account's basic auth, stored by the handoff service and reaches
the bot as /share_attachment; what cannot be received is told to the customer; an
agent's file goes out as MediaUrl. Against Twilio's and the service's stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.channels.attachments import AttachmentSettings
from bot.channels.channel_state import FileChannelState
from bot.channels.delivery import DeliveryFailed
from bot.channels.twilio import TwilioInput, TwilioSettings
from tests.bot.channel_testing import (
    Agent,
    channel_server,
    free_port,
    no_wait_retries,
    recorded,
    standin,
)
from tests.standins import handoff_attachments, twilio_api
from tests.standins.handoff_attachments import JPEG, PDF, PNG, put_file
from tests.standins.twilio_api import add_media, inbound_params, post_webhook

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-auth-token"
WHATSAPP_NUMBER = "+14155238886"
SMS_NUMBER = "+15005550006"
CUSTOMER = "+821055556666"
WHATSAPP = f"whatsapp:{CUSTOMER}"
SERVICE_SECRET = "shared"
MAX_BYTES = 4096
SHARE_IMAGE = '/share_attachment{"attachment_kind":"image"}'
SHARE_DOCUMENT = '/share_attachment{"attachment_kind":"document"}'
FAILED_KO = "죄송해요, 파일을 받지 못했어요. 잠시 후 다시 보내 주세요."
TOO_LARGE_KO = "파일이 너무 커서 받지 못했어요. 4 KB 이하의 사진이나 PDF를 보내 주세요."
TYPE_KO = (
    "이 형식의 파일은 받을 수 없어요. 사진(JPEG, PNG, GIF, WebP)이나 PDF를 보내 주세요."
)


@dataclass
class Setup:
    webhook: str
    api: str
    api_app: web.Application
    service: str
    service_app: web.Application
    agent: Agent
    channel: TwilioInput

    async def whatsapp(
        self, body: str, media: list[tuple[str, str]]
    ) -> tuple[int, str]:
        params = inbound_params(
            ACCOUNT_SID, WHATSAPP, f"whatsapp:{WHATSAPP_NUMBER}", body, media=media
        )
        return await post_webhook(self.webhook, params.items(), AUTH_TOKEN)

    def media(self, content: bytes, content_type: str) -> str:
        return add_media(self.api_app, self.api, content, content_type)

    async def sent(self) -> list[dict[str, str]]:
        return [call["form"] for call in await recorded(self.api)]

    async def uploads(self) -> list[dict[str, Any]]:
        return await recorded(self.service)

    def storage_fetches(self) -> list[dict[str, Any]]:
        return self.api_app[twilio_api.ACCOUNT].storage_fetches


@pytest.fixture
async def twilio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Setup]:
    api_app = twilio_api.create_app(ACCOUNT_SID, AUTH_TOKEN)
    service_app = handoff_attachments.create_app(
        SERVICE_SECRET, max_bytes=MAX_BYTES, public_url="https://care.example.com"
    )
    async with standin(api_app) as api, standin(service_app) as service:
        port = free_port()
        settings = TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            sms_number=SMS_NUMBER,
            whatsapp_number=WHATSAPP_NUMBER,
            api_url=api,
        )
        channel = TwilioInput(
            settings,
            FileChannelState(tmp_path / "channel_state.db"),
            retries=no_wait_retries(),
            attachments=AttachmentSettings(service, SERVICE_SECRET, MAX_BYTES),
        )
        agent = Agent()
        async with channel_server(channel, agent, monkeypatch, port) as url:
            yield Setup(
                f"{url}/webhooks/twilio/webhook",
                api,
                api_app,
                service,
                service_app,
                agent,
                channel,
            )


# ---------------------------------------------------------------- from the customer


async def test_a_whatsapp_photo_is_fetched_with_basic_auth_and_shared_after_the_text(
    twilio: Setup,
) -> None:
    photo = twilio.media(JPEG, "image/jpeg")

    status, _ = await twilio.whatsapp("공유기 사진이에요", [(photo, "image/jpeg")])

    assert status == 200
    assert twilio.agent.texts() == [
        (WHATSAPP, "공유기 사진이에요"),
        (WHATSAPP, SHARE_IMAGE),
    ]
    assert twilio.agent.heard[0].metadata is None
    shared = twilio.agent.heard[1].metadata["tandem_attachment"]
    assert shared["media_type"] == "image/jpeg"
    assert shared["url"].startswith("https://care.example.com/files/")
    [upload] = await twilio.uploads()
    assert upload["sender_id"] == WHATSAPP
    assert upload["filename"].startswith("photo-") and upload["filename"].endswith(
        ".jpg"
    )
    # The storage the media URL redirects to never sees the credentials.
    assert [fetch["authorization"] for fetch in twilio.storage_fetches()] == [False]


async def test_several_files_each_reach_the_bot(twilio: Setup) -> None:
    photo = twilio.media(PNG, "image/png")
    bill = twilio.media(PDF, "application/pdf")

    await twilio.whatsapp("", [(photo, "image/png"), (bill, "application/pdf")])

    assert twilio.agent.texts() == [(WHATSAPP, SHARE_IMAGE), (WHATSAPP, SHARE_DOCUMENT)]


async def test_a_file_over_the_limit_is_refused_by_its_length(twilio: Setup) -> None:
    photo = twilio.media(JPEG + bytes(MAX_BYTES), "image/jpeg")

    await twilio.whatsapp("", [(photo, "image/jpeg")])

    assert [form["Body"] for form in await twilio.sent()] == [TOO_LARGE_KO]
    assert await twilio.uploads() == []
    assert twilio.agent.heard == []


async def test_a_video_is_not_fetched_and_stays_a_label(twilio: Setup) -> None:
    video = twilio.media(b"\x00\x00\x00\x18ftypmp42", "video/mp4")

    await twilio.whatsapp("", [(video, "video/mp4")])

    assert twilio.agent.texts() == [(WHATSAPP, "[동영상]")]
    assert twilio.storage_fetches() == []


async def test_a_document_of_a_kind_the_service_refuses_is_not_fetched(
    twilio: Setup,
) -> None:
    sheet = twilio.media(b"PK\x03\x04", "application/vnd.ms-excel")

    await twilio.whatsapp("", [(sheet, "application/vnd.ms-excel")])

    assert [form["Body"] for form in await twilio.sent()] == [TYPE_KO]
    assert twilio.storage_fetches() == []
    assert twilio.agent.heard == []


async def test_credentials_never_go_to_a_media_url_outside_the_account(
    twilio: Setup,
) -> None:
    photo = twilio.media(JPEG, "image/jpeg")
    elsewhere = photo.replace(ACCOUNT_SID, "AC" + "2" * 32)

    await twilio.whatsapp("", [(elsewhere, "image/jpeg")])

    assert [form["Body"] for form in await twilio.sent()] == [FAILED_KO]
    assert twilio.storage_fetches() == []
    assert twilio.agent.heard == []


async def test_media_twilio_does_not_have_is_told_as_not_received(
    twilio: Setup,
) -> None:
    photo = twilio.media(JPEG, "image/jpeg")
    twilio.api_app[twilio_api.ACCOUNT].media.clear()

    status, _ = await twilio.whatsapp("사진", [(photo, "image/jpeg")])

    assert status == 200
    assert twilio.agent.texts() == [(WHATSAPP, "사진")]
    assert [form["Body"] for form in await twilio.sent()] == [FAILED_KO]


# ---------------------------------------------------------------- from the agent


async def test_an_agents_file_goes_as_the_messages_media_url(twilio: Setup) -> None:
    await twilio.whatsapp("안녕하세요", [])
    attachment = put_file(twilio.service_app, PDF, "application/pdf", "guide.pdf")

    await twilio.channel.get_output_channel().send_response(
        WHATSAPP,
        {
            "text": "안내서 보내드려요",
            "agent": "Mina Kim",
            "tandem_message_id": 5,
            "tandem_attachment": attachment,
        },
    )

    assert await twilio.sent() == [
        {
            "From": f"whatsapp:{WHATSAPP_NUMBER}",
            "To": WHATSAPP,
            "Body": "Mina Kim: 안내서 보내드려요",
            "MediaUrl": attachment["url"],
            "StatusCallback": twilio.webhook.removesuffix("/webhook") + "/status",
        }
    ]


async def test_an_agents_file_without_a_public_link_fails_before_sending(
    twilio: Setup,
) -> None:
    await twilio.whatsapp("안녕하세요", [])
    attachment = {**put_file(twilio.service_app, PNG, "image/png", "a.png")}
    attachment["url"] = "/files/x?expires=1&signature=s"

    with pytest.raises(DeliveryFailed) as failed:
        await twilio.channel.get_output_channel().send_response(
            WHATSAPP,
            {
                "text": "a.png",
                "agent": "Mina Kim",
                "tandem_message_id": 6,
                "tandem_attachment": attachment,
            },
        )

    assert (failed.value.channel, failed.value.permanent) == ("whatsapp", True)
    assert await twilio.sent() == []
