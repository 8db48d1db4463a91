"""What the real actions post to the handoff service keeps to its OpenAPI document.

Every handoff the bot can ask for (each reason, in Korean and English, with and
without a verified customer, queued or as a callback or ticket) and every rating
is captured by a local stand-in of the service and validated against the request
schema of its path in handoff/openapi.yaml.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies
from actions.handoff import (
    MAX_COMMENT_LENGTH,
    ActionHandoff,
    ActionSubmitCsat,
    ActionSubmitCsatComment,
)
from actions.handoff_decision import COMPLEX_TOPICS
from actions.offline_contact import (
    MAX_CALLBACK_TIME_CHARS,
    MAX_DESCRIPTION_CHARS,
    ActionSubmitOfflineContact,
)
from actions.service_contract import openapi_document
from tests.bot.test_handoff_actions import AGENTS_AT_WORK, AGENTS_AWAY
from tests.bot.tracker_fixtures import load_tracker
from tests.openapi_schemas import request_validator, response_validator

SECRET = "contract-secret"
HANDOFFS = "/api/rasa/handoffs"
CSAT = "/api/rasa/csat"
CSAT_COMMENT = "/api/rasa/csat/{id}"
CREATED_AT = "2026-11-23T01:00:00+00:00"


@dataclass
class Posted:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class StandInService:
    """The bot-facing paths of the handoff service: what the document refuses gets
    a 400, the rest a documented answer."""

    posted: list[Posted] = field(default_factory=list)
    url: str = ""

    async def answer(self, request: web.Request) -> web.Response:
        path = request.match_info.route.resource.canonical  # type: ignore[union-attr]
        body = await request.json()
        self.posted.append(Posted(request.method, path, body))
        errors = schema_errors(request.method, path, body)
        if errors:
            status, answer = 400, {"error": "invalid_request", "message": str(errors)}
        else:
            status, answer = documented_answer(request.method, path, body)
        checker = response_validator(openapi_document(), request.method, path, status)
        assert checker is not None
        checker.validate(answer)
        return web.json_response(answer, status=status)

    def only(self, path: str) -> dict[str, Any]:
        [posted] = [posted for posted in self.posted if posted.path == path]
        return posted.body


def documented_answer(
    method: str, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if path == HANDOFFS:
        queued = body.get("mode", "queue") == "queue"
        return 201, {
            **{key: body[key] for key in ("sender_id", "language")},
            # The customer's channel, from the sender id: these are web chat ids.
            "channel": "web",
            **{key: body[key] for key in ("reason", "skill", "priority", "trigger")},
            "id": 7,
            "conversation": "c-0123456789ab",
            "customer_name": None,
            "customer_verified": False,
            "channel_kind": "web_chat",
            "status": "queued" if queued else "offline",
            "assigned_agent_id": None,
            "assigned_agent_name": None,
            "created_at": CREATED_AT,
            "assigned_at": None,
            "resolved_at": None,
            "queue_position": 2 if queued else None,
            "mode": body.get("mode", "queue"),
            "resolution": None,
            "flagged_at": None,
            "estimated_wait_seconds": 240 if queued else None,
        }
    return (201 if method == "POST" else 200), {
        "id": 41,
        "sender_id": body["sender_id"],
        "score": 5,
        "comment": body.get("comment"),
        "handoff_id": body.get("handoff_id"),
        "agent_id": None,
        "created_at": CREATED_AT,
    }


@pytest.fixture
async def service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> StandInService:
    stand_in = StandInService()
    app = web.Application()
    app.router.add_post(HANDOFFS, stand_in.answer)
    app.router.add_post(CSAT, stand_in.answer)
    app.router.add_patch(CSAT_COMMENT, stand_in.answer)
    server = await aiohttp_server(app)
    stand_in.url = str(server.make_url(""))
    return stand_in


@pytest.fixture
def connected(
    service: StandInService, connect: Callable[..., Dependencies]
) -> Dependencies:
    return connect(service.url, secret=SECRET)


def at(dependencies: Dependencies, agents_at_work: bool) -> Dependencies:
    """The dependencies at a moment when agents work, or when nobody does."""
    moment = AGENTS_AT_WORK if agents_at_work else AGENTS_AWAY
    return replace(dependencies, clock=lambda: moment)


@dataclass(frozen=True)
class Moment:
    """The latest message and what the bot knew when the handoff was asked for."""

    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    anger: float = 0.2
    previous_response: str | None = None


# Every reason decide_handoff gives, by the conversation that leads to it.
MOMENTS = {
    "verification_failed": Moment("request_human", {"verification_failed": True}),
    "distressed_customer": Moment(
        "inform", {"escalation": "distressed_customer"}, anger=0.9
    ),
    "angry_customer": Moment("complain", anger=0.85),
    "frustrated_customer": Moment("inform", {"escalation": "frustrated_customer"}),
    "human_requested": Moment("request_human"),
    "bot_not_understanding": Moment("affirm", previous_response="utter_offer_person"),
    "bot_could_not_help": Moment("nlu_fallback"),
    **{
        f"{topic.reason} ({intent})": Moment(intent)
        for intent, topic in COMPLEX_TOPICS.items()
    },
}
TEXT = {"ko": "요금이 왜 이렇게 많이 나왔는지 모르겠어요", "en": "I don't get my bill"}
IDENTITY = {
    "ko": {"verified_customer_name": "김민지", "phone_number": "010-1234-5678"},
    "en": {"verified_customer_name": "Jane Doe", "phone_number": "010-9876-5432"},
}


def conversation(moment: Moment, language: str, verified: bool) -> Tracker:
    base = load_tracker("handoff_requested_ko")
    mood = {"anger": moment.anger, "frustration": 0.6, "distress": 0.1}
    latest = {
        "text": TEXT[language],
        "intent": {"name": moment.intent, "confidence": 0.91},
        "entities": [{"entity": "amount", "value": "55,000원", "start": 0, "end": 7}],
        "language": language,
        "emotion": mood,
    }
    events: list[dict[str, Any]] = [
        *base.events[:3],
        {
            "event": "bot",
            "timestamp": 1732290002.0,
            "text": "이번 달 요금은 55,000원이에요.",
            "metadata": {"utter_action": "utter_current_bill", "amount": "55,000원"},
        },
        {
            "event": "bot",
            "timestamp": 1732290003.0,
            "text": "Shall I find a person?",
            "metadata": {"utter_action": moment.previous_response or "utter_default"},
        },
        {
            "event": "user",
            "timestamp": 1732290004.0,
            "text": latest["text"],
            "input_channel": "socketio",
            "parse_data": latest,
        },
    ]
    slots: dict[str, Any] = {
        "language": language,
        "frustration": 0.6,
        "emotion_history": [{"timestamp": 1732290004.0, **mood}],
        **moment.slots,
    }
    if verified:
        slots.update(IDENTITY[language], verified_customer_id="C-1001")
        events.insert(
            3,
            {
                "event": "slot",
                "timestamp": 1732290001.0,
                "name": "verified_customer_id",
                "value": "C-1001",
            },
        )
    return load_tracker(
        "handoff_requested_ko",
        sender_id=f"contract-{language}",
        slots=slots,
        latest_message=latest,
        events=events,
    )


def offline_form_filled(
    tracker: Tracker, offered: list[Any], mode: str, language: str
) -> Tracker:
    """The tracker once the customer chose and confirmed a callback or a ticket."""
    slots = dict(tracker.slots)
    slots.update(
        {event["name"]: event["value"] for event in offered if event["event"] == "slot"}
    )
    slots.update(offline_contact_choice=mode, offline_contact_confirmed=True)
    # The longest answers the form accepts.
    if mode == "callback":
        slots["callback_number"] = "010-2222-3333"
        slots["callback_time"] = repeated(TEXT[language], MAX_CALLBACK_TIME_CHARS)
    else:
        slots["ticket_description"] = repeated(TEXT[language], MAX_DESCRIPTION_CHARS)
    return load_tracker(
        "handoff_requested_ko",
        sender_id=tracker.sender_id,
        slots=slots,
        latest_message={"text": "네", "intent": {"name": "affirm"}, "entities": []},
        events=tracker.events,
    )


def repeated(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def schema_errors(method: str, path: str, body: dict[str, Any]) -> list[str]:
    checker = request_validator(openapi_document(), method, path)
    return sorted(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in checker.iter_errors(body)
    )


@pytest.mark.parametrize("mode", ["queue", "callback", "ticket"])
@pytest.mark.parametrize("verified", [True, False], ids=["verified", "unverified"])
@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("case", MOMENTS)
async def test_every_handoff_request_keeps_to_the_document(
    service: StandInService,
    connected: Dependencies,
    case: str,
    language: str,
    verified: bool,
    mode: str,
) -> None:
    tracker = conversation(MOMENTS[case], language, verified)
    dependencies = at(connected, agents_at_work=mode == "queue")
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(dependencies).run(dispatcher, tracker, {})
    if mode != "queue":
        assert service.posted == []
        tracker = offline_form_filled(tracker, events, mode, language)
        await ActionSubmitOfflineContact(dependencies).run(dispatcher, tracker, {})

    body = service.only(HANDOFFS)
    assert schema_errors("POST", HANDOFFS, body) == []
    assert body["reason"] == case.split(" (")[0]
    # Staff pages have words for the reasons the document lists.
    assert (
        body["reason"]
        in openapi_document()["components"]["schemas"]["HandoffReason"]["enum"]
    )
    assert body.get("mode", "queue") == mode
    assert (body["verified_identity"] is not None) == verified
    assert "utter_handoff_unavailable" not in str(dispatcher.messages)
    assert "utter_offline_contact_unavailable" not in str(dispatcher.messages)


@pytest.mark.parametrize("handoff_id", [12, None], ids=["agent", "bot"])
async def test_ratings_and_their_comments_keep_to_the_document(
    service: StandInService, connected: Dependencies, handoff_id: int | None
) -> None:
    rated = load_tracker(
        "handoff_requested_ko",
        slots={"language": "ko", "handoff_id": handoff_id},
        latest_message={"text": "5점이요", "intent": {"name": "rate_service"}},
    )
    events = await ActionSubmitCsat(connected).run(CollectingDispatcher(), rated, {})
    assert SlotSet("csat_rating_id", 41) in events
    commented = load_tracker(
        "handoff_requested_ko",
        slots={"csat_rating_id": 41, "csat_comment": "친절 " * 400},
    )
    await ActionSubmitCsatComment(connected).run(CollectingDispatcher(), commented, {})

    rating, comment = service.only(CSAT), service.only(CSAT_COMMENT)
    assert schema_errors("POST", CSAT, rating) == []
    assert schema_errors("PATCH", CSAT_COMMENT, comment) == []
    assert len(comment["comment"]) == MAX_COMMENT_LENGTH


def test_a_skill_the_document_lacks_is_refused() -> None:
    body = {
        "sender_id": "c",
        "channel": "socketio",
        "language": "ko",
        "reason": "human_requested",
        "transcript": [],
        "skill": "roaming",
    }
    # The request is the staff-visible context plus the sender id; a context that
    # fails also leaves its fields unevaluated, which the document reports besides.
    assert (
        "skill: 'roaming' is not one of ['billing', 'technical', 'retention', "
        "'general']"
    ) in schema_errors("POST", HANDOFFS, body)
