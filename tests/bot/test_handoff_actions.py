"""action_handoff against a real local HTTP server standing in for the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies
from actions.handoff import (
    RESET_MOOD,
    ActionHandoff,
    ActionHandoffCancelled,
    ActionHandoffClosed,
    ActionSkipCsatComment,
    ActionSubmitCsat,
    ActionSubmitCsatComment,
    rating_from,
)
from tests.bot.conftest import SERVICE_SECRET, Clock
from tests.bot.tracker_fixtures import load_tracker

SEOUL = ZoneInfo("Asia/Seoul")


# By the shipped business_hours.yml: a working Monday, and the Sunday before it.
AGENTS_AT_WORK = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SEOUL)
AGENTS_AWAY = AGENTS_AT_WORK - dt.timedelta(days=1)


class FakeHandoffService:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.ratings: list[dict[str, Any]] = []
        self.comments: list[tuple[int, dict[str, Any]]] = []
        self.status = 201
        self.position: int | None = 3
        self.wait: int | None = None
        self.url = ""

    async def rate(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SERVICE_SECRET}":
            return web.json_response({"error": "unauthorized"}, status=401)
        self.ratings.append(await request.json())
        return web.json_response({"id": 41}, status=self.status)

    async def comment(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SERVICE_SECRET}":
            return web.json_response({"error": "unauthorized"}, status=401)
        self.comments.append((int(request.match_info["id"]), await request.json()))
        if self.status >= 400:
            return web.json_response({"error": "boom"}, status=self.status)
        return web.json_response({"id": int(request.match_info["id"])})

    async def create(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SERVICE_SECRET}":
            return web.json_response({"error": "unauthorized"}, status=401)
        self.requests.append(await request.json())
        if self.status >= 400:
            return web.json_response({"error": "boom"}, status=self.status)
        body = {
            "id": 7,
            "status": "queued" if self.position is not None else "assigned",
            "queue_position": self.position,
            "estimated_wait_seconds": self.wait,
        }
        return web.json_response(body, status=self.status)


@pytest.fixture
async def service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> FakeHandoffService:
    fake = FakeHandoffService()
    app = web.Application()
    app.router.add_post("/api/rasa/handoffs", fake.create)
    app.router.add_post("/api/rasa/csat", fake.rate)
    app.router.add_patch("/api/rasa/csat/{id}", fake.comment)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url(""))
    return fake


@pytest.fixture
def clock() -> Clock:
    """Agents at work, unless a test moves the clock."""
    return Clock(AGENTS_AT_WORK)


@pytest.fixture
def handoff_url(service: FakeHandoffService) -> str:
    return service.url


async def run_handoff(
    dependencies: Dependencies, name: str
) -> tuple[list[Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(dependencies).run(dispatcher, load_tracker(name), {})
    return events, dispatcher.messages


async def test_posts_the_context_tells_the_position_and_pauses(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, messages = await run_handoff(dependencies, "handoff_requested_ko")
    assert events == [*RESET_MOOD, ConversationPaused()]
    # Nobody could say how long (the service answered no estimate).
    assert messages == [
        {
            **messages[0],
            "response": "utter_handoff_queued_unknown_wait",
            "queue_position": 3,
            "handoff_status": "queued",
        }
    ]
    [context] = service.requests
    summary = context.pop("summary")
    # Staff pages name the reason from its own field, in the agent's language.
    assert "human_requested" not in summary["en"] + summary["ko"]
    assert "상담원 연결해 주세요" in summary["ko"]
    assert context == {
        "sender_id": "customer-ko-1",
        "channel": "socketio",
        "language": "ko",
        "reason": "human_requested",
        "trigger": "explicit_request",
        "skill": "general",
        "priority": "normal",
        "intent": {"name": "request_human", "confidence": 0.97},
        "entities": [],
        "slots": {"language": "ko"},
        "verified_identity": None,
        "lookups": [],
        "transcript": [
            {
                "role": "user",
                "text": "안녕하세요",
                "timestamp": 1732290001.0,
                "intent": "greet",
                "confidence": 0.99,
            },
            {
                "role": "bot",
                "text": "안녕하세요! 고객센터 챗봇 탠덤입니다.",
                "timestamp": 1732290001.5,
            },
            {
                "role": "user",
                "text": "상담원 연결해 주세요",
                "timestamp": 1732290005.0,
                "intent": "request_human",
                "confidence": 0.97,
            },
        ],
    }


async def test_angry_complaint_mid_form_ends_the_form_and_apologises(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, messages = await run_handoff(dependencies, "complaint_mid_form_en")
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *RESET_MOOD,
        ConversationPaused(),
    ]
    assert [m["response"] for m in messages] == [
        "utter_handoff_empathy",
        "utter_handoff_queued_unknown_wait",
    ]
    [context] = service.requests
    assert context["reason"] == "angry_customer"
    assert (context["trigger"], context["priority"]) == ("emotion", "high")
    assert context["skill"] == "billing"
    assert context["language"] == "en"
    assert context["channel"] == "rest"
    assert context["entities"] == [{"entity": "amount", "value": "$30"}]
    assert "requested_slot" not in context["slots"]
    assert [turn["role"] for turn in context["transcript"]] == ["user", "bot", "user"]


@pytest.mark.parametrize("status", [500, 503, 400])
async def test_service_error_apologises_and_does_not_pause(
    service: FakeHandoffService, status: int, dependencies: Dependencies
) -> None:
    service.status = status
    events, messages = await run_handoff(dependencies, "handoff_requested_ko")
    assert ConversationPaused() not in events
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]


@pytest.mark.parametrize("tracker", ["handoff_requested_ko", "complaint_mid_form_en"])
async def test_a_customer_over_the_handoff_limit_is_told_so(
    service: FakeHandoffService, dependencies: Dependencies, tracker: str
) -> None:
    service.status = 429
    events, messages = await run_handoff(dependencies, tracker)
    assert ConversationPaused() not in events
    assert [m["response"] for m in messages] == ["utter_handoff_limited"]
    assert len(service.requests) == 1


async def test_wrong_secret_apologises_and_does_not_pause(
    service: FakeHandoffService, connect: Callable[..., Dependencies]
) -> None:
    dependencies = connect(service.url, "wrong")
    events, messages = await run_handoff(dependencies, "handoff_requested_ko")
    assert events == []
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]


async def test_service_down_apologises_and_does_not_pause(
    connect: Callable[..., Dependencies], unused_tcp_port: int
) -> None:
    dependencies = connect(f"http://127.0.0.1:{unused_tcp_port}")
    events, messages = await run_handoff(dependencies, "complaint_mid_form_en")
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]


async def test_out_of_hours_offers_a_callback_or_ticket_and_queues_nothing(
    service: FakeHandoffService, dependencies: Dependencies, clock: Clock
) -> None:
    clock.now = AGENTS_AWAY
    events, messages = await run_handoff(dependencies, "complaint_mid_form_en")
    assert service.requests == []
    assert [m["response"] for m in messages] == ["utter_handoff_closed_hours"]
    assert ConversationPaused() not in events
    assert events[:2] == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert SlotSet("pending_handoff_reason", "angry_customer") in events
    assert (
        SlotSet(
            "pending_handoff_routing",
            {"trigger": "emotion", "skill": "billing", "priority": "high"},
        )
        in events
    )
    assert events[-1] == ActiveLoop("offline_contact_form")


async def test_sends_who_was_verified_and_what_was_looked_up(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    base = load_tracker("handoff_requested_ko")
    events = [
        *base.events[:-1],
        {
            "event": "slot",
            "timestamp": 1732290003.0,
            "name": "verified_customer_id",
            "value": "1",
        },
        {
            "event": "bot",
            "timestamp": 1732290004.0,
            "text": "김민준님의 2026년 11월 청구 금액은 35,200원입니다.",
            "metadata": {
                "utter_action": "utter_current_bill",
                "amount": "35,200원",
                "model_id": "m",
                "assistant_id": "tandem",
            },
        },
        base.events[-1],
    ]
    tracker = load_tracker(
        "handoff_requested_ko",
        events=events,
        slots={
            "language": "ko",
            "verified_customer_id": "1",
            "verified_customer_name": "김민준",
            "phone_number": "010-1234-5678",
            "otp_sent_to": "010-1234-5678",
        },
    )
    await ActionHandoff(dependencies).run(CollectingDispatcher(), tracker, {})
    [context] = service.requests
    assert context["verified_identity"] == {
        "customer_id": "1",
        "name": "김민준",
        "phone_number": "010-1234-5678",
        "verified_at": 1732290003.0,
    }
    assert context["lookups"] == [
        {
            "kind": "bill",
            "summary": "김민준님의 2026년 11월 청구 금액은 35,200원입니다.",
            "data": {"amount": "35,200원"},
        }
    ]
    assert "otp_sent_to" not in context["slots"]
    assert "Verified as 김민준" in context["summary"]["en"]


@pytest.mark.parametrize(
    ("position", "wait", "message"),
    [
        (
            3,
            130,
            {
                "response": "utter_handoff_queued",
                "queue_position": 3,
                "wait_minutes": 3,
            },
        ),
        (1, 0, {"response": "utter_handoff_queued_minute", "queue_position": 1}),
        (2, 60, {"response": "utter_handoff_queued_minute", "queue_position": 2}),
        (
            14,
            None,
            {"response": "utter_handoff_queued_unknown_wait", "queue_position": 14},
        ),
        (None, None, {"response": "utter_handoff_assigned"}),
    ],
)
async def test_one_message_tells_the_position_the_wait_and_the_way_out(
    service: FakeHandoffService,
    dependencies: Dependencies,
    position: int | None,
    wait: int | None,
    message: dict[str, Any],
) -> None:
    service.position, service.wait = position, wait
    _, messages = await run_handoff(dependencies, "handoff_requested_ko")
    expected = (
        message
        if message["response"] == "utter_handoff_assigned"
        else {**message, "handoff_status": "queued"}
    )
    assert messages == [{**messages[0], **expected}]
    # Nothing else filled in: no wait where it is unknown.
    filled = {key for key, value in messages[0].items() if value} - {"template"}
    assert filled == {*expected}


async def test_sends_the_emotion_over_time(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    history = [
        {"timestamp": 1.0, "anger": 0.1, "frustration": 0.2, "distress": 0.0},
        {"timestamp": 2.0, "anger": 0.9, "frustration": 0.9, "distress": 0.1},
    ]
    tracker = load_tracker(
        "handoff_requested_ko",
        slots={"language": "ko", "emotion_history": history, "frustration": 0.9},
    )
    await ActionHandoff(dependencies).run(CollectingDispatcher(), tracker, {})
    [context] = service.requests
    assert context["emotion"] == {
        "scores": {"anger": 0.9, "frustration": 0.9, "distress": 0.1},
        "history": history,
    }
    assert "emotion_history" not in context["slots"]


async def test_closing_greets_the_customer_back_and_asks_for_a_rating() -> None:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker("handoff_requested_ko")
    assert await ActionHandoffClosed().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_closed",
        "utter_ask_csat",
    ]


async def test_leaving_the_queue_hands_back_to_the_bot() -> None:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker("handoff_requested_ko")
    assert await ActionHandoffCancelled().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_cancelled"]


async def rate(
    dependencies: Dependencies, text: str, handoff_id: float | None
) -> tuple[list[Any], list[Any]]:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker(
        "handoff_requested_ko",
        slots={"language": "ko", "handoff_id": handoff_id},
        latest_message={"text": text, "intent": {"name": "rate_service"}},
    )
    events = await ActionSubmitCsat(dependencies).run(dispatcher, tracker, {})
    return events, [m["response"] for m in dispatcher.messages]


async def test_rating_of_a_handoff_is_sent_then_a_comment_asked_for(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, responses = await rate(dependencies, "4점이요", 7.0)
    assert service.ratings == [
        {"sender_id": "customer-ko-1", "score": 4, "handoff_id": 7}
    ]
    # The form asks for the comment itself.
    assert responses == []
    assert events == [
        SlotSet("handoff_id", None),
        SlotSet("csat_rating_id", 41),
        SlotSet("csat_comment", None),
        ActiveLoop("csat_comment_form"),
    ]


async def test_rating_of_the_bot_alone_has_no_handoff(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    await rate(dependencies, "five stars", None)
    assert service.ratings == [
        {"sender_id": "customer-ko-1", "score": 5, "handoff_id": None}
    ]


async def test_no_score_asks_again(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, responses = await rate(dependencies, "음 글쎄요", 7.0)
    assert (events, responses, service.ratings) == ([], ["utter_ask_csat"], [])


async def test_rating_with_the_service_down_still_thanks_and_asks_no_comment(
    connect: Callable[..., Dependencies], unused_tcp_port: int
) -> None:
    dependencies = connect(f"http://127.0.0.1:{unused_tcp_port}")
    events, responses = await rate(dependencies, "3", 7.0)
    assert responses == ["utter_csat_thanks"]
    assert events == [SlotSet("handoff_id", None)]


async def test_a_refused_rating_still_thanks(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    service.status = 409
    events, responses = await rate(dependencies, "3", 7.0)
    assert responses == ["utter_csat_thanks"]
    assert events == [SlotSet("handoff_id", None)]


FORGET_RATING = [SlotSet("csat_rating_id", None), SlotSet("csat_comment", None)]


async def comment(
    dependencies: Dependencies, text: str | None, rating_id: float | None = 41.0
) -> tuple[list[Any], list[Any]]:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker(
        "handoff_requested_ko",
        slots={"language": "ko", "csat_rating_id": rating_id, "csat_comment": text},
    )
    events = await ActionSubmitCsatComment(dependencies).run(dispatcher, tracker, {})
    return events, [m["response"] for m in dispatcher.messages]


async def test_the_comment_joins_the_rating(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, responses = await comment(dependencies, "  상담원분이 친절했어요 ")
    assert service.comments == [
        (41, {"sender_id": "customer-ko-1", "comment": "상담원분이 친절했어요"})
    ]
    assert responses == ["utter_csat_comment_thanks"]
    assert events == FORGET_RATING


async def test_a_long_comment_is_cut_to_what_the_service_keeps(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    await comment(dependencies, "가" * 1500)
    [(_, body)] = service.comments
    assert body["comment"] == "가" * 1000


async def test_a_comment_with_the_service_down_still_thanks(
    connect: Callable[..., Dependencies], unused_tcp_port: int
) -> None:
    dependencies = connect(f"http://127.0.0.1:{unused_tcp_port}")
    events, responses = await comment(dependencies, "좋았어요")
    assert responses == ["utter_csat_comment_thanks"]
    assert events == FORGET_RATING


async def test_a_refused_comment_still_thanks(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    service.status = 409
    events, responses = await comment(dependencies, "좋았어요")
    assert len(service.comments) == 1
    assert (events, responses) == (FORGET_RATING, ["utter_csat_comment_thanks"])


async def test_without_a_rating_no_comment_is_sent(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    _, responses = await comment(dependencies, "좋았어요", rating_id=None)
    assert service.comments == []
    assert responses == ["utter_csat_comment_thanks"]


async def test_skipping_the_comment_closes_the_form() -> None:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker(
        "handoff_requested_ko", slots={"language": "ko", "csat_rating_id": 41.0}
    )
    events = await ActionSkipCsatComment().run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_csat_thanks"]
    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), *FORGET_RATING]


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("4점", 4),
        ("4 out of 5", 4),
        ("I'd say three", 3),
        ("10", None),
        ("", None),
    ],
)
def test_rating_from(text: str, score: int | None) -> None:
    assert rating_from(text) == score
