"""The real stack as processes, for the end-to-end tests and the benchmarks.

Rasa server, action server and handoff service run through scripts/run_stack.py,
on free ports of 127.0.0.1, with their databases in a folder of the caller's. With
``platforms``, the Telegram and Twilio channels are on too, talking to stand-ins of
the platforms' APIs (tests/standins/) that run as processes of their own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port
from tests.standins.processes import running_stand_in

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 300


@dataclass(frozen=True)
class Platforms:
    """Stand-ins of Telegram's and Twilio's APIs, and the settings pointing at them."""

    telegram_url: str
    twilio_url: str
    telegram_token: str = "123456:e2e-telegram-token"
    telegram_secret: str = "e2e-webhook-secret"
    twilio_account_sid: str = "AC" + "e2" * 16
    twilio_auth_token: str = "e2e-twilio-auth-token"
    sms_number: str = "+15005550006"
    whatsapp_number: str = "+14155238886"

    def settings(self, public_url: str) -> dict[str, str]:
        return {
            "TANDEM_PUBLIC_URL": public_url,
            "TANDEM_TELEGRAM_TOKEN": self.telegram_token,
            "TANDEM_TELEGRAM_SECRET_TOKEN": self.telegram_secret,
            "TANDEM_TELEGRAM_API_URL": self.telegram_url,
            "TANDEM_TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TANDEM_TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TANDEM_TWILIO_NUMBER": self.sms_number,
            "TANDEM_TWILIO_WHATSAPP_NUMBER": self.whatsapp_number,
            "TANDEM_TWILIO_API_URL": self.twilio_url,
        }


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
    platforms: Platforms | None = None
    """The messaging platforms' stand-ins the bot's channels talk to, if any."""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text("utf-8").splitlines()[-lines:])


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
def running_platforms(folder: Path) -> Iterator[Platforms]:
    """The Telegram and Twilio stand-ins as processes, on ports they choose."""
    credentials = Platforms(telegram_url="", twilio_url="")
    with (
        running_stand_in(
            [
                "tests.standins.telegram_api",
                *("--token", credentials.telegram_token),
            ],
            folder / "telegram.log",
        ) as telegram_url,
        running_stand_in(
            [
                "tests.standins.twilio_api",
                *("--account-sid", credentials.twilio_account_sid),
                *("--auth-token", credentials.twilio_auth_token),
            ],
            folder / "twilio.log",
        ) as twilio_url,
    ):
        yield dataclasses.replace(
            credentials, telegram_url=telegram_url, twilio_url=twilio_url
        )


@contextmanager
def running_stack(
    model: Path,
    folder: Path,
    *,
    rest_channel: bool = False,
    channel_settings: Mapping[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    platforms: Platforms | None = None,
) -> Iterator[Stack]:
    """The three processes, business hours forced open, stopped on the way out.
    With ``rest_channel``, Rasa also serves ``POST /webhooks/rest/webhook`` to
    callers with ``Stack.rest_token`` (bench/credentials.yml). ``channel_settings``
    (``TANDEM_KAKAO_…`` and the like) turn on the messaging channels they set;
    ``extra_env`` adds other settings (``TANDEM_LOG_FORMAT``, say). With
    ``platforms``, the Telegram and Twilio channels serve their webhooks on Rasa's
    port and send to those stand-ins."""
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
    if platforms is not None:
        # The public URL Twilio signs: here, Rasa's own address.
        env.update(platforms.settings(f"http://127.0.0.1:{ports['TANDEM_RASA_PORT']}"))
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
                    "TANDEM_TELEGRAM_TOKEN",
                    "TANDEM_TELEGRAM_SECRET_TOKEN",
                    "TANDEM_TWILIO_AUTH_TOKEN",
                )
                if key in env
            ),
            platforms=platforms,
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


def set_telegram_webhook(stack: Stack) -> None:
    """What an operator does once: give Telegram the webhook and its secret token."""
    assert stack.platforms is not None
    platforms = stack.platforms
    request = urllib.request.Request(
        f"{platforms.telegram_url}/bot{platforms.telegram_token}/setWebhook",
        data=json.dumps(
            {
                "url": f"{stack.rasa_url}/webhooks/telegram/webhook",
                "secret_token": platforms.telegram_secret,
            }
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["ok"] is True
