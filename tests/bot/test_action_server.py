"""The action server answers only Rasa, which sends the token endpoints.yml names."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.utils.endpoints import ClientResponseError, read_endpoint_config

from actions.server import checked_settings
from actions.settings import server_settings
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "actions-token"
STARTUP_SECONDS = 120
# What Rasa posts to run an action, for one the server does not have: with the
# token it is answered 404 by rasa-sdk, past the token check.
UNKNOWN_ACTION_CALL = {
    "next_action": "action_nobody_wrote",
    "sender_id": "customer",
    "tracker": {"sender_id": "customer", "slots": {}, "events": []},
    "domain": {},
    "version": "3.6.2",
}


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on for ``port``, as the kernel lists them."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, _, hex_port = fields[1].partition(":")
        if int(hex_port, 16) == port and fields[3] == "0A":  # TCP_LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def call(
    url: str, headers: dict[str, str] | None = None, body: object = None
) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def healthy(url: str) -> bool:
    try:
        return call(f"{url}/health")[0] == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """``python -m actions.server`` as run_stack.py starts it, given no host."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TANDEM_") and key != "SANIC_HOST"
    }
    env.update(TANDEM_ACTIONS_PORT=str(port), TANDEM_ACTIONS_TOKEN=TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the action server did not start")
            time.sleep(0.5)
        yield url, port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_it_listens_on_loopback_only_by_default(server: tuple[str, int]) -> None:
    _, port = server
    assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.parametrize("path", ["/webhook", "/actions"])
def test_a_call_without_the_token_is_refused(
    server: tuple[str, int], path: str
) -> None:
    url, _ = server
    body = UNKNOWN_ACTION_CALL if path == "/webhook" else None
    assert call(f"{url}{path}", body=body) == (
        401,
        {
            "error": "unauthorized",
            "message": "The bearer token is missing: send 'Authorization: Bearer"
            " <token>' with the token from TANDEM_ACTIONS_TOKEN.",
        },
    )


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}-", "Bearer actions-tokem", f"Basic {TOKEN}"]
)
def test_a_call_with_a_wrong_token_is_refused(
    server: tuple[str, int], header: str
) -> None:
    url, _ = server
    status, body = call(
        f"{url}/webhook", {"Authorization": header}, UNKNOWN_ACTION_CALL
    )
    assert status == 401
    assert isinstance(body, dict)
    assert body["error"] == "unauthorized"


def test_a_call_with_the_token_is_served(server: tuple[str, int]) -> None:
    url, _ = server
    status, body = call(f"{url}/actions", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert isinstance(body, list)
    assert {"name": "action_handoff"} in body


async def test_rasa_sends_the_token_endpoints_yml_names(
    server: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = server
    # Rasa reads the whole file, so every variable it names must be set.
    for name in ("TANDEM_TRACKER_DB", "TANDEM_HANDOFF_URL", "TANDEM_SERVICE_SECRET"):
        monkeypatch.setenv(name, "unused")
    monkeypatch.setenv("TANDEM_ACTIONS_URL", f"{url}/webhook")
    monkeypatch.setenv("TANDEM_ACTIONS_TOKEN", TOKEN)
    endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint is not None
    with pytest.raises(ClientResponseError) as refused:
        await endpoint.request(json=UNKNOWN_ACTION_CALL)
    # Past the token check: rasa-sdk itself says it has no such action.
    assert refused.value.status == 404
    assert b"action_nobody_wrote" in refused.value.text


def test_settings_default_to_loopback() -> None:
    settings = server_settings({"TANDEM_HOST": "0.0.0.0", "TANDEM_ACTIONS_TOKEN": "t"})
    assert (settings.host, settings.port) == ("127.0.0.1", 5055)
    assert server_settings({"TANDEM_ACTIONS_HOST": "10.0.0.5"}).host == "10.0.0.5"


def test_the_server_will_not_start_without_a_token() -> None:
    with pytest.raises(SystemExit, match="TANDEM_ACTIONS_TOKEN is not set"):
        checked_settings({"TANDEM_ACTIONS_PORT": "5055"})
