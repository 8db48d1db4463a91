"""action_submit_offline_contact against a real local HTTP server standing in for the
handoff service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies
from actions.offline_contact import ActionSubmitOfflineContact
from tests.bot.conftest import SERVICE_SECRET
from tests.bot.tracker_fixtures import load_tracker

FINISHED = [
    SlotSet("offline_contact_choice", None),
    SlotSet("callback_number", None),
    SlotSet("callback_time", None),
    SlotSet("ticket_description", None),
    SlotSet("offline_contact_confirmed", None),
    SlotSet("pending_handoff_reason", None),
    SlotSet("pending_handoff_routing", None),
]


class FakeHandoffService:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 201
        self.url = ""

    async def create(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SERVICE_SECRET}":
            return web.json_response({"error": "unauthorized"}, status=401)
        self.requests.append(await request.json())
        if self.status >= 400:
            return web.json_response({"error": "boom"}, status=self.status)
        body = {
            "id": 42,
            "status": "offline",
            "queue_position": None,
            "estimated_wait_seconds": None,
        }
        return web.json_response(body, status=self.status)


@pytest.fixture
async def service(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> FakeHandoffService:
    fake = FakeHandoffService()
    app = web.Application()
    app.router.add_post("/api/rasa/handoffs", fake.create)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url(""))
    return fake


@pytest.fixture
def handoff_url(service: FakeHandoffService) -> str:
    return service.url


async def submit(
    dependencies: Dependencies, name: str, **changes: Any
) -> tuple[list[Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker(name, **changes)
    events = await ActionSubmitOfflineContact(dependencies).run(dispatcher, tracker, {})
    return events, dispatcher.messages


def ticket_slots() -> dict[str, Any]:
    slots = load_tracker("offline_contact_ticket_ko").slots
    return {
        **slots,
        "ticket_description": "인터넷이 어제부터 계속 끊겨요",
        "offline_contact_confirmed": True,
        "requested_slot": None,
    }


async def test_a_callback_is_booked_with_its_context(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, messages = await submit(dependencies, "offline_contact_callback_en")
    assert events == FINISHED
    assert [
        {
            key: m[key]
            for key in ("response", "reference", "callback_number", "callback_time")
        }
        for m in messages
    ] == [
        {
            "response": "utter_offline_callback_booked",
            "reference": "42",
            "callback_number": "010-2222-3333",
            "callback_time": "tomorrow afternoon",
        }
    ]
    [body] = service.requests
    # The agent's two-line brief is handoff_context's own business.
    assert set(body.pop("summary")) == {"ko", "en"}
    assert body == {
        "sender_id": "night-owl-en",
        "channel": "rest",
        "language": "en",
        "reason": "human_requested",
        "trigger": "other",
        "skill": "general",
        "priority": "normal",
        "intent": {"name": "affirm", "confidence": 0.98},
        "entities": [],
        "slots": {
            "language": "en",
            "offline_contact_choice": "callback",
            "callback_number": "010-2222-3333",
            "callback_time": "tomorrow afternoon",
            "offline_contact_confirmed": True,
        },
        "verified_identity": None,
        "lookups": [],
        "transcript": [
            user_turn(
                1795532401.0, "can I talk to a real person", "request_human", 0.97
            ),
            {
                "role": "bot",
                "text": "Our agents are not working right now; "
                "they are back tomorrow at 9:00.",
                "timestamp": 1795532401.3,
            },
            user_turn(1795532410.0, "/choose_callback", "choose_callback", 1.0),
            # Agents see the number masked; the callback below keeps it whole.
            user_turn(1795532420.0, "010 **** 3333", "inform_phone", 0.9),
            user_turn(1795532430.0, "tomorrow afternoon", "nlu_fallback", 0.3),
            user_turn(1795532440.0, "yes", "affirm", 0.98),
        ],
        "mode": "callback",
        "callback": {
            "phone_number": "010-2222-3333",
            "preferred_time": "tomorrow afternoon",
        },
    }


def user_turn(
    timestamp: float, text: str, intent: str, confidence: float
) -> dict[str, Any]:
    return {
        "role": "user",
        "text": text,
        "timestamp": timestamp,
        "intent": intent,
        "confidence": confidence,
    }


async def test_a_ticket_carries_the_issue_and_the_pending_routing(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    events, messages = await submit(
        dependencies, "offline_contact_ticket_ko", slots=ticket_slots()
    )
    assert events == FINISHED
    assert [(m["response"], m["reference"]) for m in messages] == [
        ("utter_offline_ticket_created", "42")
    ]
    [body] = service.requests
    assert body["sender_id"] == "night-owl-ko"
    assert body["channel"] == "socketio"
    assert body["language"] == "ko"
    assert body["reason"] == "technical_fault"
    assert body["trigger"] == "complex_topic"
    assert body["skill"] == "technical"
    assert body["priority"] == "normal"
    assert body["mode"] == "ticket"
    assert body["ticket"] == {"description": "인터넷이 어제부터 계속 끊겨요"}
    assert "callback" not in body


@pytest.mark.parametrize("status", [400, 500, 503])
async def test_a_service_error_apologises(
    service: FakeHandoffService, status: int, dependencies: Dependencies
) -> None:
    service.status = status
    events, messages = await submit(dependencies, "offline_contact_callback_en")
    assert events == FINISHED
    assert [m["response"] for m in messages] == ["utter_offline_contact_unavailable"]
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    "tracker", ["offline_contact_callback_en", "offline_contact_ticket_ko"]
)
async def test_a_customer_over_the_handoff_limit_is_told_so(
    service: FakeHandoffService, dependencies: Dependencies, tracker: str
) -> None:
    service.status = 429
    changes = {} if "callback" in tracker else {"slots": ticket_slots()}
    events, messages = await submit(dependencies, tracker, **changes)
    assert events == FINISHED
    assert [m["response"] for m in messages] == ["utter_handoff_limited"]


async def test_the_service_down_apologises(
    connect: Callable[..., Dependencies], unused_tcp_port: int
) -> None:
    dependencies = connect(f"http://127.0.0.1:{unused_tcp_port}")
    events, messages = await submit(
        dependencies, "offline_contact_ticket_ko", slots=ticket_slots()
    )
    assert events == FINISHED
    assert [m["response"] for m in messages] == ["utter_offline_contact_unavailable"]


async def test_an_unconfirmed_form_is_never_sent(
    service: FakeHandoffService, dependencies: Dependencies
) -> None:
    slots = {**ticket_slots(), "offline_contact_confirmed": None}
    events, messages = await submit(
        dependencies, "offline_contact_ticket_ko", slots=slots
    )
    assert service.requests == []
    assert events == FINISHED
    assert [m["response"] for m in messages] == ["utter_offline_contact_unavailable"]
