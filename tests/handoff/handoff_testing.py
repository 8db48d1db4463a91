"""Sample requests, constants and a stand-in Rasa for the handoff service tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse, ClientWebSocketResponse, web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Agent, AgentRole, AgentSkill, utcnow
from handoff.vocabulary import AgentStatus, Skill

SERVICE_SECRET = "test-service-secret"
CHAT_SESSION_SECRET = "test-chat-session-secret"
RASA_TOKEN = "test-rasa-token"
AGENT_PASSWORD = "correct horse battery staple"

BOT_HEADERS = {"Authorization": f"Bearer {SERVICE_SECRET}"}


def handoff_body(sender_id: str = "c0ffee", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sender_id": sender_id,
        "channel": "socketio",
        "language": "ko",
        "reason": "human_requested",
        "intent": {"name": "request_human", "confidence": 0.97},
        "entities": [{"entity": "phone_number", "value": "010-1234-5678"}],
        "slots": {"language": "ko", "phone_number": "010-1234-5678"},
        "transcript": [
            {
                "role": "user",
                "text": "상담원 연결해 주세요",
                "timestamp": 1732290000.12,
                "intent": "request_human",
                "confidence": 0.97,
            },
            {
                "role": "bot",
                "text": "상담원을 연결해 드릴게요.",
                "timestamp": 1732290000.55,
            },
        ],
    }
    body.update(overrides)
    return body


def user_event(
    sender_id: str = "c0ffee",
    text: str = "아직 기다리고 있어요",
    timestamp: float = 1732290001.2,
) -> dict[str, Any]:
    return {
        "event": "user",
        "sender_id": sender_id,
        "timestamp": timestamp,
        "text": text,
        "parse_data": {},
        "input_channel": "socketio",
    }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any


def is_notice(request: RecordedRequest) -> bool:
    """A message from the service itself (a queue update, an agent joining)."""
    body = request.body
    return isinstance(body, dict) and bool(
        (body.get("metadata") or {}).get("tandem_notice")
    )


@dataclass
class StandInRasa:
    """A tiny real HTTP server in Rasa's place that records what it is asked."""

    requests: list[RecordedRequest] = field(default_factory=list)
    status: int = 200
    # What it answers, when not the default; Rasa's error answers are JSON too.
    answer: Any = None
    url: str = ""
    # While set and not released, requests are recorded and then held, as Rasa
    # holds a request for a conversation whose turn is still running.
    hold: asyncio.Event | None = None

    @property
    def notices(self) -> list[RecordedRequest]:
        return [request for request in self.requests if is_notice(request)]

    @property
    def without_notices(self) -> list[RecordedRequest]:
        """Everything but the notices: replies, resumes, triggered intents."""
        return [request for request in self.requests if not is_notice(request)]

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._hello)
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _hello(self, request: web.Request) -> web.Response:
        # What Rasa's root route answers; the service's readiness check asks it.
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.rel_url.raw_path,
                query=dict(request.query),
                body=await request.json(),
            )
        )
        if self.hold is not None:
            await self.hold.wait()
        answer = {"ok": self.status < 300} if self.answer is None else self.answer
        return web.json_response(answer, status=self.status)


async def add_agent(
    sessions: async_sessionmaker[AsyncSession],
    password_hash: str,
    username: str,
    *,
    skills: Iterable[Skill] = (Skill.GENERAL,),
    status: AgentStatus = AgentStatus.ONLINE,
    capacity: int = 3,
    role: AgentRole = AgentRole.AGENT,
) -> Agent:
    agent = Agent(
        username=username,
        display_name=username.title(),
        role=role,
        password_hash=password_hash,
        status=status,
        capacity=capacity,
        active=True,
        status_changed_at=utcnow(),
    )
    async with sessions.begin() as session:
        session.add(agent)
        await session.flush()
        session.add_all(AgentSkill(agent_id=agent.id, skill=skill) for skill in skills)
    return agent


async def expect_ready(feed: ClientWebSocketResponse) -> dict[str, Any]:
    """The live feed's first frame: the socket is subscribed from here on."""
    frame: dict[str, Any] = await feed.receive_json(timeout=5)
    assert frame["type"] == "feed.ready", frame
    return frame


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_refused(
    response: ClientResponse, status: int, error: str, message: str
) -> None:
    """A refusal with its reason: the status, the error code and the message's gist."""
    problem = await response.json()
    assert (response.status, problem["error"]) == (status, error), problem
    assert message in problem["message"], problem


async def resolved_handoff(
    client: TestClient[web.Request, web.Application],
    tokens: Any,
    sender_id: str = "c0ffee",
) -> int:
    """A handoff opened by the bot, then claimed and closed by Mina."""
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    assert created.status == 201, await created.text()
    handoff_id = int((await created.json())["id"])
    claimed = await client.post(
        f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"]
    )
    assert claimed.status == 200, await claimed.text()
    closed = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )
    assert closed.status == 200, await closed.text()
    return handoff_id
