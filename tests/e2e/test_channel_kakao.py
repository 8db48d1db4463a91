"""A KakaoTalk customer through the real Rasa server, action server and handoff
service, with Kakao's side played by tests/standins/kakao_api.py: a bill question
with verification, a handoff, the agent's reply arriving through the Event API with
the agent's name, the customer's answer on the agent's WebSocket, the close, the
greeting back and the rating; a photo each way between customer and agent; and a
customer who blocked the channel, whose agent's reply Kakao took and later reported
failed in the task's result."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from handoff.conversation.chat_sessions import public_handle
from tests.e2e.conftest import MODEL
from tests.e2e.participants import Agent
from tests.e2e.stack import Stack, rasa_tracker, running_stack
from tests.e2e.test_self_service import code_from_outbox, outbox_lines
from tests.sample_files import JPEG, png
from tests.standins.kakao_api import OpenBuilder, skill_response_problems
from tests.standins.processes import running_stand_in

pytestmark = pytest.mark.e2e

BOT_ID = "6a1b2c3d4e5f60718293a4b5"
REST_API_KEY = secrets.token_urlsafe(16)
SKILL_SECRET = secrets.token_urlsafe(16)
# How soon the channel asks for an agent's reply's Event API task result.
TASK_CHECK_SECONDS = 0.5
# Where customers open the files agents send them: the edge, which passes /files/
# on to the service.
PUBLIC_URL = "https://tandem.example"


@pytest.fixture(scope="module")
def kakao_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Kakao's stand-in as a process of its own."""
    with running_stand_in(
        [
            *("tests.standins.kakao_api", "serve"),
            *("--bot-id", BOT_ID, "--rest-api-key", REST_API_KEY),
        ],
        tmp_path_factory.mktemp("kakao-api") / "kakao.log",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def kakao_stack(
    tmp_path_factory: pytest.TempPathFactory, kakao_url: str
) -> Iterator[Stack]:
    with running_stack(
        MODEL,
        tmp_path_factory.mktemp("kakao-stack"),
        channel_settings={
            "TANDEM_KAKAO_BOT_ID": BOT_ID,
            "TANDEM_KAKAO_REST_API_KEY": REST_API_KEY,
            "TANDEM_KAKAO_SKILL_SECRET": SKILL_SECRET,
            "TANDEM_KAKAO_EVENT_API_URL": kakao_url,
            # Customers' photos come from Kakao's stand-in, not kakaocdn.net.
            "TANDEM_KAKAO_MEDIA_HOSTS": "127.0.0.1",
            "TANDEM_PUBLIC_URL": PUBLIC_URL,
            "TANDEM_KAKAO_TASK_CHECK_SECONDS": str(TASK_CHECK_SECONDS),
        },
    ) as running:
        yield running


class KakaoCustomer:
    """A KakaoTalk customer: writes through Open Builder's skill requests and reads
    both the skill responses and the Event API messages Kakao's stand-in took."""

    def __init__(self, stack: Stack, kakao_url: str) -> None:
        self.user_id = secrets.token_hex(32)
        self.kakao_url = kakao_url
        self.builder = OpenBuilder(
            f"{stack.rasa_url}/webhooks/kakao/webhook",
            secret=SKILL_SECRET,
            bot_id=BOT_ID,
            standin_url=kakao_url,
        )
        self.unread: list[str] = []
        self.events_read = 0

    @property
    def sender_id(self) -> str:
        return f"kakao:{self.user_id}"

    async def say(self, text: str) -> list[str]:
        """Sends ``text``; the skill response's texts, which are also unread."""
        status, answer = await self.builder.send(text, self.user_id)
        assert status == 200, answer
        assert skill_response_problems(answer) == []
        said = [
            output["simpleText"]["text"]
            for output in answer["template"]["outputs"]
            if "simpleText" in output
        ]
        self.unread.extend(said)
        return said

    async def events(self) -> list[dict[str, Any]]:
        """Every Event API message Kakao took for this customer."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.kakao_url}/_recorded") as answer,
        ):
            recorded = await answer.json()
        return [
            event
            for event in recorded["events"]
            if event["users"] == [{"type": "botUserKey", "id": self.user_id}]
        ]

    async def block_channel(self) -> None:
        """The customer blocks the chatbot's channel in KakaoTalk."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.kakao_url}/_blocked", json={"user": self.user_id}
            ) as answer,
        ):
            assert answer.status == 200

    async def reply_containing(self, fragment: str, timeout: float = 30) -> str:
        """The first unread message with ``fragment``, from a skill response or the
        Event API; messages before it are passed over."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            events = await self.events()
            self.unread.extend(event["text"] for event in events[self.events_read :])
            self.events_read = len(events)
            for index, text in enumerate(self.unread):
                if fragment in text:
                    del self.unread[: index + 1]
                    return text
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing with {fragment!r}; got {self.unread}")
            await asyncio.sleep(0.2)


async def test_a_kakao_customer_verifies_sees_the_bill_and_is_handed_to_an_agent(
    kakao_stack: Stack, kakao_url: str
) -> None:
    customer = KakaoCustomer(kakao_stack, kakao_url)
    agent = Agent(kakao_stack.handoff_url)
    outbox = kakao_stack.var_dir / "dev_outbox.log"
    try:
        await agent.login("mina", kakao_stack.agent_password)

        await customer.say("안녕하세요")
        await customer.reply_containing("챗봇 탠덤입니다")

        await customer.say("이번 달 요금 얼마예요?")
        await customer.reply_containing("휴대폰 번호")
        sent_before = len(outbox_lines(outbox))
        await customer.say("010-1234-5678")
        await customer.reply_containing("인증번호를 보냈어요")
        await customer.say(await code_from_outbox(outbox, sent_before))
        await customer.reply_containing("본인 확인이 완료")
        bill = await customer.reply_containing("청구 금액은")
        assert "\n· " in bill

        await customer.say("상담원 연결해 주세요")
        await customer.reply_containing("대기 순서는")
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == public_handle(customer.sender_id)
        assert handoff["context"]["channel"] == "kakao"
        assert handoff["context"]["verified_identity"] is not None

        status, claimed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/claim"
        )
        assert (status, claimed["status"]) == (200, "assigned")
        reply = "안녕하세요, 상담원 민아입니다. 청구 내역을 같이 볼게요."
        status, sent = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/messages", {"text": reply}
        )
        assert status == 201, sent
        assert await customer.reply_containing(reply) == f"Mina Kim: {reply}"

        # While an agent has the conversation, the bot is silent; the skill
        # response only says the message was passed on.
        answer = "이번 달 요금이 두 번 청구된 것 같아요"
        assert await customer.say(answer) == [
            "메시지를 전달했어요. 답변이 오면 여기로 알려 드릴게요."
        ]
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        assert relayed["message"]["text"] == answer
        assert rasa_tracker(kakao_stack, customer.sender_id)["paused"] is True

        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
        await customer.reply_containing("다시 챗봇이 도와드릴게요")

        await customer.say("5점이요")
        await customer.reply_containing("남기고 싶은 말씀")
        await customer.say("빠르게 정리해 주셔서 좋았어요")
        await customer.reply_containing("소중한 의견 감사합니다")

        status, final = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        [agent_message] = [m for m in final["messages"] if m["role"] == "agent"]
        assert agent_message["text"] == reply
    finally:
        await agent.close()


async def claimed_by_mina(
    stack: Stack, customer: KakaoCustomer, agent: Agent
) -> dict[str, Any]:
    """The customer asks for a person and Mina, signed in, claims the handoff."""
    await agent.login("mina", stack.agent_password)
    await customer.say("상담원 연결해 주세요")
    await customer.reply_containing("대기 순서는")
    handoff: dict[str, Any] = (await agent.frame("handoff.created"))["handoff"]
    status, _ = await agent.call("POST", f"/api/handoffs/{handoff['id']}/claim")
    assert status == 200
    return handoff


async def test_a_kakao_photo_reaches_the_agent_and_the_agents_photo_the_customer(
    kakao_stack: Stack, kakao_url: str
) -> None:
    customer = KakaoCustomer(kakao_stack, kakao_url)
    agent = Agent(kakao_stack.handoff_url)
    try:
        handoff = await claimed_by_mina(kakao_stack, customer, agent)

        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{kakao_url}/_photos",
                json={
                    "name": "router.jpg",
                    "content_base64": base64.b64encode(JPEG).decode("ascii"),
                    "content_type": "image/jpeg",
                },
            ) as stored,
        ):
            photo_url = (await stored.json())["url"]
        status, answer = await customer.builder.send(
            photo_url, customer.user_id, image_url=photo_url
        )
        assert status == 200, answer
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        photo = relayed["message"]["attachment"]
        assert (photo["filename"], photo["media_type"]) == ("router.jpg", "image/jpeg")
        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        [shown] = [m["attachment"] for m in detail["messages"] if m.get("attachment")]
        assert shown["id"] == photo["id"]
        async with agent.session.get(
            f"{kakao_stack.handoff_url}{shown['url']}", headers=agent.headers
        ) as download:
            assert download.status == 200
            assert await download.read() == JPEG

        reply_photo = png(width=8, height=6)
        form = aiohttp.FormData()
        form.add_field("file", reply_photo, filename="공유기 뒷면.png")
        async with agent.session.post(
            f"{kakao_stack.handoff_url}/api/handoffs/{handoff['id']}/attachments",
            data=form,
            headers=agent.headers,
        ) as uploaded:
            assert uploaded.status == 201, await uploaded.text()
            file_id = (await uploaded.json())["id"]
        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"attachment_id": file_id},
        )
        assert (status, sent["delivery"]) == (201, "delivered")
        # The Event API carries text only: the photo goes as its public link.
        assert await customer.reply_containing("공유기 뒷면.png") == (
            "Mina Kim: 공유기 뒷면.png"
        )
        link = await customer.reply_containing(f"{PUBLIC_URL}/files/{file_id}?")
        path = link.removeprefix(PUBLIC_URL)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{kakao_stack.handoff_url}{path}") as opened,
        ):
            assert opened.status == 200
            assert opened.content_type == "image/png"
            assert await opened.read() == reply_photo
    finally:
        await agent.close()


async def test_a_reply_to_a_customer_who_blocked_the_channel_shows_as_failed(
    kakao_stack: Stack, kakao_url: str
) -> None:
    customer = KakaoCustomer(kakao_stack, kakao_url)
    agent = Agent(kakao_stack.handoff_url)
    try:
        handoff = await claimed_by_mina(kakao_stack, customer, agent)
        status, first = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "안녕하세요, 상담원 민아입니다."},
        )
        assert (status, first["delivery"]) == (201, "delivered")
        await customer.reply_containing("상담원 민아입니다")

        await customer.block_channel()
        # Kakao takes the event all the same: the reply goes out "delivered"...
        status, taken = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "요금 내역을 확인해 드릴게요."},
        )
        assert (status, taken["delivery"]) == (201, "delivered")
        # ...and the task's result says it failed: the console gets it again, failed.
        updated = await agent.failed_delivery(handoff["id"], taken["id"])
        assert updated["message"]["delivery_failure"] == {
            "reason": "blocked",
            "permanent": True,
        }

        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        assert status == 200
        replies = {m["id"]: m for m in detail["messages"] if m["role"] == "agent"}
        assert replies[first["id"]]["delivery"] == "delivered"
        assert replies[taken["id"]]["delivery"] == "failed"
        assert replies[taken["id"]]["delivery_failure"] == {
            "reason": "blocked",
            "permanent": True,
        }
    finally:
        await agent.close()


async def test_a_message_kakao_refuses_fails_in_rasas_answer_and_is_not_kept(
    kakao_stack: Stack, kakao_url: str
) -> None:
    """What the handoff service sees when Kakao does not take an agent's reply:
    Rasa's 500 names the failure, and the conversation does not keep the message."""
    customer = KakaoCustomer(kakao_stack, kakao_url)
    await customer.say("hello there")
    await customer.reply_containing("I'm Tandem")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{kakao_url}/_fail",
            json={"status": 400, "body": {"status": "FAIL", "message": "bad user"}},
        ) as ordered:
            assert ordered.status == 200
        async with session.post(
            f"{kakao_stack.rasa_url}/conversations/{customer.sender_id}/tracker/events",
            params={
                "output_channel": "latest",
                "execute_side_effects": "true",
                "token": kakao_stack.rasa_token,
            },
            json={"event": "bot", "text": "never shown", "metadata": {"agent": "Joon"}},
        ) as answer:
            status, body = answer.status, await answer.json()
    assert status == 500
    assert "tandem-delivery-failed:kakao:platform_error:permanent:" in body["message"]
    tracker = rasa_tracker(kakao_stack, customer.sender_id)
    assert not any(event.get("text") == "never shown" for event in tracker["events"])


async def test_without_its_settings_rasa_serves_no_kakao_webhook(stack: Stack) -> None:
    builder = OpenBuilder(
        f"{stack.rasa_url}/webhooks/kakao/webhook", secret=SKILL_SECRET, bot_id=BOT_ID
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            builder.webhook_url,
            json=builder.payload("안녕하세요", "someone"),
            headers={"X-Tandem-Skill-Secret": SKILL_SECRET},
        ) as answer,
    ):
        assert answer.status == 404
