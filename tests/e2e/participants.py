"""The two people of an end-to-end conversation: a customer on socket.io, an agent on
the handoff service's HTTP API and WebSocket; and the dev outbox the one-time codes
go to."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from handoff.conversation.chat_sessions import public_handle


class Customer:
    """A web chat customer, speaking Rasa's socket.io protocol like the chat page:
    its session id is issued by the handoff service before it connects."""

    def __init__(self, rasa_url: str, handoff_url: str) -> None:
        self.rasa_url = rasa_url
        self.handoff_url = handoff_url
        self.session_id = ""
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.refusals: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_refused", self.refusals.put)

    @property
    def conversation(self) -> str:
        """What agents see of this conversation."""
        return public_handle(self.session_id)

    async def _on_bot_uttered(self, data: dict[str, Any]) -> None:
        if data.get("text"):
            await self.replies.put(data["text"])

    async def connect(self) -> None:
        if not self.session_id:
            url = f"{self.handoff_url}/api/chat/sessions"
            async with aiohttp.ClientSession() as http, http.post(url) as issued:
                assert issued.status == 201, await issued.text()
                self.session_id = (await issued.json())["session_id"]
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda data: confirmed.set_result(data))
        await self.client.connect(
            self.rasa_url, socketio_path="/socket.io", transports=["websocket"]
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed, 10)

    async def say(self, text: str, metadata: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            message["metadata"] = metadata
        await self.client.emit("user_uttered", message)

    async def next_reply(self, timeout: float = 20) -> str:
        return await asyncio.wait_for(self.replies.get(), timeout)

    async def reply_containing(self, fragment: str, timeout: float = 20) -> str:
        """Waits for a reply with ``fragment``; earlier replies are passed over."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = []
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                text = await self.next_reply(max(left, 0.01))
            except TimeoutError:
                raise AssertionError(
                    f"no reply with {fragment!r}; got {seen}"
                ) from None
            if fragment in text:
                return text
            seen.append(text)

    async def assert_silence(self, seconds: float) -> None:
        try:
            text = await self.next_reply(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"the bot answered while it should be silent: {text!r}")

    async def close(self) -> None:
        await self.client.disconnect()


class Agent:
    """An agent using the handoff service like the console does."""

    def __init__(self, handoff_url: str) -> None:
        self.url = handoff_url
        self.session = aiohttp.ClientSession()
        self.token = ""
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self, username: str, password: str) -> None:
        async with self.session.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": password},
        ) as response:
            assert response.status == 200, await response.text()
            self.token = (await response.json())["token"]
        self.socket = await self.session.ws_connect(
            f"{self.url}/api/ws?token={self.token}"
        )
        self._reader = asyncio.create_task(self._read_frames())
        await self.frame("feed.ready")

    async def _read_frames(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.frames.put(message.json())

    async def frame(
        self, kind: str, timeout: float = 20, **match: Any
    ) -> dict[str, Any]:
        """The next frame of type ``kind`` whose top-level keys equal ``match``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            frame = await asyncio.wait_for(self.frames.get(), max(left, 0.01))
            if frame.get("type") == kind and all(
                frame.get(key) == value for key, value in match.items()
            ):
                return frame

    async def failed_delivery(self, handoff_id: int, message_id: int) -> dict[str, Any]:
        """The message's frame once it comes again marked failed (a platform's
        late report), after frames that had it delivered."""
        while True:
            frame = await self.frame("message.created", handoff_id=handoff_id)
            message = frame["message"]
            if (message["id"], message["delivery"]) == (message_id, "failed"):
                return frame

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.request(
            method, f"{self.url}{path}", json=body, headers=self.headers
        ) as response:
            return response.status, await response.json()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.socket is not None:
            await self.socket.close()
        await self.session.close()


def outbox_lines(outbox: Path) -> list[str]:
    """The dev outbox's messages: time, phone number and text, tab-separated."""
    return outbox.read_text("utf-8").splitlines() if outbox.exists() else []


async def code_from_outbox(outbox: Path, sent_before: int) -> str:
    """The code of the first message the dev outbox received after ``sent_before``."""
    for _ in range(50):
        lines = outbox_lines(outbox)
        if len(lines) > sent_before:
            return lines[sent_before].split("인증번호 ")[1].split(" ")[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no code in {outbox}")
