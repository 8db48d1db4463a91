"""The broker against a real local HTTP server standing in for the handoff service."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from rasa.utils.endpoints import EndpointConfig

from bot.event_broker import HandoffEventBroker, slim_event
from bot.event_buffer import DurableEventBuffer

SECRET = "s3cret"


class FakeService:
    """Records what it receives; answers with the statuses it is told to."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.authorizations: list[str | None] = []
        self.statuses: list[int] = []
        # The gap each taken batch reported, None when it reported none.
        self.dropped: list[int | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers.get("Authorization"))
        status = self.statuses.pop(0) if self.statuses else 202
        if status == 202:
            body = await request.json()
            self.batches.append(body["events"])
            self.dropped.append(body.get("dropped"))
        return web.json_response({}, status=status)

    @property
    def texts(self) -> list[str]:
        return [event.get("text", "") for batch in self.batches for event in batch]


ServerFactory = Callable[..., Awaitable[TestServer]]


async def start_service(
    aiohttp_server: ServerFactory, port: int | None = None
) -> tuple[FakeService, str]:
    fake = FakeService()
    app = web.Application()
    app.router.add_post("/api/rasa/events", fake.handle)
    server = await aiohttp_server(app, port=port)
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def service(aiohttp_server: ServerFactory) -> tuple[FakeService, str]:
    return await start_service(aiohttp_server)


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


@pytest.fixture
def buffer_path(tmp_path: Path) -> Path:
    return tmp_path / "broker_events.db"


def fast_broker(url: str, buffer_path: Path, **options: Any) -> HandoffEventBroker:
    return HandoffEventBroker(
        url,
        SECRET,
        buffer_path=buffer_path,
        min_backoff=0.01,
        max_backoff=0.05,
        **options,
    )


async def test_forwards_events_in_order_with_the_secret(
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    broker = fast_broker(url, buffer_path)
    for number in range(5):
        broker.publish(user_event(f"m{number}"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["m0", "m1", "m2", "m3", "m4"]
    assert set(fake.authorizations) == {f"Bearer {SECRET}"}
    assert fake.dropped == [None]
    await broker.close()


async def test_only_configured_event_types_are_forwarded(
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    broker = fast_broker(url, buffer_path)
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
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    fake.statuses = [503, 500, 429]
    broker = fast_broker(url, buffer_path)
    broker.publish(user_event("a"))
    broker.publish(user_event("b"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["a", "b"]
    assert broker.delivered == 2
    await broker.close()


async def test_a_batch_refused_for_good_is_dropped_and_the_stream_goes_on(
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    fake.statuses = [400]
    broker = fast_broker(url, buffer_path)
    broker.publish(user_event("poison"))
    assert await broker.flush(timeout=5)
    broker.publish(user_event("next"))
    assert await broker.flush(timeout=5)
    assert fake.texts == ["next"]
    await broker.close()


async def test_publish_never_waits_for_a_service_that_is_down(
    aiohttp_server: ServerFactory, unused_tcp_port: int, buffer_path: Path
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    broker = fast_broker(url, buffer_path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number in range(100):
        broker.publish(user_event(f"m{number}"))
    # 100 publishes to a dead service return at once: nothing was awaited.
    assert loop.time() - started < 0.5
    assert not await broker.flush(timeout=0.3)
    assert broker.pending == 100

    fake, _ = await start_service(aiohttp_server, unused_tcp_port)
    assert await broker.flush(timeout=10)
    assert fake.texts == [f"m{number}" for number in range(100)]
    await broker.close()


async def test_events_kept_on_disk_are_sent_in_order_after_a_restart(
    aiohttp_server: ServerFactory, unused_tcp_port: int, buffer_path: Path
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    stopped = fast_broker(url, buffer_path, flush_timeout=0.1)
    for number in range(5):
        stopped.publish(user_event(f"m{number}"))
    await stopped.close()
    fake, _ = await start_service(aiohttp_server, unused_tcp_port)

    # As Rasa builds it from endpoints.yml: it sends before anything is published.
    restarted = await HandoffEventBroker.from_endpoint_config(
        EndpointConfig(
            url=url, secret=SECRET, buffer_path=str(buffer_path), min_backoff=0.01
        )
    )
    for _ in range(100):
        if len(fake.texts) == 5:
            break
        await asyncio.sleep(0.05)

    assert fake.texts == ["m0", "m1", "m2", "m3", "m4"]
    restarted.publish(user_event("after"))
    assert await restarted.flush(timeout=5)
    assert fake.texts[5:] == ["after"]
    assert restarted.pending == 0
    await restarted.close()


async def test_a_full_buffer_drops_the_oldest_and_reports_the_gap(
    aiohttp_server: ServerFactory, unused_tcp_port: int, buffer_path: Path
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    broker = fast_broker(url, buffer_path, buffer_size=10)
    for number in range(25):
        broker.publish(user_event(f"m{number}"))
    assert broker.dropped == 15
    assert broker.pending == 10

    fake, _ = await start_service(aiohttp_server, unused_tcp_port)
    assert await broker.flush(timeout=10)
    broker.publish(user_event("later"))
    assert await broker.flush(timeout=5)

    assert fake.texts == [f"m{number}" for number in range(15, 25)] + ["later"]
    assert fake.dropped == [15, None]
    await broker.close()


async def test_batches_are_split_by_size(
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    broker = fast_broker(url, buffer_path, max_batch_bytes=2_000)
    for number in range(20):
        broker.publish(user_event(f"{number:02d}" + "x" * 300))
    assert await broker.flush(timeout=5)
    assert len(fake.batches) > 1
    assert [text[:2] for text in fake.texts] == [f"{n:02d}" for n in range(20)]
    await broker.close()


async def test_close_delivers_what_is_buffered(
    service: tuple[FakeService, str], buffer_path: Path
) -> None:
    fake, url = service
    broker = fast_broker(url, buffer_path)
    broker.publish(user_event("last words"))
    await broker.close()
    assert fake.texts == ["last words"]


async def test_endpoint_config_needs_url_and_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TANDEM_BROKER_BUFFER_EVENTS", "2")
    with pytest.raises(ValueError, match="'url' and 'secret'"):
        await HandoffEventBroker.from_endpoint_config(
            EndpointConfig(url="http://127.0.0.1:1", type="x")
        )
    broker = await HandoffEventBroker.from_endpoint_config(
        EndpointConfig(url="http://127.0.0.1:1", secret="s", flush_timeout=0.01)
    )
    for number in range(3):
        broker.publish(user_event(f"m{number}"))
    # The buffer is in TANDEM_VAR_DIR and holds TANDEM_BROKER_BUFFER_EVENTS.
    assert (tmp_path / "broker_events.db").exists()
    assert (broker.pending, broker.dropped) == (2, 1)
    await broker.close()


async def test_an_event_the_buffer_cannot_keep_does_not_fail_the_turn(
    service: tuple[FakeService, str],
    buffer_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = service
    broker = fast_broker(url, buffer_path)

    def disk_full(self: DurableEventBuffer, event: dict[str, Any]) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(DurableEventBuffer, "append", disk_full)
        broker.publish(user_event("lost"))
    broker.publish(user_event("kept"))

    assert await broker.flush(timeout=5)
    assert fake.texts == ["kept"]
    assert broker.lost == 1
    await broker.close()
