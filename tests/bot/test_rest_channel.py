"""The REST channel answers only callers with its token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage, register
from rasa.core.run import create_http_input_channels
from sanic import Sanic, response

from bot.rest_channel import MissingRestToken, TokenRestInput
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "rest-token"


class EchoAgent:
    """Stands in for Rasa's agent: answers every message with its own text."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str | None]] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.heard.append((message.sender_id, message.text))
        await message.output_channel.send_text_message(
            message.sender_id, f"echo {message.text}"
        )


@pytest.fixture
async def server(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[str, EchoAgent]]:
    """The channel registered the way Rasa registers it, on a free local port,
    beside a route of the app's own that needs no token."""
    # Sanic rewrites its request handling once a process unless in test mode,
    # which lets one process start several apps.
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"rest-channel-{uuid.uuid4().hex}")
    agent = EchoAgent()
    app.ctx.agent = agent
    register([TokenRestInput(TOKEN)], app, route="/webhooks/")

    @app.get("/status")
    async def status(_request: object) -> response.HTTPResponse:
        return response.json({"ok": True})

    port = free_port()
    started = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True
    )
    assert started is not None
    await started.startup()
    await started.start_serving()
    try:
        yield f"http://127.0.0.1:{port}", agent
    finally:
        started.close()
        await started.wait_closed()


async def post(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": "someone-else", "message": "hello"},
            headers=headers or {},
        ) as answer,
    ):
        return answer.status, await answer.json()


async def test_a_call_without_the_token_is_refused_and_not_heard(
    server: tuple[str, EchoAgent],
) -> None:
    url, agent = server
    status, body = await post(url)
    assert status == 401
    assert body == {
        "error": "unauthorized",
        "message": "The bearer token is missing: send 'Authorization: Bearer <token>'"
        " with the token from TANDEM_REST_TOKEN.",
    }
    assert agent.heard == []


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}x", "Bearer rest-tokem", f"Basic {TOKEN}", TOKEN]
)
async def test_a_call_with_a_wrong_token_is_refused(
    server: tuple[str, EchoAgent], header: str
) -> None:
    url, agent = server
    status, body = await post(url, {"Authorization": header})
    assert status == 401
    assert isinstance(body, dict)
    assert body["error"] == "unauthorized"
    assert agent.heard == []


async def test_a_call_with_the_token_reaches_the_bot(
    server: tuple[str, EchoAgent],
) -> None:
    url, agent = server
    status, body = await post(url, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert body == [{"recipient_id": "someone-else", "text": "echo hello"}]
    assert agent.heard == [("someone-else", "hello")]


async def test_the_check_stays_on_the_channel(server: tuple[str, EchoAgent]) -> None:
    url, _ = server
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/status") as answer,
    ):
        assert answer.status == 200


def test_the_channel_will_not_start_without_a_token() -> None:
    with pytest.raises(MissingRestToken, match="set TANDEM_REST_TOKEN"):
        TokenRestInput.from_credentials({"token": ""})
    with pytest.raises(MissingRestToken):
        TokenRestInput.from_credentials(None)


def test_the_default_credentials_have_no_rest_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The web chat's channel needs the secret its session ids are signed with.
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", "chat-session-secret")
    for setting in ("BOT_ID", "REST_API_KEY", "SKILL_SECRET"):
        monkeypatch.delenv(f"TANDEM_KAKAO_{setting}", raising=False)
    channels = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    # KakaoTalk is named too, and serves nothing without its settings.
    assert [channel.name() for channel in channels] == ["socketio", "kakao"]


def test_the_bench_credentials_open_the_channel_with_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_REST_TOKEN", TOKEN)
    channels = create_http_input_channels(None, str(ROOT / "bench" / "credentials.yml"))
    rest = [channel for channel in channels if channel.name() == "rest"]
    assert len(rest) == 1
    assert isinstance(rest[0], TokenRestInput)
    assert rest[0].token == TOKEN
