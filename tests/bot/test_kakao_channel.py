"""The KakaoTalk channel against a stand-in of Kakao: which skill requests it
believes, the skill responses it gives within Open Builder's limits, callbacks for
slow turns, Event API messages and their failures, and requests sent twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage, register
from rasa.shared.exceptions import RasaException
from sanic import Sanic, response

from bot.channels.delivery import DeliveryFailed
from bot.channels.kakao import KakaoInput, KakaoSettings
from bot.channels.kakao_events import KakaoEventApi
from bot.channels.kakao_repeats import KakaoRepeats
from bot.channels.kakao_skill import notice
from bot.message_rate import MessageRate
from tests.ports import free_port
from tests.standins.kakao_api import (
    KakaoStandIn,
    OpenBuilder,
    skill_response_problems,
)

BOT_ID = "5f6e7d8c9b0a1234567890ab"
REST_API_KEY = "rest-api-key"
SECRET = "skill-secret"
USER = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
WRONG_SECRET = "The X-Tandem-Skill-Secret header is wrong."
REPLY_SECONDS = 0.4
SLOW_SECONDS = 1.0
BILL = "이번 달 요금은 55,000원이에요"


Behaviour = Callable[[UserMessage], Awaitable[None]]


class ScriptedAgent:
    """Stands in for Rasa's agent: answers each text as the test scripted it, and
    echoes anything else."""

    def __init__(self) -> None:
        self.heard: list[UserMessage] = []
        self.script: dict[str, Behaviour] = {}

    async def handle_message(self, message: UserMessage) -> None:
        self.heard.append(message)
        behaviour = self.script.get(message.text or "")
        if behaviour is not None:
            await behaviour(message)
            return
        await message.output_channel.send_response(
            message.sender_id, {"text": f"echo {message.text}"}
        )


@dataclass
class Kakao:
    """The channel in a Sanic app, Kakao's stand-in beside it, and Open Builder."""

    webhook: str
    stand_in: KakaoStandIn
    stand_in_url: str
    agent: ScriptedAgent
    channel: KakaoInput
    builder: OpenBuilder

    async def say(self, text: str, **options: Any) -> tuple[int, dict[str, Any]]:
        return await self.builder.send(text, USER, **options)

    async def events_until(self, count: int) -> list[dict[str, Any]]:
        for _ in range(100):
            if len(self.stand_in.events) >= count:
                return self.stand_in.events
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} events expected, got {self.stand_in.events}")

    async def callbacks_until(self, count: int) -> list[dict[str, Any]]:
        for _ in range(100):
            if len(self.stand_in.callbacks) >= count:
                return self.stand_in.callbacks
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} callbacks expected: {self.stand_in.refused}")

    async def fail_next(self, status: int, times: int = 1, **order: Any) -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.stand_in_url}/_fail",
                json={"status": status, "times": times, **order},
            ) as answer,
        ):
            assert answer.status == 200


@asynccontextmanager
async def running_kakao(repeats: KakaoRepeats | None = None) -> AsyncIterator[Kakao]:
    """A Rasa server's KakaoTalk channel in a Sanic app of its own, beside a Kakao
    stand-in of its own; ``repeats``, the requests seen, may be shared with
    another. Needs ``Sanic.test_mode``."""
    stand_in = KakaoStandIn(bot_id=BOT_ID, rest_api_key=REST_API_KEY)
    runner = web.AppRunner(stand_in.app())
    await runner.setup()
    stand_in_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", stand_in_port).start()
    stand_in_url = f"http://127.0.0.1:{stand_in_port}"

    settings = KakaoSettings(
        bot_id=BOT_ID,
        rest_api_key=REST_API_KEY,
        skill_secret=SECRET,
        event_api_url=stand_in_url,
        reply_seconds=REPLY_SECONDS,
    )
    channel = KakaoInput(settings, repeats=repeats)
    app = Sanic(f"kakao-channel-{uuid.uuid4().hex}")
    agent = ScriptedAgent()
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    await server.startup()
    await server.start_serving()
    webhook = f"http://127.0.0.1:{port}/webhooks/kakao/webhook"
    try:
        yield Kakao(
            webhook=webhook,
            stand_in=stand_in,
            stand_in_url=stand_in_url,
            agent=agent,
            channel=channel,
            builder=OpenBuilder(
                webhook, secret=SECRET, bot_id=BOT_ID, standin_url=stand_in_url
            ),
        )
    finally:
        server.close()
        await server.wait_closed()
        await channel.close()
        await runner.cleanup()


@pytest.fixture
async def kakao(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Kakao]:
    monkeypatch.setattr(Sanic, "test_mode", True)
    async with running_kakao() as running:
        yield running


def texts(answer: dict[str, Any]) -> list[str]:
    return [
        output["simpleText"]["text"]
        for output in answer["template"]["outputs"]
        if "simpleText" in output
    ]


def says(*texts: str) -> Behaviour:
    async def speak(message: UserMessage) -> None:
        for text in texts:
            await message.output_channel.send_response(
                message.sender_id, {"text": text}
            )

    return speak


# Which requests are believed


async def test_a_skill_request_reaches_the_bot_as_the_customers_conversation(
    kakao: Kakao,
) -> None:
    status, answer = await kakao.say("안녕하세요")
    assert status == 200
    assert answer == {
        "version": "2.0",
        "template": {"outputs": [{"simpleText": {"text": "echo 안녕하세요"}}]},
    }
    [heard] = kakao.agent.heard
    assert (heard.sender_id, heard.input_channel) == (f"kakao:{USER}", "kakao")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "The X-Tandem-Skill-Secret header is missing."),
        ({"X-Tandem-Skill-Secret": "guess"}, WRONG_SECRET),
        ({"X-Tandem-Skill-Secret": SECRET + "x"}, WRONG_SECRET),
    ],
    ids=["missing", "wrong", "longer"],
)
async def test_a_request_without_the_skill_secret_is_refused_unheard(
    kakao: Kakao, headers: dict[str, str], message: str
) -> None:
    async with aiohttp.ClientSession() as session:
        status, answer = await kakao.builder.post(
            session, kakao.builder.payload("안녕하세요", USER), headers=headers
        )
    assert (status, answer) == (401, {"error": "unauthorized", "message": message})
    assert kakao.agent.heard == []


async def test_a_request_for_another_bot_is_refused_unheard(kakao: Kakao) -> None:
    other = OpenBuilder(kakao.webhook, secret=SECRET, bot_id="another-bot")
    status, answer = await other.send("안녕하세요", USER)
    assert (status, answer["error"]) == (403, "wrong_bot")
    assert kakao.agent.heard == []


WRONG_USER_ID = "userRequest.user.id may hold only letters, digits, '.', '_', '~', '-'."
MALFORMED: dict[str, tuple[tuple[str, ...], object, str]] = {
    "no-bot": (("bot",), None, "bot is missing."),
    "no-user-request": (("userRequest",), None, "userRequest is missing."),
    "no-user-id": (
        ("userRequest", "user", "id"),
        None,
        "userRequest.user.id is missing.",
    ),
    "no-utterance": (
        ("userRequest", "utterance"),
        None,
        "userRequest.utterance is missing.",
    ),
    "number-utterance": (
        ("userRequest", "utterance"),
        42,
        "userRequest.utterance must be a string.",
    ),
    "blank-utterance": (
        ("userRequest", "utterance"),
        "   ",
        "userRequest.utterance is empty.",
    ),
    "long-utterance": (
        ("userRequest", "utterance"),
        "가" * 2001,
        "userRequest.utterance is longer than 2000 characters.",
    ),
    "spaced-user-id": (("userRequest", "user", "id"), "a b", WRONG_USER_ID),
    "slashed-user-id": (("userRequest", "user", "id"), "a/../b", WRONG_USER_ID),
    "user-not-object": (
        ("userRequest", "user"),
        [],
        "userRequest.user must be an object.",
    ),
    "plain-http-callback": (
        ("userRequest", "callbackUrl"),
        "http://evil.example/cb",
        "userRequest.callbackUrl must be an https URL.",
    ),
}


def changed(
    payload: dict[str, Any], path: tuple[str, ...], value: object
) -> dict[str, Any]:
    """``payload`` with the field at ``path`` set to ``value``, or removed for None."""
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return payload


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_skill_request_is_refused_unheard(
    kakao: Kakao, case: str
) -> None:
    path, value, message = MALFORMED[case]
    payload = changed(kakao.builder.payload("안녕하세요", USER), path, value)
    async with aiohttp.ClientSession() as session:
        status, answer = await kakao.builder.post(session, payload)
    assert (status, answer) == (400, {"error": "bad_request", "message": message})
    assert kakao.agent.heard == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "the body is not a JSON object"),
        (b"\xff\xfe", "the body is not JSON"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    kakao: Kakao, body: bytes, message: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            kakao.webhook, data=body, headers={"X-Tandem-Skill-Secret": SECRET}
        ) as answer,
    ):
        assert answer.status == 400
        refusal = await answer.json()
        assert refusal["error"] == "malformed_json"
        assert refusal["message"].startswith(message)
    assert kakao.agent.heard == []


async def test_an_oversized_body_is_refused_before_it_is_parsed(kakao: Kakao) -> None:
    payload = kakao.builder.payload("안녕하세요", USER)
    payload["contexts"] = ["x" * 70_000]
    async with aiohttp.ClientSession() as session:
        status, answer = await kakao.builder.post(session, payload)
    assert status == 413
    assert answer["error"] == "too_large"
    assert kakao.agent.heard == []


# Skill responses within Open Builder's limits


async def test_a_long_text_is_split_at_paragraphs_into_bubbles_of_1000(
    kakao: Kakao,
) -> None:
    paragraphs = [f"{index}번 안내: " + "가나다라 " * 60 for index in range(6)]
    long_text = "\n\n".join(paragraphs)
    assert len(long_text) > 1800
    kakao.agent.script["약관"] = says(long_text)
    _, answer = await kakao.say("약관")
    assert skill_response_problems(answer) == []
    shown = texts(answer)
    assert 2 <= len(shown) <= 3
    assert all(len(text) <= 1000 for text in shown)
    assert "\n\n".join(shown).split() == long_text.split()
    assert all(text.startswith(tuple(f"{i}번" for i in range(6))) for text in shown)


async def test_more_messages_than_bubbles_are_joined_in_order(kakao: Kakao) -> None:
    kakao.agent.script["여러 개"] = says("하나", "둘", "셋", "넷", "다섯")
    _, answer = await kakao.say("여러 개")
    assert skill_response_problems(answer) == []
    shown = texts(answer)
    assert len(shown) == 3
    assert "\n\n".join(shown).split("\n\n") == ["하나", "둘", "셋", "넷", "다섯"]
    assert kakao.stand_in.events == []


async def test_what_three_bubbles_cannot_hold_follows_through_the_event_api(
    kakao: Kakao,
) -> None:
    long_messages = [f"{index}: " + "요금 " * 300 for index in range(5)]
    kakao.agent.script["긴 답"] = says(*long_messages)
    _, answer = await kakao.say("긴 답")
    assert skill_response_problems(answer) == []
    assert [text[:2] for text in texts(answer)] == ["0:", "1:", "2:"]
    events = await kakao.events_until(2)
    assert [event["text"][:2] for event in events] == ["3:", "4:"]
    assert events[0]["users"] == [{"type": "botUserKey", "id": USER}]
    assert events[0]["event"] == "tandem_message"


async def test_buttons_become_at_most_ten_quick_replies_with_short_labels(
    kakao: Kakao,
) -> None:
    buttons = [
        {"title": f"{n}번째 아주 긴 선택지 이름입니다", "payload": f"/choose{n}"}
        for n in range(12)
    ]

    async def ask(message: UserMessage) -> None:
        await message.output_channel.send_response(
            message.sender_id, {"text": "골라 주세요", "buttons": buttons}
        )

    kakao.agent.script["선택"] = ask
    _, answer = await kakao.say("선택")
    assert skill_response_problems(answer) == []
    replies = answer["template"]["quickReplies"]
    assert len(replies) == 10
    assert replies[0] == {
        "label": "0번째 아주 긴 선택지…",
        "action": "message",
        "messageText": "0번째 아주 긴 선택지 이름입니다",
        "extra": {"payload": "/choose0"},
    }
    assert all(len(reply["label"]) <= 14 for reply in replies)


async def test_a_button_with_a_plain_payload_sends_the_payload(kakao: Kakao) -> None:
    async def ask(message: UserMessage) -> None:
        await message.output_channel.send_response(
            message.sender_id,
            {
                "text": "만족도를 골라 주세요",
                "buttons": [
                    {"title": "5", "payload": "5"},
                    {"title": "4", "payload": "4"},
                ],
            },
        )

    kakao.agent.script["평가"] = ask
    _, answer = await kakao.say("평가")
    assert answer["template"]["quickReplies"] == [
        {"label": "5", "action": "message", "messageText": "5"},
        {"label": "4", "action": "message", "messageText": "4"},
    ]


async def test_a_pressed_quick_reply_reaches_the_bot_as_its_payload(
    kakao: Kakao,
) -> None:
    await kakao.say("네, 연결해 주세요", client_extra={"payload": "/affirm"})
    await kakao.say("아니요", client_extra={"payload": "not an intent"})
    assert [message.text for message in kakao.agent.heard] == ["/affirm", "아니요"]


async def test_an_image_is_a_simple_image(kakao: Kakao) -> None:
    async def show(message: UserMessage) -> None:
        await message.output_channel.send_response(
            message.sender_id,
            {"text": "요금제 비교표예요", "image": "https://example.com/plans.png"},
        )

    kakao.agent.script["비교표"] = show
    _, answer = await kakao.say("비교표")
    assert skill_response_problems(answer) == []
    assert answer["template"]["outputs"] == [
        {"simpleText": {"text": "요금제 비교표예요"}},
        {
            "simpleImage": {
                "imageUrl": "https://example.com/plans.png",
                "altText": "이미지 (image)",
            }
        },
    ]


async def test_a_silent_turn_still_answers_in_the_customers_language(
    kakao: Kakao,
) -> None:
    async def nothing(_: UserMessage) -> None:
        return None

    kakao.agent.script["상담 중 메시지"] = nothing
    kakao.agent.script["a message while paused"] = nothing
    _, korean = await kakao.say("상담 중 메시지")
    _, english = await kakao.say("a message while paused")
    assert texts(korean) == [notice("received", "ko")]
    assert texts(english) == [notice("received", "en")]


async def test_a_failing_turn_apologises(kakao: Kakao) -> None:
    async def crash(message: UserMessage) -> None:
        await message.output_channel.send_response(
            message.sender_id, {"text": "잠시만요"}
        )
        raise RuntimeError("action server down")

    kakao.agent.script["고장"] = crash
    status, answer = await kakao.say("고장")
    assert status == 200
    assert texts(answer) == ["잠시만요", notice("failed", "ko")]


# Turns that outrun the skill response


def slow(first: str, then: str) -> Behaviour:
    async def speak(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": first})
        await asyncio.sleep(SLOW_SECONDS)
        await message.output_channel.send_response(message.sender_id, {"text": then})

    return speak


async def test_a_slow_turn_with_a_callback_url_finishes_through_the_callback(
    kakao: Kakao,
) -> None:
    kakao.agent.script["느린 질문"] = slow("조회해 볼게요", BILL)
    status, answer = await kakao.say("느린 질문", callback=True)
    assert status == 200
    assert answer == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": notice("working", "ko")},
    }
    [callback] = await kakao.callbacks_until(1)
    assert texts(callback["response"]) == ["조회해 볼게요", BILL]
    assert kakao.stand_in.events == []


async def test_a_slow_turn_without_a_callback_answers_what_is_ready(
    kakao: Kakao,
) -> None:
    kakao.agent.script["느린 질문"] = slow("조회해 볼게요", BILL)
    _, answer = await kakao.say("느린 질문")
    assert texts(answer) == ["조회해 볼게요"]
    [event] = await kakao.events_until(1)
    assert event["text"] == BILL


async def test_a_turn_silent_at_the_deadline_says_it_is_working(kakao: Kakao) -> None:
    async def late(message: UserMessage) -> None:
        await asyncio.sleep(SLOW_SECONDS)
        await message.output_channel.send_response(message.sender_id, {"text": "done"})

    kakao.agent.script["slow question"] = late
    _, answer = await kakao.say("slow question")
    assert texts(answer) == [notice("working", "en")]
    [event] = await kakao.events_until(1)
    assert event["text"] == "done"


async def test_a_failed_callback_falls_back_to_the_event_api(kakao: Kakao) -> None:
    kakao.agent.script["느린 질문"] = slow("조회해 볼게요", "55,000원이에요")
    async with aiohttp.ClientSession() as session:
        callback_url = await kakao.builder.new_callback_url(session)
        # Someone else used the one-time URL first.
        async with session.post(
            callback_url, json={"version": "2.0", "useCallback": True}
        ) as used:
            assert used.status == 200
        status, _ = await kakao.builder.post(
            session, kakao.builder.payload("느린 질문", USER, callback_url=callback_url)
        )
    assert status == 200
    events = await kakao.events_until(2)
    assert [event["text"] for event in events] == ["조회해 볼게요", "55,000원이에요"]


# Requests sent again


async def test_a_request_sent_again_while_running_is_told_to_wait(
    kakao: Kakao,
) -> None:
    kakao.agent.script["느린 질문"] = slow("조회해 볼게요", "55,000원이에요")
    first, again = await asyncio.gather(
        kakao.say("느린 질문", callback=True),
        kakao.say("느린 질문", callback=True),
    )
    answers = sorted([first[1], again[1]], key=lambda answer: "useCallback" in answer)
    assert texts(answers[0]) == [notice("duplicate", "ko")]
    assert answers[1]["useCallback"] is True
    assert len(kakao.agent.heard) == 1


async def test_a_request_sent_again_after_its_answer_gets_the_same_answer(
    kakao: Kakao,
) -> None:
    _, first = await kakao.say("요금 알려 주세요")
    _, again = await kakao.say("요금 알려 주세요")
    assert again == first
    assert len(kakao.agent.heard) == 1
    await kakao.say("다른 질문")
    assert len(kakao.agent.heard) == 2


# Messages that start later: the Event API


async def test_an_agents_reply_goes_out_with_the_agents_name(kakao: Kakao) -> None:
    output = kakao.channel.get_output_channel()
    assert output is not None
    await output.send_response(
        f"kakao:{USER}",
        {"text": "무엇을 도와드릴까요?", "agent": "Mina Kim", "tandem_message_id": 7},
    )
    await output.send_response(
        f"kakao:{USER}", {"text": "대기 순번 1번", "tandem_notice": True}
    )
    recipient = [{"type": "botUserKey", "id": USER}]
    assert [(event["text"], event["users"]) for event in kakao.stand_in.events] == [
        ("Mina Kim: 무엇을 도와드릴까요?", recipient),
        ("대기 순번 1번", recipient),
    ]


async def test_the_greeting_after_close_lists_its_buttons(kakao: Kakao) -> None:
    output = kakao.channel.get_output_channel()
    assert output is not None
    await output.send_response(
        f"kakao:{USER}",
        {
            "text": "상담은 어떠셨나요?",
            "buttons": [{"title": "5", "payload": "5"}, {"title": "1", "payload": "1"}],
        },
    )
    [event] = kakao.stand_in.events
    assert event["text"] == "상담은 어떠셨나요?\n\n• 5\n• 1"


async def test_transient_event_api_errors_are_retried(kakao: Kakao) -> None:
    await kakao.fail_next(503, times=1)
    await kakao.fail_next(429, times=1, retry_after="1")
    output = kakao.channel.get_output_channel()
    assert output is not None
    await output.send_response(f"kakao:{USER}", {"text": "hello", "agent": "Joon"})
    assert [event["text"] for event in kakao.stand_in.events] == ["Joon: hello"]
    assert [attempt["status"] for attempt in kakao.stand_in.refused] == [503, 429]


def event_api(kakao: Kakao, **changes: Any) -> KakaoEventApi:
    options: dict[str, Any] = {
        "base_url": kakao.stand_in_url,
        "bot_id": BOT_ID,
        "rest_api_key": REST_API_KEY,
        "event_name": "tandem_message",
        "base_delay": 0.01,
        **changes,
    }
    return KakaoEventApi(kakao.channel._session, **options)


FAILURES: dict[str, tuple[dict[str, Any] | None, dict[str, Any], str, bool]] = {
    "5xx": ({"status": 500, "times": 3}, {}, "platform_error", False),
    "4xx": ({"status": 400}, {}, "platform_error", True),
    "fail-status": (
        {"status": 200, "body": {"status": "FAIL", "message": "no wallet"}},
        {},
        "platform_error",
        True,
    ),
    "timeout": (
        {"status": 200, "times": 3, "delay": 0.5},
        {"request_seconds": 0.1},
        "timeout",
        False,
    ),
    "long-retry-after": (
        {"status": 429, "retry_after": "30"},
        {},
        "platform_error",
        False,
    ),
    "wrong-key": (None, {"rest_api_key": "wrong"}, "platform_error", True),
    "unreachable": (None, {"base_url": "http://127.0.0.1:9"}, "platform_error", False),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_event_api_failures_are_delivery_failures(
    kakao: Kakao, case: str
) -> None:
    failure, changes, reason, permanent = FAILURES[case]
    if failure is not None:
        await kakao.fail_next(**failure)
    with pytest.raises(DeliveryFailed) as raised:
        await event_api(kakao, **changes).send_text(USER, "hello")
    assert (raised.value.channel, raised.value.reason) == ("kakao", reason)
    assert raised.value.permanent is permanent
    assert str(raised.value).startswith(f"tandem-delivery-failed:kakao:{reason}:")
    assert kakao.stand_in.events == []


async def test_a_permanent_failure_is_not_retried(kakao: Kakao) -> None:
    await kakao.fail_next(400, times=3)
    with pytest.raises(DeliveryFailed):
        await event_api(kakao).send_text(USER, "hello")
    assert len(kakao.stand_in.refused) == 1


async def test_a_conversation_of_another_channel_is_not_a_kakao_recipient(
    kakao: Kakao,
) -> None:
    output = kakao.channel.get_output_channel()
    assert output is not None
    with pytest.raises(DeliveryFailed) as raised:
        await output.send_response("bQ3x.signature", {"text": "hello"})
    assert (raised.value.reason, raised.value.permanent) == ("invalid_recipient", True)


async def test_a_long_agent_reply_goes_out_in_pieces_of_1000(kakao: Kakao) -> None:
    output = kakao.channel.get_output_channel()
    assert output is not None
    await output.send_response(
        f"kakao:{USER}", {"text": "안내 " * 700, "agent": "Mina"}
    )
    pieces = [event["text"] for event in kakao.stand_in.events]
    assert len(pieces) == 3
    assert all(len(piece) <= 1000 for piece in pieces)
    assert pieces[0].startswith("Mina: 안내")


# Settings


def test_without_settings_the_channel_is_off() -> None:
    assert KakaoSettings.from_environment({}) is None
    channel = KakaoInput(None)
    assert channel.get_output_channel() is None


def test_some_settings_without_the_others_is_an_error() -> None:
    with pytest.raises(RasaException, match="TANDEM_KAKAO_SKILL_SECRET"):
        KakaoSettings.from_environment(
            {"TANDEM_KAKAO_BOT_ID": BOT_ID, "TANDEM_KAKAO_REST_API_KEY": REST_API_KEY}
        )


def test_settings_come_from_the_environment_with_defaults() -> None:
    environ = {
        "TANDEM_KAKAO_BOT_ID": BOT_ID,
        "TANDEM_KAKAO_REST_API_KEY": REST_API_KEY,
        "TANDEM_KAKAO_SKILL_SECRET": SECRET,
    }
    settings = KakaoSettings.from_environment(environ)
    assert settings == KakaoSettings(
        bot_id=BOT_ID,
        rest_api_key=REST_API_KEY,
        skill_secret=SECRET,
        event_api_url="https://bot-api.kakao.com",
        event_name="tandem_message",
        reply_seconds=3.0,
    )
    for wrong in ("0", "5", "soon"):
        with pytest.raises(RasaException, match="TANDEM_KAKAO_REPLY_SECONDS"):
            KakaoSettings.from_environment(
                {**environ, "TANDEM_KAKAO_REPLY_SECONDS": wrong}
            )


async def test_a_channel_without_settings_serves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"kakao-off-{uuid.uuid4().hex}")
    app.ctx.agent = ScriptedAgent()
    register([KakaoInput(None)], app, route="/webhooks/")

    @app.get("/status")
    async def status(_request: object) -> response.HTTPResponse:
        return response.json({"ok": True})

    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    await server.startup()
    await server.start_serving()
    try:
        builder = OpenBuilder(
            f"http://127.0.0.1:{port}/webhooks/kakao/webhook",
            secret=SECRET,
            bot_id=BOT_ID,
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                builder.webhook_url,
                json=builder.payload("hi", USER),
                headers={"X-Tandem-Skill-Secret": SECRET},
            ) as answer,
        ):
            assert answer.status == 404
        assert app.ctx.agent.heard == []
    finally:
        server.close()
        await server.wait_closed()


async def test_requests_over_the_customers_rate_get_the_notice_unheard(
    kakao: Kakao,
) -> None:
    kakao.channel.rate = MessageRate(per_minute=6, burst=2, clock=lambda: 50.0)

    answers = [await kakao.say(f"문의 {number}") for number in range(3)]

    assert [message.text for message in kakao.agent.heard] == ["문의 0", "문의 1"]
    assert answers[2][0] == 200
    assert texts(answers[2][1]) == [
        "메시지가 너무 빠르게 들어오고 있어요. 10초 뒤에 다시 보내 주세요."
    ]
