"""The broker against a real local HTTP server standing in for the handoff service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.utils.endpoints import EndpointConfig

from bot.event_broker import HandoffEventBroker, slim_event

SECRET = "s3cret"


class FakeService:
    """Records what it receives; answers with the statuses it is told to."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.authorizations: list[str | None] = []
        self.statuses: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        status = self.statuses.pop(0) if self.statuses else 202
        if status == 202:
            self.batches.append((await request.json())["events"])
        return web.json_response({}, status=status)

    @property
    def texts(self) -> list[str]:
        return [event.get("text", "") for batch in self.batches for event in batch]


ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def service(aiohttp_server: ServerFactory) -> tuple[FakeService, str]:
    fake = FakeService()
    app = web.Application()
    app.router.add_post("/api/rasa/events", fake.handle)
    server = await aiohttp_server(app)
    return fake, str(server.make_url("")).rstrip("/")


def user_event(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "user",
        "sender_id": "c1",
        "timestamp": 1.0,
        "text": text,
        "parse_data": {
            "intent": {"name": "greet", "confidence": 0.9},
            "entities": [],
            "language": "ko",
            "intent_ranking": [{"name": "greet"}] * 10,
            "text_tokens": [[0, 2]],
        },
        **extra,
    }


def fast_broker(url: str, **options: Any) -> HandoffEventBroker:
    return HandoffEventBroker(
        url, SECRET, min_backoff=0.01, max_backoff=0.05, **options
    )


async def test_forwards_events_in_order_with_the_secret(
    service: tuple[FakeService, str],
) -> None:
    fake, url = service
    broker = fast_broker(url)
    for number in range(5):
        broker.publish(user_event(f"m{number}"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["m0", "m1", "m2", "m3", "m4"]
    assert set(fake.authorizations) == {f"Bearer {SECRET}"}
    await broker.close()


async def test_only_configured_event_types_are_forwarded(
    service: tuple[FakeService, str],
) -> None:
    fake, url = service
    broker = fast_broker(url)
    broker.publish({"event": "action", "name": "action_listen", "sender_id": "c1"})
    broker.publish({"event": "slot", "name": "x", "sender_id": "c1"})
    broker.publish(user_event("kept"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["kept"]
    await broker.close()


def test_slim_event_keeps_what_the_service_reads() -> None:
    slim = slim_event(user_event("hi", input_channel="socketio", message_id="m"))
    assert slim["parse_data"] == {
        "intent": {"name": "greet", "confidence": 0.9},
        "entities": [],
        "language": "ko",
    }
    assert slim["input_channel"] == "socketio"
    assert slim["message_id"] == "m"


async def test_retries_until_the_service_takes_the_batch(
    service: tuple[FakeService, str],
) -> None:
    fake, url = service
    fake.statuses = [503, 500, 429]
    broker = fast_broker(url)
    broker.publish(user_event("a"))
    broker.publish(user_event("b"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["a", "b"]
    assert broker.delivered == 2
    await broker.close()


async def test_a_batch_refused_for_good_is_dropped_and_the_stream_goes_on(
    service: tuple[FakeService, str],
) -> None:
    fake, url = service
    fake.statuses = [400]
    broker = fast_broker(url)
    broker.publish(user_event("poison"))
    assert await broker.flush(timeout=5)
    broker.publish(user_event("next"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["next"]
    await broker.close()


async def test_publish_never_waits_for_a_service_that_is_down(
    aiohttp_server: ServerFactory, unused_tcp_port: int
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    broker = fast_broker(url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number in range(100):
        broker.publish(user_event(f"m{number}"))
    # 100 publishes to a dead service return at once: nothing was awaited.
    assert loop.time() - started < 0.5
    assert not await broker.flush(timeout=0.3)
    assert broker.pending == 100

    fake = FakeService()
    app = web.Application()
    app.router.add_post("/api/rasa/events", fake.handle)
    await aiohttp_server(app, port=unused_tcp_port)
    assert await broker.flush(timeout=10)
    assert fake.texts == [f"m{number}" for number in range(100)]
    await broker.close()


async def test_a_full_buffer_drops_the_oldest_events(unused_tcp_port: int) -> None:
    broker = fast_broker(f"http://127.0.0.1:{unused_tcp_port}", buffer_size=10)
    for number in range(25):
        broker.publish(user_event(f"m{number}"))
    await asyncio.sleep(0.05)
    assert broker.dropped >= 14
    assert broker.pending <= 11
    await broker.close()


async def test_batches_are_split_by_size(service: tuple[FakeService, str]) -> None:
    fake, url = service
    broker = fast_broker(url, max_batch_bytes=2_000)
    for number in range(20):
        broker.publish(user_event(f"{number:02d}" + "x" * 300))
    assert await broker.flush(timeout=5)
    assert len(fake.batches) > 1
    assert [text[:2] for text in fake.texts] == [f"{n:02d}" for n in range(20)]
    await broker.close()


async def test_close_delivers_what_is_buffered(
    service: tuple[FakeService, str],
) -> None:
    fake, url = service
    broker = fast_broker(url)
    broker.publish(user_event("last words"))
    await broker.close()
    assert fake.texts == ["last words"]


async def test_endpoint_config_needs_url_and_secret() -> None:
    with pytest.raises(ValueError, match="'url' and 'secret'"):
        await HandoffEventBroker.from_endpoint_config(
            EndpointConfig(url="http://127.0.0.1:1", type="x")
        )
    broker = await HandoffEventBroker.from_endpoint_config(
        EndpointConfig(url="http://127.0.0.1:1", secret="s", buffer_size=5)
    )
    assert isinstance(broker, HandoffEventBroker)
    await broker.close()
