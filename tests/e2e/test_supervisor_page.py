"""The supervisor page in Debian's chromium, against the handoff service alone.

Only the handoff service runs (``python -m handoff`` on a temporary SQLite
file); a small local HTTP server stands in for Rasa, which the service calls
when an agent closes a conversation.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect
from pytest_aiohttp import AiohttpServer

from handoff.queue.states import HandoffStatus
from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Handoff
from tests.e2e.page_security import assert_security_headers, record_policy_violations
from tests.ports import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("TANDEM_SCREENSHOT_DIR")
PASSWORD = "supervisor-e2e"
TIMEOUT_MS = 20_000
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class Service:
    url: str
    secret: str
    log_path: Path


@pytest.fixture
async def stand_in_rasa(aiohttp_server: AiohttpServer) -> str:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def service(stand_in_rasa: str) -> Iterator[Service]:
    folder = Path(tempfile.mkdtemp(prefix="tandem-supervisor-"))
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
        # The embedded demo's staff, as `make run` seeds them.
        TANDEM_SEED_DEMO_AGENTS="true",
        TANDEM_RASA_URL=stand_in_rasa,
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


async def seed(service: Service) -> None:
    """Four conversations, three handed off; one handoff closed, rated, commented."""
    bot = {"Authorization": f"Bearer {service.secret}"}
    now = time.time()
    async with aiohttp.ClientSession(service.url) as http:
        events: list[dict[str, Any]] = []
        for index, sender_id in enumerate(("alone", "ana", "ben", "cho")):
            start = now - 300 + index
            events.append(
                {"event": "session_started", "sender_id": sender_id, "timestamp": start}
            )
            events.append(
                {
                    "event": "user",
                    "sender_id": sender_id,
                    "timestamp": start + 1,
                    "text": "안녕하세요",
                    "parse_data": {"language": "ko"},
                    "input_channel": "socketio",
                }
            )
        # One the service cannot take: kept aside, the others still count.
        events.append({"event": "user", "sender_id": "<b>eve</b>", "text": "hi"})
        await _call(http, "POST", "/api/rasa/events", bot, {"events": events})
        ids = []
        for sender_id, reason in (
            ("ana", "human_requested"),
            ("ben", "billing_dispute"),
            ("cho", "human_requested"),
        ):
            body = {
                "sender_id": sender_id,
                "channel": "socketio",
                "language": "ko",
                "reason": reason,
                "transcript": [],
            }
            created = await _call(http, "POST", "/api/rasa/handoffs", bot, body)
            ids.append(created["id"])
        login = await _call(
            http,
            "POST",
            "/api/auth/login",
            {},
            {"username": "mina", "password": PASSWORD},
        )
        mina = {"Authorization": f"Bearer {login['token']}"}
        await _call(http, "POST", f"/api/handoffs/{ids[0]}/claim", mina)
        await _call(http, "POST", f"/api/handoffs/{ids[0]}/close", mina)
        rating = await _call(
            http,
            "POST",
            "/api/rasa/csat",
            bot,
            {"sender_id": "ana", "score": 5, "handoff_id": ids[0]},
        )
        await _call(
            http,
            "PATCH",
            f"/api/rasa/csat/{rating['id']}",
            bot,
            {"sender_id": "ana", "comment": "친절하게 도와주셔서 금방 해결됐어요"},
        )
        bot_rating = await _call(
            http, "POST", "/api/rasa/csat", bot, {"sender_id": "alone", "score": 4}
        )
        await _call(
            http,
            "PATCH",
            f"/api/rasa/csat/{bot_rating['id']}",
            bot,
            {"sender_id": "alone", "comment": "<b>answers</b> were quick"},
        )


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
) -> Any:
    async with http.request(method, path, headers=headers, json=body) as response:
        assert response.status < 300, f"{path}: {await response.text()}"
        return await response.json()


async def downloaded_csv(page: Page, table: str) -> str:
    """The CSV the page's download button of ``table`` saves."""
    async with page.expect_download() as download_info:
        await page.get_by_test_id(f"csv-{table}").click()
    download = await download_info.value
    assert download.suggested_filename.startswith(f"tandem-{table}-hour-")
    path = Path(await download.path())
    return await asyncio.to_thread(path.read_text, "utf-8-sig")


async def test_supervisor_sees_the_numbers_and_charts(
    service: Service, browser: Browser
) -> None:
    await seed(service)
    errors: list[str] = []
    context = await browser.new_context(
        viewport={"width": 1280, "height": 1400}, accept_downloads=True
    )
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    violations: list[str] = []
    await record_policy_violations(page, violations)
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)

    await assert_security_headers(await page.goto(f"{service.url}/supervisor"))
    await page.get_by_test_id("login-username").fill("mina")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_contain_text("Only supervisors")
    await expect(page.get_by_test_id("dashboard")).to_be_hidden()

    await page.get_by_test_id("login-username").fill("sora")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("dashboard")).to_be_visible()
    await expect(page.get_by_test_id("live-status")).to_have_attribute(
        "data-state", "connected"
    )

    await expect(page.get_by_test_id("live-queued-value")).to_have_text("2")
    await expect(page.get_by_test_id("kpi-handoffs-value")).to_have_text("3")
    await expect(page.get_by_test_id("kpi-conversations-value")).to_have_text("4")
    await expect(page.get_by_test_id("kpi-containment-value")).to_have_text("25%")
    await expect(page.get_by_test_id("kpi-csat-agent-value")).to_have_text("5.00")
    await expect(page.get_by_test_id("kpi-csat-bot-value")).to_have_text("4.00")
    mina_row = page.locator('[data-testid="agent-row"][data-username="mina"]')
    await expect(mina_row).to_be_visible()
    await expect(page.get_by_test_id("live-dead-letters-value")).to_have_text("1")
    dead_letter = page.get_by_test_id("dead-letter-row")
    await expect(dead_letter).to_have_count(1)
    await expect(dead_letter).to_contain_text("<b>eve</b>")
    await expect(dead_letter).to_contain_text("events[8].timestamp must be a number")

    handoffs_chart = page.get_by_test_id("chart-handoffs")
    await expect(handoffs_chart.locator("svg")).to_have_attribute("data-points", "24")
    bars = handoffs_chart.get_by_test_id("chart-bar")
    await expect(bars).to_have_count(24)
    values = [
        int(float(v))
        for v in await bars.evaluate_all("bars => bars.map(bar => bar.dataset.value)")
    ]
    assert sum(values) == 3
    await expect(
        page.get_by_test_id("chart-containment").get_by_test_id("chart-point")
    ).to_have_count(1)
    await expect(
        page.get_by_test_id("chart-csat").get_by_test_id("chart-point")
    ).to_have_count(1)
    reasons = page.get_by_test_id("reasons").get_by_test_id("breakdown-row")
    await expect(reasons.first).to_have_attribute("data-key", "human_requested")
    await expect(reasons.first).to_have_attribute("data-count", "2")
    await expect(
        page.locator('[data-testid="agent-numbers-row"][data-username="mina"]')
    ).to_contain_text("5.00 (1)")
    comments = page.get_by_test_id("comment-row")
    await expect(comments).to_have_count(2)
    # Newest first: the bot's rating came after the agent's.
    await expect(comments.first).to_have_attribute("data-score", "4")
    # The customer's words are text, never markup.
    await expect(comments.first).to_contain_text("<b>answers</b> were quick")
    await expect(comments.last).to_have_attribute("data-score", "5")
    await expect(comments.last).to_contain_text("친절하게 도와주셔서 금방 해결됐어요")
    await expect(comments.last).to_contain_text("Mina")

    # A new handoff reaches the page through the live feed, without a reload.
    bot = {"Authorization": f"Bearer {service.secret}"}
    async with aiohttp.ClientSession(service.url) as http:
        await _call(
            http,
            "POST",
            "/api/rasa/handoffs",
            bot,
            {
                "sender_id": "dan",
                "channel": "socketio",
                "language": "en",
                "reason": "human_requested",
                "transcript": [],
            },
        )
    await expect(page.get_by_test_id("live-queued-value")).to_have_text("3")

    csv_text = await downloaded_csv(page, "buckets")
    assert csv_text.startswith("bucket_start,conversations,")
    assert len(csv_text.strip().splitlines()) == 25

    ratings_csv = await downloaded_csv(page, "ratings")
    assert ratings_csv.startswith("rated_at,score,comment,")
    assert "친절하게 도와주셔서 금방 해결됐어요" in ratings_csv
    assert len(ratings_csv.strip().splitlines()) == 3

    if SCREENSHOTS:
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(
            path=str(Path(SCREENSHOTS) / "supervisor.png"), full_page=True
        )

    # Logging out ends the sign-in on the server, not only in the page.
    token = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('tandem.console.auth')).token"
    )
    # The page signs out at once and tells the server on the side; wait for that.
    async with page.expect_response("**/api/auth/logout") as logout:
        await page.get_by_test_id("logout").click()
    assert (await logout.value).status == 204
    await expect(page.get_by_test_id("dashboard")).to_be_hidden()
    async with (
        aiohttp.ClientSession(service.url) as http,
        http.get(
            "/api/metrics/live", headers={"Authorization": f"Bearer {token}"}
        ) as refused,
    ):
        assert refused.status == 401
        assert (await refused.json())["error"] == "unauthorized"
    assert errors == []
    assert violations == []


# Every label of every chart, with its chart's box and its neighbours'.
_CHART_LABELS = """
() => [...document.querySelectorAll(".chart-canvas svg")].map((svg) => {
  const box = svg.getBoundingClientRect();
  const labels = [...svg.querySelectorAll("text")].map((text) => {
    const r = text.getBoundingClientRect();
    return {text: text.textContent, left: r.left, right: r.right, top: r.top,
      bottom: r.bottom, middle: text.getAttribute("text-anchor") === "middle"};
  });
  return {chart: svg.closest("figure").dataset.testid, left: box.left, right: box.right,
    top: box.top, bottom: box.bottom, labels};
})
"""


async def seed_long_waits(service: Service) -> None:
    """Handoffs that waited over an hour: the wait chart's labels are long."""
    # The service's own database, written as the service itself writes it.
    url = f"sqlite+aiosqlite:///{service.log_path.parent / 'handoff.db'}"
    engine = create_engine(url)
    now = datetime.now(timezone.utc)
    try:
        async with create_session_factory(engine).begin() as session:
            for index, (created, waited) in enumerate(((150, 3900), (90, 2400))):
                created_at = now - timedelta(minutes=created)
                session.add(
                    Handoff(
                        sender_id=f"waited{index}",
                        channel="socketio",
                        language="ko",
                        reason="human_requested",
                        status=HandoffStatus.ASSIGNED,
                        context={},
                        created_at=created_at,
                        assigned_at=created_at + timedelta(seconds=waited),
                    )
                )
    finally:
        await engine.dispose()


def assert_labels_inside(charts: list[dict[str, Any]], width: int) -> None:
    assert len(charts) == 4
    for chart in charts:
        assert chart["right"] <= width + 0.5, chart
        for label in chart["labels"]:
            for side in ("left", "top"):
                assert label[side] >= chart[side] - 0.5, (chart["chart"], label)
            for side in ("right", "bottom"):
                assert label[side] <= chart[side] + 0.5, (chart["chart"], label)
        under = [label for label in chart["labels"] if label["middle"]]
        for before, after in itertools.pairwise(under):
            assert before["right"] <= after["left"], (chart["chart"], before, after)


@pytest.mark.parametrize("width", [1280, 375])
async def test_chart_labels_stay_inside_their_charts(
    service: Service, browser: Browser, width: int
) -> None:
    await seed_long_waits(service)
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{service.url}/supervisor")
    await page.get_by_test_id("login-username").fill("sora")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    wait_chart = page.get_by_test_id("chart-wait")
    await expect(wait_chart.locator("svg")).to_have_attribute("data-points", "24")
    # By hour since the first seeded handoff (yesterday, just after midnight).
    seoul = ZoneInfo("Asia/Seoul")
    today = datetime.now(seoul).date()
    first = (datetime.now(timezone.utc) - timedelta(minutes=150)).astimezone(seoul)
    await page.get_by_test_id("period-from").fill(str(first.date()))
    await page.get_by_test_id("period-apply").click()
    await expect(wait_chart.get_by_test_id("chart-bar")).to_have_count(2)
    # The longest label is a wait of over an hour ("1h 23m" at the top).
    await expect(wait_chart.locator("text").filter(has_text="h ")).not_to_have_count(0)
    assert_labels_inside(await page.evaluate(_CHART_LABELS), width)

    # A month by day: longer bucket labels, more of them.
    await page.get_by_test_id("period-bucket").select_option("day")
    await page.get_by_test_id("period-from").fill(str(today - timedelta(days=30)))
    await page.get_by_test_id("period-apply").click()
    await expect(wait_chart.locator("svg")).to_have_attribute("data-points", "31")
    assert_labels_inside(await page.evaluate(_CHART_LABELS), width)

    # Drawn again when the page changes width.
    drawn_at = await wait_chart.locator("svg").get_attribute("width")
    resized = 320 if width > 400 else 900
    await page.set_viewport_size({"width": resized, "height": 900})
    svg = wait_chart.locator("svg")
    await expect(svg).not_to_have_attribute("width", str(drawn_at))
    assert_labels_inside(await page.evaluate(_CHART_LABELS), resized)
    await context.close()
