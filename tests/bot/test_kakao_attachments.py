"""Photos on KakaoTalk: a photo in a skill request is downloaded from Kakao's image
server (only from its hosts), stored by the handoff service and reaches the bot as
/share_attachment, inside the turn; one that cannot be received is answered with a
notice; an agent's photo is a simpleImage in a skill response and a link in Event
API text. Against Kakao's and the service's stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from bot.channels.attachments import AttachmentSettings
from bot.channels.delivery import DeliveryFailed
from bot.channels.kakao import KakaoInput, KakaoSettings, is_media_host
from bot.channels.kakao_skill import (
    bubbles_of,
    parse_skill_request,
    skill_response,
)
from bot.channels.limits import WebhookRefused
from tests.bot.channel_testing import Agent, channel_server, recorded, standin
from tests.standins import handoff_attachments
from tests.standins.handoff_attachments import JPEG, PDF, PNG, put_file
from tests.standins.kakao_api import KakaoStandIn, OpenBuilder

BOT_ID = "5f6e7d8c9b0a1234567890ab"
REST_API_KEY = "rest-api-key"
SECRET = "skill-secret"
USER = "kakaouser01"
SENDER = f"kakao:{USER}"
SERVICE_SECRET = "shared"
MAX_BYTES = 4096
SHARE_IMAGE = '/share_attachment{"attachment_kind":"image"}'
REPLY = "사진 잘 받았어요."
TYPE_KO = (
    "이 형식의 파일은 받을 수 없어요. 사진(JPEG, PNG, GIF, WebP)이나 PDF를 보내 주세요."
)
FAILED_KO = "죄송해요, 파일을 받지 못했어요. 잠시 후 다시 보내 주세요."


@dataclass
class Setup:
    kakao: KakaoStandIn
    kakao_url: str
    service: str
    service_app: web.Application
    agent: Agent
    channel: KakaoInput
    builder: OpenBuilder

    def photo(self, name: str, content: bytes, content_type: str) -> str:
        self.kakao.photos[name] = (content, content_type)
        return f"{self.kakao_url}/dn/{name}"

    async def send_photo(self, url: str) -> tuple[int, dict[str, Any]]:
        return await self.builder.send(url, USER, image_url=url)


@pytest.fixture
async def kakao(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    stand_in = KakaoStandIn(bot_id=BOT_ID, rest_api_key=REST_API_KEY)
    service_app = handoff_attachments.create_app(
        SERVICE_SECRET, max_bytes=MAX_BYTES, public_url="https://care.example.com"
    )
    async with standin(stand_in.app()) as kakao_url, standin(service_app) as service:
        settings = KakaoSettings(
            bot_id=BOT_ID,
            rest_api_key=REST_API_KEY,
            skill_secret=SECRET,
            event_api_url=kakao_url,
            reply_seconds=4.0,
            # The stand-in plays Kakao's image server on the loopback address.
            media_hosts=("127.0.0.1",),
        )
        channel = KakaoInput(
            settings, AttachmentSettings(service, SERVICE_SECRET, MAX_BYTES)
        )
        agent = Agent(replies=[{"text": REPLY}])
        async with channel_server(channel, agent, monkeypatch) as url:
            webhook = f"{url}/webhooks/kakao/webhook"
            yield Setup(
                stand_in,
                kakao_url,
                service,
                service_app,
                agent,
                channel,
                OpenBuilder(webhook, secret=SECRET, bot_id=BOT_ID),
            )


def texts(answer: dict[str, Any]) -> list[str]:
    return [
        output["simpleText"]["text"]
        for output in answer["template"]["outputs"]
        if "simpleText" in output
    ]


# ---------------------------------------------------------------- from the customer


async def test_a_photo_is_stored_and_reaches_the_bot_as_shared(kakao: Setup) -> None:
    url = kakao.photo("meter.jpg", JPEG, "image/jpeg")

    status, answer = await kakao.send_photo(url)

    assert status == 200
    assert texts(answer) == [REPLY]
    [message] = kakao.agent.heard
    assert (message.sender_id, message.text) == (SENDER, SHARE_IMAGE)
    shared = message.metadata["tandem_attachment"]
    assert (shared["media_type"], shared["filename"]) == ("image/jpeg", "meter.jpg")
    [upload] = await recorded(kakao.service)
    assert (upload["sender_id"], upload["size"]) == (SENDER, len(JPEG))


async def test_a_photo_on_another_host_is_never_fetched(kakao: Setup) -> None:
    url = kakao.photo("x.jpg", JPEG, "image/jpeg").replace("127.0.0.1", "localhost")

    status, answer = await kakao.send_photo(url)

    assert (status, texts(answer)) == (200, [FAILED_KO])
    assert kakao.kakao.photo_fetches == []
    assert kakao.agent.heard == []


async def test_a_photo_over_the_limit_is_refused_in_the_customers_language(
    kakao: Setup,
) -> None:
    url = kakao.photo("big.jpg", JPEG + bytes(MAX_BYTES), "image/jpeg")

    _, answer = await kakao.builder.send(url, USER, image_url=url)

    assert texts(answer) == [
        "파일이 너무 커서 받지 못했어요. 4 KB 이하의 사진이나 PDF를 보내 주세요."
    ]
    assert await recorded(kakao.service) == []


async def test_what_is_not_a_photo_is_refused_by_the_service(kakao: Setup) -> None:
    url = kakao.photo("fake.jpg", b"<html>not a photo</html>", "image/jpeg")

    _, answer = await kakao.send_photo(url)

    assert texts(answer) == [TYPE_KO]
    assert kakao.agent.heard == []


async def test_a_photo_kakao_no_longer_has_is_told_as_not_received(
    kakao: Setup,
) -> None:
    _, answer = await kakao.send_photo(f"{kakao.kakao_url}/dn/gone.jpg")

    assert texts(answer) == [FAILED_KO]
    assert kakao.kakao.photo_fetches == ["gone.jpg"]


def test_a_photo_request_tells_no_language_by_its_address() -> None:
    url = "https://talk.kakaocdn.net/dna/abc/photo.jpg?credential=xyz"
    body = OpenBuilder("http://x", secret=SECRET, bot_id=BOT_ID).payload(
        url, USER, image_url=url
    )

    skill = parse_skill_request(body, event_api_url="https://bot-api.kakao.com")

    assert (skill.image_url, skill.language) == (url, "ko")
    body["userRequest"]["params"]["media"]["url"] = "javascript:alert(1)"
    with pytest.raises(WebhookRefused):
        parse_skill_request(body, event_api_url="https://bot-api.kakao.com")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://talk.kakaocdn.net/dna/a.jpg", True),
        ("http://k.kakaocdn.net/dn/a.jpg", True),
        ("https://kakaocdn.net.example.com/a.jpg", False),
        ("https://evilkakaocdn.net/a.jpg", False),
        ("http://169.254.169.254/latest/meta-data", False),
    ],
)
def test_photos_come_from_kakaos_hosts_only(url: str, allowed: bool) -> None:
    assert is_media_host(url, ("kakaocdn.net",)) is allowed


# ---------------------------------------------------------------- from the agent


async def test_an_agents_photo_goes_through_the_event_api_as_its_link(
    kakao: Setup,
) -> None:
    photo = put_file(kakao.service_app, PNG, "image/png", "steps.png")
    guide = put_file(kakao.service_app, PDF, "application/pdf", "guide.pdf")
    output = kakao.channel.get_output_channel()
    assert output is not None

    for attachment in (photo, guide):
        await output.send_response(
            SENDER,
            {
                "text": str(attachment["filename"]),
                "agent": "Mina Kim",
                "tandem_message_id": 3,
                "tandem_attachment": attachment,
            },
        )

    assert [event["text"] for event in kakao.kakao.events] == [
        "Mina Kim: steps.png",
        str(photo["url"]),
        f"Mina Kim: guide.pdf\n\nguide.pdf: {guide['url']}",
    ]


async def test_an_agents_file_without_a_public_link_is_not_sent(kakao: Setup) -> None:
    output = kakao.channel.get_output_channel()
    assert output is not None
    attachment = put_file(kakao.service_app, PNG, "image/png", "a.png")
    attachment["url"] = "/files/a?expires=1&signature=s"

    with pytest.raises(DeliveryFailed) as failed:
        await output.send_response(
            SENDER,
            {"text": "a.png", "agent": "Mina", "tandem_attachment": attachment},
        )

    assert failed.value.permanent
    assert kakao.kakao.events == []


def test_a_photo_in_a_skill_response_is_a_simple_image() -> None:
    attachment = {
        "id": "p1",
        "media_type": "image/jpeg",
        "filename": "map.jpg",
        "size_bytes": 10,
        "url": "https://care.example.com/files/p1?expires=1&signature=s",
    }

    answer, overflow = skill_response(
        bubbles_of([{"text": "지도예요", "tandem_attachment": attachment}]),
        empty_text="-",
    )

    assert answer["template"]["outputs"] == [
        {"simpleText": {"text": "지도예요"}},
        {"simpleImage": {"imageUrl": attachment["url"], "altText": "이미지 (image)"}},
    ]
    assert overflow == []


def test_the_photo_hosts_come_from_the_environment() -> None:
    environ = {
        "TANDEM_KAKAO_BOT_ID": BOT_ID,
        "TANDEM_KAKAO_REST_API_KEY": REST_API_KEY,
        "TANDEM_KAKAO_SKILL_SECRET": SECRET,
    }
    default = KakaoSettings.from_environment(environ)
    chosen = KakaoSettings.from_environment(
        {**environ, "TANDEM_KAKAO_MEDIA_HOSTS": " kakaocdn.net, Images.Example.com ,"}
    )

    assert default is not None and default.media_hosts == ("kakaocdn.net",)
    assert chosen is not None
    assert chosen.media_hosts == ("kakaocdn.net", "images.example.com")
