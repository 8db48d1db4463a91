"""The fault test's customers and agents: clients that keep going while the cluster
behind them loses processes, as a real page and console would.

A customer is a web chat through HAProxy (socket.io, long polling then WebSocket,
HAProxy's cookie kept). When its socket drops it connects again and asks for its
conversation by the same session id; a message not acknowledged is sent again with
its id, marked as resent. It acknowledges every message it gets, which is how the
bot knows an agent's reply reached it.

An agent signs in through HAProxy, keeps a live feed open (connecting again when
its instance dies), and reads its handoffs from the API every few seconds as well,
since frames sent while its feed was down are not sent again. Both agents try to
claim every queued handoff; one of them is also online, so the service's dispatcher
assigns to it at the same time. A reply the service refused, or never answered, is
sent again with the same client id.

A ``Board`` pairs each customer's conversation with the agent who won it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio

from handoff.conversation.chat_sessions import public_handle
from tests.cluster.message_ledger import AgentReply, CustomerMessage, Ledger

HANDOFF_REQUEST = "상담원 연결해 주세요"
ACK_SECONDS = 20.0
CONNECT_SECONDS = 10.0
RETRY_SECONDS = 1.5
POLL_SECONDS = 1.5
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=25)
# The longest an agent works one handoff, faults included.
WORK_SECONDS = 400.0


def token(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))


def now() -> float:
    return asyncio.get_running_loop().time()


@dataclass
class Pairing:
    """One customer's conversation, as the customer and its agent see it."""

    session_id: str
    handoff_id: int | None = None
    agent: str | None = None
    claimed: asyncio.Event = field(default_factory=asyncio.Event)
    customer_done: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # The customer's messages the service acknowledged, for the agent to wait for.
    acknowledged: list[str] = field(default_factory=list)


class Board:
    def __init__(self, messages: int) -> None:
        # How many messages each side writes in a conversation.
        self.messages = messages
        self.pairings: dict[str, Pairing] = {}
        self.stopping = asyncio.Event()

    def open(self, session_id: str) -> Pairing:
        pairing = Pairing(session_id)
        self.pairings[public_handle(session_id)] = pairing
        return pairing

    def find(self, handle: str) -> Pairing | None:
        return self.pairings.get(handle)


class FaultCustomer:
    def __init__(
        self, public_url: str, ledger: Ledger, board: Board, rng: random.Random
    ) -> None:
        self.url = public_url
        self.ledger = ledger
        self.board = board
        self.rng = rng
        self.http: aiohttp.ClientSession | None = None
        self.client: socketio.AsyncClient | None = None
        self.session_id = ""
        self.statuses: asyncio.Queue[str] = asyncio.Queue()
        self.trouble = 0
        self.reconnects = 0
        self._dropped = asyncio.Event()
        self._confirmed: asyncio.Future[Any] | None = None

    # ------------------------------------------------------------ the connection

    async def _on_bot_uttered(self, data: Any) -> dict[str, bool]:
        if isinstance(data, dict):
            text = data.get("text") or ""
            if data.get("trouble") is True:
                self.trouble += 1
                self.ledger.trouble_notices += 1
            handoff = data.get("handoff")
            if isinstance(handoff, dict) and isinstance(handoff.get("status"), str):
                self.statuses.put_nowait(handoff["status"])
            if (data.get("sender") or {}).get("kind") == "agent":
                self.ledger.customer_received(text, data.get("message_id"))
        return {"ok": True}

    async def _session(self, deadline: float) -> None:
        assert self.http is not None
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.http.post(f"{self.url}/api/chat/sessions") as issued:
                    if issued.status == 201:
                        self.session_id = (await issued.json())["session_id"]
                        return
            if now() > deadline:
                raise TimeoutError("no chat session issued")
            await asyncio.sleep(RETRY_SECONDS)

    async def _connect(self, deadline: float) -> None:
        assert self.http is not None
        while True:
            client = socketio.AsyncClient(reconnection=False, http_session=self.http)
            client.on("bot_uttered", self._on_bot_uttered)
            client.on("session_confirm", self._on_confirm)
            client.on("disconnect", self._on_disconnect)
            self._confirmed = asyncio.get_running_loop().create_future()
            self._dropped.clear()
            try:
                await client.connect(
                    self.url,
                    socketio_path="/socket.io",
                    transports=["polling", "websocket"],
                    wait_timeout=CONNECT_SECONDS,
                )
                await client.emit("session_request", {"session_id": self.session_id})
                await asyncio.wait_for(self._confirmed, CONNECT_SECONDS)
                self.client = client
                return
            except (socketio.exceptions.SocketIOError, TimeoutError, OSError):
                with contextlib.suppress(Exception):
                    await client.disconnect()
            if now() > deadline:
                raise TimeoutError("could not connect")
            await asyncio.sleep(RETRY_SECONDS)

    async def _on_confirm(self, data: Any) -> None:
        if self._confirmed is not None and not self._confirmed.done():
            self._confirmed.set_result(data)

    async def _on_disconnect(self, *_: Any) -> None:
        self._dropped.set()

    async def _ensure_connected(self, deadline: float) -> None:
        if self.client is not None and not self._dropped.is_set():
            return
        if self.client is not None:
            self.reconnects += 1
            with contextlib.suppress(Exception):
                await self.client.disconnect()
            self.client = None
        await self._connect(deadline)

    async def _call(self, data: dict[str, Any]) -> Any:
        """The acknowledgement, or None when there was none (a dropped socket)."""
        assert self.client is not None
        call = asyncio.ensure_future(
            self.client.call("user_uttered", data, timeout=ACK_SECONDS)
        )
        dropped = asyncio.ensure_future(self._dropped.wait())
        try:
            await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
            return None
        try:
            return call.result()
        except (socketio.exceptions.SocketIOError, TimeoutError):
            return None

    async def say(
        self, text: str, deadline: float, record: CustomerMessage | None = None
    ) -> bool:
        """Sends until a Rasa server acknowledges it; False if it never did."""
        message_id = uuid.uuid4().hex
        attempts = 0
        while now() < deadline:
            try:
                await self._ensure_connected(deadline)
            except TimeoutError:
                return False
            trouble_before = self.trouble
            answer = await self._call(
                {
                    "message": text,
                    "session_id": self.session_id,
                    "message_id": message_id,
                    **({"resent": True} if attempts else {}),
                }
            )
            attempts += 1
            if record is not None:
                record.attempts = attempts
            if isinstance(answer, dict) and answer.get("ok") is True:
                if record is not None:
                    record.acknowledged = True
                return True
            if isinstance(answer, dict) and record is not None:
                record.refused += 1
                if self.trouble == trouble_before:
                    record.refused_untold += 1
            await asyncio.sleep(RETRY_SECONDS)
        return False

    async def open(self, deadline: float) -> None:
        """A conversation with the bot, connected, for ``try_once``."""
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=HTTP_TIMEOUT
        )
        await self._session(deadline)
        await self._connect(deadline)

    async def try_once(self, text: str, deadline: float) -> tuple[Any, bool]:
        """One attempt: the acknowledgement (None without one) and whether the
        trouble notice came with it."""
        await self._ensure_connected(deadline)
        trouble_before = self.trouble
        answer = await self._call(
            {
                "message": text,
                "session_id": self.session_id,
                "message_id": uuid.uuid4().hex,
            }
        )
        return answer, self.trouble > trouble_before

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()
            self.client = None
        if self.http is not None:
            await self.http.close()

    async def _stay_until(self, event: asyncio.Event, deadline: float) -> None:
        """Stays connected, as an open page does, until ``event``: the agent's
        replies need a socket to reach, and confirm them."""
        while not event.is_set() and now() < deadline:
            try:
                await self._ensure_connected(deadline)
            except TimeoutError:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), 1)

    # ------------------------------------------------------------ a conversation

    async def _queued(self, pairing: Pairing, seconds: float) -> bool:
        """Whether the customer is in the queue (or already with an agent)."""
        deadline = now() + seconds
        while now() < deadline:
            if pairing.claimed.is_set():
                return True
            try:
                status = await asyncio.wait_for(self.statuses.get(), 1)
            except TimeoutError:
                continue
            if status in ("queued", "assigned"):
                return True
        return False

    async def converse(self, deadline: float) -> None:
        """One conversation: asks for a person, writes the board's number of
        messages to the agent who takes it, and leaves once the agent closed it."""
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=HTTP_TIMEOUT
        )
        self.statuses = asyncio.Queue()
        try:
            await self._session(deadline)
            pairing = self.board.open(self.session_id)
            while not pairing.claimed.is_set():
                if now() > deadline:
                    return
                if await self.say(HANDOFF_REQUEST, deadline):
                    await self._queued(pairing, 40)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pairing.claimed.wait(), 20)
            for _ in range(self.board.messages):
                await asyncio.sleep(self.rng.uniform(0.5, 2.5))
                mine = token(self.rng, "cq")
                record = self.ledger.customer_message(
                    mine, self.session_id, pairing.handoff_id
                )
                if await self.say(f"고객 메시지 {mine} 입니다", deadline, record):
                    pairing.acknowledged.append(mine)
            pairing.customer_done.set()
            await self._stay_until(pairing.closed, deadline)
        finally:
            await self.close()


class FaultAgent:
    def __init__(
        self,
        public_url: str,
        username: str,
        password: str,
        ledger: Ledger,
        board: Board,
        rng: random.Random,
        *,
        online: bool,
    ) -> None:
        self.url = public_url
        self.username = username
        self.password = password
        self.ledger = ledger
        self.board = board
        self.rng = rng
        self.online = online
        self.http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        self.token = ""
        self.feed_reconnects = 0
        self.working: dict[int, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int | str, Any]:
        """The answer's status and JSON; an error's name when there was none."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.http.request(
                method, f"{self.url}{path}", json=body, headers=headers
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                return response.status, data
        except (aiohttp.ClientError, TimeoutError) as error:
            return type(error).__name__, None

    async def start(self, deadline: float) -> None:
        """Signs in, and keeps the live feed and the queue watched."""
        await self.sign_in(deadline)
        self.tasks = [
            asyncio.create_task(self._feed()),
            asyncio.create_task(self._watch_queue()),
        ]

    async def sign_in(self, deadline: float) -> None:
        while True:
            status, data = await self.request(
                "POST",
                "/api/auth/login",
                {"username": self.username, "password": self.password},
            )
            if status == 200:
                self.token = data["token"]
                break
            if now() > deadline:
                raise TimeoutError(f"{self.username} could not sign in: {status}")
            await asyncio.sleep(RETRY_SECONDS)
        if self.online:
            for _ in range(100):
                status, _ = await self.request(
                    "PUT", "/api/agents/me/status", {"status": "online"}
                )
                if status == 200:
                    break
                await asyncio.sleep(RETRY_SECONDS)

    async def stop(self) -> None:
        for task in [*self.tasks, *self.working.values()]:
            task.cancel()
        for task in [*self.tasks, *self.working.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.http.close()

    # ------------------------------------------------------------ what it sees

    async def _feed(self) -> None:
        url = f"{self.url}/api/ws?token={self.token}"
        while True:
            try:
                async with self.http.ws_connect(url, heartbeat=10) as socket:
                    async for message in socket:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self._frame(message.json())
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            self.feed_reconnects += 1
            await asyncio.sleep(1)

    def _frame(self, frame: dict[str, Any]) -> None:
        message = frame.get("message")
        if frame.get("type") == "message.created" and isinstance(message, dict):
            self._saw(message)

    def _saw(self, message: dict[str, Any]) -> None:
        if message.get("role") == "user" and isinstance(message.get("id"), int):
            self.ledger.agent_saw(message.get("text") or "", message["id"])

    async def read_handoff(self, handoff_id: int) -> dict[str, Any] | None:
        status, data = await self.request("GET", f"/api/handoffs/{handoff_id}")
        if status != 200 or not isinstance(data, dict):
            return None
        for message in data.get("messages") or []:
            self._saw(message)
        return data

    async def _watch_queue(self) -> None:
        while True:
            status, data = await self.request("GET", "/api/handoffs")
            if status == 200 and isinstance(data, dict):
                for handoff in data.get("handoffs") or []:
                    await self._consider(handoff)
            await asyncio.sleep(POLL_SECONDS)

    async def _consider(self, handoff: dict[str, Any]) -> None:
        handoff_id = handoff["id"]
        pairing = self.board.find(handoff.get("conversation") or "")
        if pairing is None or handoff_id in self.working:
            return
        # An agent is shown the queue and its own handoffs only: an assigned one
        # listed is this agent's (the dispatcher's doing, or an earlier claim).
        mine = handoff.get("status") == "assigned"
        if handoff.get("status") == "queued":
            status, _ = await self.request("POST", f"/api/handoffs/{handoff_id}/claim")
            if status == 200:
                self.ledger.claims_won[handoff_id].append(self.username)
                mine = True
        if mine:
            pairing.handoff_id = handoff_id
            pairing.agent = self.username
            pairing.claimed.set()
            self.working[handoff_id] = asyncio.create_task(
                self._work(handoff_id, pairing)
            )

    # ------------------------------------------------------------ its work

    async def reply(
        self, handoff_id: int, text: str, record: AgentReply, deadline: float
    ) -> None:
        client_id = uuid.uuid4().hex
        while now() < deadline:
            status, _ = await self.request(
                "POST",
                f"/api/handoffs/{handoff_id}/messages",
                {"text": text, "client_id": client_id},
            )
            record.attempts += 1
            record.statuses.append(status)
            if isinstance(status, int) and 200 <= status < 300:
                record.accepted = True
                return
            if status in (400, 401, 403, 404, 409):
                return
            await asyncio.sleep(RETRY_SECONDS * 2)

    async def _work(self, handoff_id: int, pairing: Pairing) -> None:
        deadline = now() + WORK_SECONDS
        for _ in range(self.board.messages):
            await asyncio.sleep(self.rng.uniform(0.5, 2.5))
            mine = token(self.rng, "aq")
            record = self.ledger.agent_reply(mine, handoff_id, self.username)
            await self.reply(handoff_id, f"상담원 답변 {mine} 입니다", record, deadline)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                pairing.customer_done.wait(), max(1.0, deadline - now())
            )
        # Every acknowledged message of the customer reaches the agent before it
        # closes: its frame, or else the handoff as the service reads it.
        while now() < deadline:
            await self.read_handoff(handoff_id)
            if all(t in self.ledger.to_agent for t in pairing.acknowledged):
                break
            await asyncio.sleep(2)
        while now() < deadline:
            status, _ = await self.request("POST", f"/api/handoffs/{handoff_id}/close")
            if status in (200, 409):
                break
            await asyncio.sleep(RETRY_SECONDS * 2)
        pairing.closed.set()
