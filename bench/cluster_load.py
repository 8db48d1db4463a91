"""Simulated web chat customers and agents for the cluster benchmark.

A customer does what the chat page does: asks the service for a session id, opens
socket.io (long polling first, then the WebSocket upgrade), keeping HAProxy's
cookie so every request of the session reaches the same Rasa server, and sends
``user_uttered``. The load is a closed loop without think time: each customer sends
its next message as soon as the bot's answer to the last one has arrived, and starts
a new conversation as soon as one ends. A turn is answered when the message that
ends the bot's answer to it has arrived (a fragment of its text, checked once by
hand against the model); its latency runs from the send to that message.

Agents sign in to the service like the console, claim handed-off conversations and
send replies; a reply's latency runs from the request to its arrival on the
customer's socket.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio

from bench.cluster_processes import AGENTS, Target
from handoff.conversation.chat_sessions import public_handle

STICKINESS_COOKIE = "TANDEM_RASA"
TURN_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 30.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60)

# Conversations that stay with the bot, Korean and English in turn: a greeting, the
# plan catalogue (an action server call), a frequently asked question (the response
# selector) and thanks. Each turn with a fragment of the bot's last message to it.
CONVERSATIONS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("안녕하세요", "챗봇 탠덤입니다"),
        ("요금제 종류 알려주세요", "두 요금제를 비교하거나"),
        ("해외 로밍 어떻게 해요?", "로밍이 자동으로 켜지고"),
        ("감사합니다", "천만에요"),
    ),
    (
        ("hello", "I'm Tandem"),
        ("what plans do you have?", "compare two plans"),
        ("how does roaming work?", "Roaming switches on"),
        ("thank you", "You're welcome"),
    ),
)
TURNS_PER_CONVERSATION = len(CONVERSATIONS[0])
HANDOFF_REQUEST = ("상담원 연결해 주세요", "대기 순서는")


class TurnFailed(Exception):
    """A step of a conversation got no (or a wrong) answer in time."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class ChatCustomer:
    """One web chat: its session id, its socket.io connection, its replies."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.session_id = ""
        # aiohttp keeps no cookies from an IP address unless told to.
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=HTTP_TIMEOUT
        )
        self.client = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.replies: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self.client.on("bot_uttered", self._on_bot_uttered)

    async def _on_bot_uttered(self, data: dict[str, Any]) -> None:
        if isinstance(data, dict) and data.get("text"):
            await self.replies.put((time.perf_counter(), str(data["text"])))

    @property
    def conversation(self) -> str:
        """The conversation's handle, as agents see it."""
        return public_handle(self.session_id)

    @property
    def server(self) -> str:
        """The Rasa server HAProxy keeps this customer on (the one Rasa server of
        the single stack)."""
        if not self.target.clustered:
            return "rasa"
        cookies = {cookie.key: cookie.value for cookie in self.http.cookie_jar}
        return cookies.get(STICKINESS_COOKIE, "")

    async def open(self) -> None:
        try:
            async with self.http.post(
                f"{self.target.sessions_url}/api/chat/sessions"
            ) as issued:
                if issued.status != 201:
                    raise TurnFailed(f"session id refused ({issued.status})")
                self.session_id = (await issued.json())["session_id"]
        except aiohttp.ClientError as error:
            raise TurnFailed(f"session id: {type(error).__name__}") from error
        confirmed = asyncio.get_running_loop().create_future()

        def confirm(data: Any) -> None:
            if not confirmed.done():
                confirmed.set_result(data)

        self.client.on("session_confirm", confirm)
        try:
            await self.client.connect(
                self.target.chat_url,
                socketio_path="/socket.io",
                transports=["polling", "websocket"],
                wait_timeout=int(CONNECT_TIMEOUT_SECONDS),
            )
            await self.client.emit("session_request", {"session_id": self.session_id})
            await asyncio.wait_for(confirmed, CONNECT_TIMEOUT_SECONDS)
        except (socketio.exceptions.ConnectionError, asyncio.TimeoutError) as error:
            raise TurnFailed(f"connect: {type(error).__name__}") from error

    async def say(self, text: str, fragment: str) -> float:
        """Sends ``text``; milliseconds until a reply with ``fragment`` arrived."""
        started = time.perf_counter()
        await self.client.emit(
            "user_uttered", {"message": text, "session_id": self.session_id}
        )
        return await self.reply_with(fragment, started)

    async def reply_with(self, fragment: str, started: float) -> float:
        """Milliseconds from ``started`` to the first reply holding ``fragment``;
        replies without it (the rest of an earlier answer, notices) are passed over."""
        deadline = started + TURN_TIMEOUT_SECONDS
        while True:
            left = deadline - time.perf_counter()
            try:
                arrived, text = await asyncio.wait_for(self.replies.get(), max(left, 0))
            except asyncio.TimeoutError:
                raise TurnFailed("no answer in time") from None
            if fragment in text:
                return (arrived - started) * 1000

    async def close(self) -> None:
        try:
            await self.client.disconnect()
        finally:
            await self.http.close()


@dataclass
class ConversationResult:
    """What one load phase measured: the wall time from its first send to its last
    answer, every answered turn's latency, the conversations held to their end."""

    customers: int
    seconds: float = 0.0
    conversations: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    open_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    servers: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "seconds": self.seconds,
            "conversations": self.conversations,
            "latencies_ms": self.latencies_ms,
            "open_ms": self.open_ms,
            "errors": dict(self.errors),
            "servers": dict(self.servers),
        }


async def _conversation(
    target: Target, turns: tuple[tuple[str, str], ...], result: ConversationResult
) -> None:
    customer = ChatCustomer(target)
    try:
        started = time.perf_counter()
        await customer.open()
        result.open_ms.append((time.perf_counter() - started) * 1000)
        result.servers[customer.server] += 1
        for text, fragment in turns:
            result.latencies_ms.append(await customer.say(text, fragment))
        result.conversations += 1
    except TurnFailed as failure:
        result.errors[failure.kind] += 1
    finally:
        await customer.close()


async def hold_conversations(
    target: Target, customers: int, conversations: int
) -> ConversationResult:
    """``conversations`` conversations, ``customers`` at a time, each customer
    starting the next as soon as its last one ended."""
    if customers < 1 or conversations < 1:
        raise ValueError("a phase needs at least one customer and one conversation")
    result = ConversationResult(customers=customers)
    scripts = itertools.cycle(CONVERSATIONS)
    left = conversations

    async def customer_loop() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await _conversation(target, next(scripts), result)

    started = time.perf_counter()
    await asyncio.gather(*(customer_loop() for _ in range(customers)))
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class ReplyResult:
    """Agents' replies: latencies to customers on the Rasa server the service
    sends through, and to customers on another (across Redis)."""

    handoffs: int
    seconds: float = 0.0
    same_server_ms: list[float] = field(default_factory=list)
    across_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "handoffs": self.handoffs,
            "seconds": self.seconds,
            "same_server_ms": self.same_server_ms,
            "across_ms": self.across_ms,
            "errors": dict(self.errors),
        }


class Console:
    """An agent using the service's API as the console does."""

    def __init__(self, service_url: str) -> None:
        self.url = service_url
        self.http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        self.headers: dict[str, str] = {}

    async def login(self, username: str, password: str) -> None:
        async with self.http.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": password},
        ) as answer:
            if answer.status != 200:
                raise RuntimeError(f"{username} cannot sign in: {await answer.text()}")
            self.headers = {"Authorization": f"Bearer {(await answer.json())['token']}"}

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        async with self.http.request(
            method, f"{self.url}{path}", json=body, headers=self.headers
        ) as answer:
            return answer.status, await answer.json()

    async def close(self) -> None:
        await self.http.close()


@dataclass(frozen=True)
class HandedOff:
    """A customer in a conversation an agent claimed."""

    console: Console
    customer: ChatCustomer
    handoff: int


@asynccontextmanager
async def handed_off(target: Target, count: int) -> AsyncIterator[list[HandedOff]]:
    """``count`` customers who asked for a person, their conversations claimed by
    the agents in turn; signed out and disconnected when the block ends."""
    consoles = [Console(target.service_url) for _ in AGENTS]
    customers = [ChatCustomer(target) for _ in range(count)]
    claimed: list[HandedOff] = []
    try:
        for console, username in zip(consoles, AGENTS, strict=True):
            await console.login(username, target.staff_password)
        for customer in customers:
            await customer.open()
        text, fragment = HANDOFF_REQUEST
        await asyncio.gather(*(customer.say(text, fragment) for customer in customers))
        await _claim(consoles, customers, claimed)
        yield claimed
    finally:
        # Closed, so the agents have their capacity back for the next phase.
        for conversation in claimed:
            await conversation.console.call(
                "POST", f"/api/handoffs/{conversation.handoff}/close"
            )
        for console in consoles:
            await console.close()
        for customer in customers:
            await customer.close()


async def _claim(
    consoles: list[Console], customers: list[ChatCustomer], claimed: list[HandedOff]
) -> None:
    """Each customer's handoff claimed by the agents in turn, added to ``claimed``
    as it is."""
    status, listing = await consoles[0].call("GET", "/api/handoffs?status=queued")
    if status != 200:
        raise RuntimeError(f"cannot list the queue: {listing}")
    by_conversation = {item["conversation"]: item["id"] for item in listing["handoffs"]}
    for number, customer in enumerate(customers):
        handoff = by_conversation.get(customer.conversation)
        if handoff is None:
            raise RuntimeError("a customer's handoff is not in the queue")
        console = consoles[number % len(consoles)]
        status, answer = await console.call("POST", f"/api/handoffs/{handoff}/claim")
        if status != 200:
            raise RuntimeError(f"cannot claim handoff {handoff}: {answer}")
        claimed.append(HandedOff(console, customer, handoff))


async def _reply(conversation: HandedOff) -> tuple[float | None, str]:
    """One reply and its latency to the customer's socket; None and why if it
    failed."""
    text = f"bench reply {uuid.uuid4().hex[:12]}"
    started = time.perf_counter()
    try:
        status, _ = await conversation.console.call(
            "POST", f"/api/handoffs/{conversation.handoff}/messages", {"text": text}
        )
    except aiohttp.ClientError as error:
        return None, f"reply request: {type(error).__name__}"
    if status != 201:
        return None, f"reply refused ({status})"
    try:
        return await conversation.customer.reply_with(text, started), ""
    except TurnFailed as failure:
        return None, f"reply {failure.kind}"


async def first_replies(conversations: list[HandedOff]) -> None:
    """One reply to each conversation, not timed: its first delivery."""
    await asyncio.gather(*(_reply(conversation) for conversation in conversations))


async def send_replies(
    target: Target, conversations: list[HandedOff], replies_each: int
) -> ReplyResult:
    """``replies_each`` replies to each conversation, one after the other in each,
    all conversations at once."""
    result = ReplyResult(handoffs=len(conversations))

    async def replies(conversation: HandedOff) -> None:
        same = conversation.customer.server == target.replies_through
        for _ in range(replies_each):
            latency, failure = await _reply(conversation)
            if latency is None:
                result.errors[failure] += 1
            elif same:
                result.same_server_ms.append(latency)
            else:
                result.across_ms.append(latency)

    started = time.perf_counter()
    await asyncio.gather(*(replies(conversation) for conversation in conversations))
    result.seconds = time.perf_counter() - started
    return result
