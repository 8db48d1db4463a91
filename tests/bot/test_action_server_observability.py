"""The action server's metrics, health checks and JSON log lines, as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.logs import conversation_log_id
from tests.bot.test_action_server import (
    ROOT,
    STARTUP_SECONDS,
    UNKNOWN_ACTION_CALL,
    call,
    free_port,
    healthy,
)

TOKEN = "actions-token"
SECRET = "service-secret"
SENDER = "telegram:5151"
CLOSED_CALL = {
    "next_action": "action_handoff_closed",
    "sender_id": SENDER,
    "tracker": {"sender_id": SENDER, "slots": {}, "events": [], "latest_message": {}},
    "domain": {},
    "version": "3.6.2",
}


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("actions")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TANDEM_") and key != "SANIC_HOST"
    }
    env.update(
        TANDEM_ACTIONS_PORT=str(port),
        TANDEM_ACTIONS_TOKEN=TOKEN,
        TANDEM_SERVICE_SECRET=SECRET,
        TANDEM_LOG_FORMAT="json",
        TANDEM_VAR_DIR=str(folder),
        TANDEM_DEMO_BACKEND_DB=str(folder / "demo_backend.db"),
        # Nothing listens there: the handoff service is down.
        TANDEM_HANDOFF_URL=f"http://127.0.0.1:{free_port()}",
    )
    log = folder / "actions.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "actions.server"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text("utf-8")[-3000:])
            time.sleep(0.5)
        yield Server(url, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def scrape(url: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    request = urllib.request.Request(f"{url}/metrics", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_action_calls_are_timed_and_failures_counted(server: Server) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert call(f"{server.url}/webhook", bearer, CLOSED_CALL)[0] == 200
    assert call(f"{server.url}/webhook", bearer, UNKNOWN_ACTION_CALL)[0] == 404
    # Refused before any action runs: neither timed nor counted.
    assert call(f"{server.url}/webhook", None, CLOSED_CALL)[0] == 401

    found = scrape(server.url)

    closed = json.dumps({"action": "action_handoff_closed"})
    unknown = json.dumps({"action": "action_nobody_wrote"})
    assert found[f"tandem_actions_run_seconds_count{closed}"] == 1
    assert found[f"tandem_actions_run_seconds_count{unknown}"] == 1
    not_found = json.dumps(
        {"action": "action_nobody_wrote", "kind": "not_found"}, sort_keys=True
    )
    assert found[f"tandem_actions_errors_total{not_found}"] == 1
    assert not any(
        key.startswith("tandem_actions_errors_total") and "handoff_closed" in key
        for key in found
    )


def test_a_proxied_scrape_is_refused(server: Server) -> None:
    status, body = call(f"{server.url}/metrics", {"X-Forwarded-For": "203.0.113.9"})
    assert status == 403
    assert body == {
        "error": "forbidden",
        "message": "GET /metrics answers only on loopback unless "
        "TANDEM_METRICS_TOKEN is set",
    }


def test_health_without_the_token(server: Server) -> None:
    assert call(f"{server.url}/health/live") == (200, {"status": "ok"})
    assert call(f"{server.url}/health/ready") == (
        200,
        {
            "status": "degraded",
            "checks": {"backend": "ok", "handoff_service": "unavailable"},
        },
    )


def test_log_lines_are_json_naming_the_conversation(server: Server) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    call(f"{server.url}/webhook", bearer, CLOSED_CALL)

    lines = [
        json.loads(line)
        for line in server.log.read_text("utf-8").splitlines()
        if line.startswith("{")
    ]
    answered = [
        line
        for line in lines
        if line["message"].startswith("action action_handoff_closed answered 200")
    ]
    assert answered
    assert {line["conversation_id"] for line in answered} == {
        conversation_log_id(SENDER, SECRET)
    }
    assert {line["process"] for line in lines} == {"actions"}
    assert SENDER not in server.log.read_text("utf-8")
