"""One conversation followed across the three processes' JSON log lines by one
conversation id, and their metrics and readiness, with every process real."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from handoff.observability.logs import conversation_log_id
from tests.e2e.participants import Customer
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PROCESSES = ("rasa", "actions", "handoff")


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


def json_lines(log_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each process's JSON log lines, by the name run_stack.py prefixes them with."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in PROCESSES}
    for line in log_path.read_text("utf-8", errors="replace").splitlines():
        name, _, rest = line.partition("] ")
        process = name.strip("[ ")
        if process in found and rest.startswith("{"):
            found[process].append(json.loads(rest))
    return found


async def test_one_conversation_id_across_the_three_processes(
    json_stack: Stack,
) -> None:
    customer = Customer(json_stack.rasa_url, json_stack.handoff_url)
    try:
        await customer.connect()
        await customer.say("상담원 연결해 주세요")
        await customer.reply_containing("대기 순서는 1번째")
    finally:
        await customer.close()
    expected = conversation_log_id(customer.session_id, json_stack.service_secret)

    by_process: dict[str, list[dict[str, Any]]] = {}
    for _ in range(20):
        by_process = json_lines(json_stack.log_path)
        if all(
            any(line.get("conversation_id") == expected for line in lines)
            for lines in by_process.values()
        ):
            break
        await asyncio.sleep(0.5)
    for process in PROCESSES:
        lines = by_process[process]
        assert lines, f"{process} wrote no JSON lines"
        assert {line["process"] for line in lines} == {process}
        assert any(line.get("conversation_id") == expected for line in lines), process
    assert any(
        "action_handoff answered 200" in line["message"]
        for line in by_process["actions"]
        if line.get("conversation_id") == expected
    )
    # The session id is the customer's credential: no log line holds it.
    assert customer.session_id not in json_stack.log_path.read_text("utf-8")

    status, text = get(f"{json_stack.rasa_url}/metrics")
    assert status == 200
    received = {
        sample.labels.get("channel"): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tandem_rasa_messages_received_total"
    }
    assert received["socketio"] >= 1
    status, text = get(f"{json_stack.handoff_url}/metrics")
    assert 'tandem_service_handoffs_created_total{channel="web",' in text


@pytest.mark.parametrize("process", PROCESSES)
def test_every_process_is_live_and_ready(json_stack: Stack, process: str) -> None:
    base = {
        "rasa": json_stack.rasa_url,
        "actions": json_stack.actions_url,
        "handoff": json_stack.handoff_url,
    }[process]

    status, body = get(f"{base}/health/live")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, body = get(f"{base}/health/ready")
    assert status == 200
    assert json.loads(body)["status"] == "ok", body
