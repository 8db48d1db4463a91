"""Running a messaging channel the way Rasa runs it, beside a platform stand-in.

The channel's blueprint is registered on a Sanic app as ``rasa run`` registers it, on
a free local port; the platform stand-in (tests/standins/) runs in the same loop.
An ``Agent`` stands in for Rasa's: it records what reaches the bot and answers
through the channel's output, as Rasa's processor would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

from bot.channels.delivery import Retries
from tests.ports import free_port

Reply = dict[str, Any]


@dataclass
class Agent:
    """Stands in for Rasa's agent: records each message and sends ``replies``."""

    replies: list[Reply] = field(default_factory=list)
    heard: list[UserMessage] = field(default_factory=list)
    # How many of the next messages fail, as a turn does while the database is down.
    fail_next: int = 0

    async def handle_message(self, message: UserMessage) -> None:
        self.heard.append(message)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the bot failed")
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))

    def texts(self) -> list[tuple[str, str | None]]:
        return [(message.sender_id, message.text) for message in self.heard]


@asynccontextmanager
async def channel_server(
    channel: InputChannel, agent: Agent, monkeypatch: Any, port: int | None = None
) -> AsyncIterator[str]:
    """The channel under ``/webhooks/<name>/`` on ``port`` (a free one by
    default); yields the base URL."""
    # Sanic rewrites its request handling once a process unless in test mode,
    # which lets one process start several apps.
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"channel-{uuid.uuid4().hex}")
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = port or free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert server is not None
    await server.startup()
    await server.start_serving()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        closer = getattr(channel, "close", None)
        if closer is not None:
            await closer()
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def standin(app: web.Application) -> AsyncIterator[str]:
    """A platform stand-in on a free port of this loop; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def recorded(url: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/_recorded") as answer,
    ):
        return list((await answer.json())["calls"])


async def queue_failures(url: str, failures: list[dict[str, Any]]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/_failures", json=failures) as answer,
    ):
        assert answer.status == 200


async def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status, await answer.text()


class NoWait:
    """A retry sleep that does not wait, and remembers what it was asked."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def no_wait_retries(sleep: Callable[[float], Awaitable[Any]] | None = None) -> Retries:
    return Retries(attempts=3, base_delay=0.5, sleep=sleep or NoWait())


class Gate:
    """A retry sleep held until the test opens it: lets a test see what happens
    while a channel waits to try again, without timing anything."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.opened = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.waiting.set()
        await self.opened.wait()
