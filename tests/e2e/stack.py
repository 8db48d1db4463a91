"""The real stack as processes, for the end-to-end tests and the benchmarks.

Rasa server, action server and handoff service run through scripts/run_stack.py,
on free ports of 127.0.0.1, with their databases in a folder of the caller's.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 300


@dataclass(frozen=True)
class Stack:
    handoff_url: str
    rasa_url: str
    rasa_token: str
    agent_password: str
    log_path: Path
    var_dir: Path
    """The stack's TANDEM_VAR_DIR: databases and the dev outbox of one-time codes."""
    rest_token: str | None = None
    """The bearer token of Rasa's REST channel, when the stack has one."""
    secret_values: tuple[str, ...] = ()
    """Every secret value the processes were given, to look for where none belongs."""
    actions_url: str = ""
    service_secret: str = ""
    """TANDEM_SERVICE_SECRET, which also keys the conversations' log ids."""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text("utf-8").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if "Tandem is up." in log_path.read_text("utf-8", errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    tail = log_path.read_text("utf-8", errors="replace")[-4000:]
    raise RuntimeError(f"the stack did not come up:\n{tail}")


@contextmanager
def running_stack(
    model: Path,
    folder: Path,
    *,
    rest_channel: bool = False,
    channel_settings: Mapping[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """The three processes, business hours forced open, stopped on the way out.
    With ``rest_channel``, Rasa also serves ``POST /webhooks/rest/webhook`` to
    callers with ``Stack.rest_token`` (bench/credentials.yml). ``channel_settings``
    (``TANDEM_KAKAO_…`` and the like) turn on the messaging channels they set;
    ``extra_env`` adds other settings (``TANDEM_LOG_FORMAT``, say)."""
    ports = {
        "TANDEM_HANDOFF_PORT": free_port(),
        "TANDEM_RASA_PORT": free_port(),
        "TANDEM_ACTIONS_PORT": free_port(),
    }
    token, password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update({key: str(port) for key, port in ports.items()})
    env.update(
        TANDEM_HOST="127.0.0.1",
        TANDEM_RASA_TOKEN=token,
        TANDEM_SERVICE_SECRET=secrets.token_urlsafe(16),
        TANDEM_ACTIONS_TOKEN=secrets.token_urlsafe(16),
        TANDEM_CHAT_SESSION_SECRET=secrets.token_urlsafe(16),
        TANDEM_VAR_DIR=str(folder),
        TANDEM_DEMO_AGENT_PASSWORD=password,
        # Handoffs need agents whatever the time in Seoul.
        TANDEM_ALWAYS_OPEN="true",
    )
    env.update(channel_settings or {})
    rest_token = secrets.token_urlsafe(16) if rest_channel else None
    if rest_token is not None:
        env.update(
            TANDEM_CREDENTIALS_FILE=str(ROOT / "bench" / "credentials.yml"),
            TANDEM_REST_TOKEN=rest_token,
        )
    env.update(extra_env or {})
    log_path = folder / "stack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "run_stack.py"),
                "--env-file",
                str(folder / "no.env"),
                "--model",
                str(model),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(process, log_path)
        yield Stack(
            handoff_url=f"http://127.0.0.1:{ports['TANDEM_HANDOFF_PORT']}",
            rasa_url=f"http://127.0.0.1:{ports['TANDEM_RASA_PORT']}",
            rasa_token=token,
            agent_password=password,
            log_path=log_path,
            var_dir=folder,
            rest_token=rest_token,
            actions_url=f"http://127.0.0.1:{ports['TANDEM_ACTIONS_PORT']}",
            service_secret=env["TANDEM_SERVICE_SECRET"],
            secret_values=tuple(
                env[key]
                for key in (
                    "TANDEM_RASA_TOKEN",
                    "TANDEM_SERVICE_SECRET",
                    "TANDEM_ACTIONS_TOKEN",
                    "TANDEM_DEMO_AGENT_PASSWORD",
                    "TANDEM_REST_TOKEN",
                    "TANDEM_KAKAO_REST_API_KEY",
                    "TANDEM_KAKAO_SKILL_SECRET",
                )
                if key in env
            ),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rasa_tracker(stack: Stack, sender_id: str) -> dict[str, object]:
    url = f"{stack.rasa_url}/conversations/{sender_id}/tracker?token={stack.rasa_token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))
