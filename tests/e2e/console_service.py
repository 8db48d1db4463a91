"""The handoff service alone, for the console's browser tests (tests/e2e/console):
``python -m handoff`` on a temporary SQLite file with the demo staff (mina, joon,
sora) and a stand-in Rasa, and helpers that play the bot and the staff over HTTP
while a browser drives the console. The fixtures are in console/conftest.py."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.page_security import record_policy_violations
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "console-e2e-password"
TIMEOUT_MS = 20_000
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class Service:
    url: str
    secret: str
    log_path: Path


def stand_in_rasa() -> web.Application:
    """Takes every call the service makes to Rasa (replies, closing) and says yes."""

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    return app


@contextmanager
def running_service(rasa_url: str) -> Iterator[Service]:
    folder = Path(tempfile.mkdtemp(prefix="tandem-console-"))
    port, secret = free_port(), secrets.token_urlsafe(16)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update(
        TANDEM_HANDOFF_PORT=str(port),
        TANDEM_SERVICE_SECRET=secret,
        TANDEM_CHAT_SESSION_SECRET=secret,
        TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'handoff.db'}",
        TANDEM_DEMO_AGENT_PASSWORD=PASSWORD,
        TANDEM_SEED_DEMO_AGENTS="true",
        TANDEM_RASA_URL=rasa_url,
        TANDEM_ALWAYS_OPEN="true",
    )
    log_path = folder / "handoff.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "handoff"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, port, log_path)
        yield Service(url, secret, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the handoff service did not start:\n{log.read_text()[-3000:]}")


class Staff:
    """The bot and the staff over HTTP, beside the browser."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.http = aiohttp.ClientSession(service.url)
        self.tokens: dict[str, str] = {}

    async def close(self) -> None:
        await self.http.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str | None = None,
        expect_status: int | None = None,
    ) -> Any:
        if as_ is None:
            headers = {"Authorization": f"Bearer {self.service.secret}"}
        else:
            headers = {"Authorization": f"Bearer {await self.token(as_)}"}
        async with self.http.request(
            method, path, json=body, headers=headers
        ) as response:
            text = await response.text()
            if expect_status is None:
                assert response.status < 300, f"{method} {path}: {text}"
            else:
                assert response.status == expect_status, f"{method} {path}: {text}"
            return await response.json() if text else None

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            async with self.http.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            ) as response:
                assert response.status == 200, await response.text()
                self.tokens[username] = (await response.json())["token"]
        return self.tokens[username]

    async def agent_id(self, username: str) -> int:
        agents = await self.call("GET", "/api/agents", as_="sora")
        [found] = [a["id"] for a in agents["agents"] if a["username"] == username]
        return int(found)

    async def hand_off(self, sender_id: str, **fields: Any) -> dict[str, Any]:
        """What the bot posts when it hands a conversation over."""
        body: dict[str, Any] = {
            "sender_id": sender_id,
            "channel": "socketio",
            "language": "ko",
            "reason": "human_requested",
            "trigger": "explicit_request",
            "transcript": [
                {
                    "role": "user",
                    "text": "상담원 연결해 주세요",
                    "timestamp": time.time(),
                }
            ],
            **fields,
        }
        return dict(await self.call("POST", "/api/rasa/handoffs", body))


@dataclass
class Console:
    page: Page
    errors: list[str]
    violations: list[str]

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.violations == []


async def open_console(
    browser: Browser,
    service: Service,
    username: str,
    *,
    width: int = 1280,
    height: int = 800,
) -> Console:
    """A browser tab signed in to the console as ``username``, its feed live."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await record_policy_violations(page, violations)
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    await page.goto(f"{service.url}/console")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("live-status")).to_have_attribute(
        "data-state", "connected"
    )
    return Console(page, errors, violations)


def queue_item(page: Page, handoff_id: int | str) -> Locator:
    """The queue's card of a handoff."""
    return page.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff_id}"]')
