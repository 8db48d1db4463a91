"""Starts Tandem's three processes, waits until each answers, and supervises them.

The handoff service (with the web chat and the agent console), the action server and
the Rasa server run as child processes with their output prefixed by their name. When
one of them stops, or on Ctrl-C/SIGTERM, all are stopped. Uses only the standard
library, so any Python 3 can run it.

Secrets reach the children through their environment only: every local user can read
a process's command line.

    python3 scripts/run_stack.py [--env-file .env] [--model models/tandem.tar.gz]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT_PYTHON = ROOT / ".venv" / "bot" / "bin" / "python"
HANDOFF_PYTHON = ROOT / ".venv" / "handoff" / "bin" / "python"
STARTUP_TIMEOUT_SECONDS = 240.0
STOP_TIMEOUT_SECONDS = 15.0
# Secrets reach every process through the environment, never a command line; the
# chat session secret lets Rasa check the web chat's session ids.
SECRETS = (
    "TANDEM_RASA_TOKEN",
    "TANDEM_SERVICE_SECRET",
    "TANDEM_ACTIONS_TOKEN",
    "TANDEM_CHAT_SESSION_SECRET",
)
# Messaging channels, each named in the credentials file only when the setting that
# turns it on is set; the others it needs must be set too.
MESSAGING_CHANNELS = {
    "bot.channels.telegram.TelegramInput": (
        "TANDEM_TELEGRAM_TOKEN",
        ("TANDEM_TELEGRAM_SECRET_TOKEN",),
    ),
    "bot.channels.twilio.TwilioInput": (
        "TANDEM_TWILIO_ACCOUNT_SID",
        ("TANDEM_TWILIO_AUTH_TOKEN", "TANDEM_PUBLIC_URL"),
    ),
}
TWILIO_NUMBERS = ("TANDEM_TWILIO_NUMBER", "TANDEM_TWILIO_WHATSAPP_NUMBER")
GENERATED_CREDENTIALS = "credentials.generated.yml"


@dataclass(frozen=True)
class Child:
    name: str
    command: list[str]
    health_url: str
    # Its own environment, where it differs from the stack's.
    env: Mapping[str, str] | None = None
    # Started once every other process answers (a load balancer in front of them).
    starts_last: bool = False


def read_env_file(path: Path) -> dict[str, str]:
    """Reads KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def stack_environment(
    base: Mapping[str, str], env_file: Path, root: Path = ROOT
) -> dict[str, str]:
    """The environment every child gets: .env under the caller's own variables,
    plus the addresses the processes use to find each other."""
    env = {key: value for key, value in read_env_file(env_file).items() if value}
    env.update({key: value for key, value in base.items() if value})
    for secret in SECRETS:
        if not env.get(secret):
            raise SystemExit(f"{secret} is not set: run 'make setup' to add it to .env")
    host = env.setdefault("TANDEM_HOST", "127.0.0.1")
    # Only the Rasa server calls the action server: it stays on loopback whatever
    # TANDEM_HOST exposes, unless its own setting says otherwise.
    actions_host = env.setdefault("TANDEM_ACTIONS_HOST", "127.0.0.1")
    handoff_port = env.setdefault("TANDEM_HANDOFF_PORT", "8080")
    rasa_port = env.setdefault("TANDEM_RASA_PORT", "5005")
    actions_port = env.setdefault("TANDEM_ACTIONS_PORT", "5055")
    var_dir = Path(env.setdefault("TANDEM_VAR_DIR", "var"))
    if not var_dir.is_absolute():
        var_dir = root / var_dir
    var_dir.mkdir(parents=True, exist_ok=True)
    env.setdefault("TANDEM_HANDOFF_HOST", host)
    env.setdefault("TANDEM_HANDOFF_URL", f"http://{host}:{handoff_port}")
    env.setdefault("TANDEM_RASA_URL", f"http://{host}:{rasa_port}")
    env.setdefault("TANDEM_RASA_SOCKET_URL", env["TANDEM_RASA_URL"])
    env.setdefault(
        "TANDEM_ACTIONS_URL", f"http://{actions_host}:{actions_port}/webhook"
    )
    # credentials.yml has no REST channel; bench/credentials.yml adds one that needs
    # TANDEM_REST_TOKEN.
    env.setdefault("TANDEM_CREDENTIALS_FILE", "credentials.yml")
    env.setdefault("TANDEM_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir}/handoff.db")
    # The one-command demo on the embedded database has demo staff to sign in with;
    # the service refuses them anywhere else.
    if env["TANDEM_DATABASE_URL"].startswith("sqlite"):
        env.setdefault("TANDEM_SEED_DEMO_AGENTS", "true")
    env.setdefault("TANDEM_TRACKER_DB", str(var_dir / "rasa_tracker.db"))
    env.setdefault("TANDEM_DEMO_BACKEND_DB", str(var_dir / "demo_backend.db"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONUNBUFFERED", "1")
    channels = messaging_channels(env)
    if channels:
        env["TANDEM_CREDENTIALS_FILE"] = str(
            write_credentials(env["TANDEM_CREDENTIALS_FILE"], channels, var_dir)
        )
    return env


def messaging_channels(env: Mapping[str, str]) -> list[str]:
    """The messaging channels whose settings are set, by class path. A channel with
    only some of the settings it needs stops the start, naming the others."""
    channels = []
    for path, (switch, needed) in MESSAGING_CHANNELS.items():
        if not env.get(switch):
            continue
        missing = [name for name in needed if not env.get(name)]
        if path.endswith("TwilioInput") and not any(
            env.get(name) for name in TWILIO_NUMBERS
        ):
            missing.append(" or ".join(TWILIO_NUMBERS))
        if missing:
            raise SystemExit(
                f"{switch} is set but {', '.join(missing)} is not: set it in .env,"
                f" or unset {switch} to leave the channel off"
            )
        channels.append(path)
    return channels


def write_credentials(base: str, channels: list[str], var_dir: Path) -> Path:
    """The credentials file ``base`` plus the messaging channels, in ``var_dir``.
    The channels read their settings and secrets from the environment, so the
    file names them only."""
    source = Path(base) if Path(base).is_absolute() else ROOT / base
    lines = [
        source.read_text("utf-8").rstrip("\n"),
        "",
        "# Written by scripts/run_stack.py: the messaging channels whose settings",
        "# are set. Each reads them from the environment (bot/channels/).",
        *(f"{path}: {{}}" for path in channels),
    ]
    target = var_dir / GENERATED_CREDENTIALS
    target.write_text("\n".join(lines) + "\n", "utf-8")
    return target


def children(env: Mapping[str, str], model: Path) -> list[Child]:
    host = env["TANDEM_HOST"]
    handoff_origins = [
        f"http://{name}:{env['TANDEM_HANDOFF_PORT']}"
        for name in dict.fromkeys([host, "127.0.0.1", "localhost"])
    ]
    return [
        Child(
            name="handoff",
            command=[str(HANDOFF_PYTHON), "-m", "handoff"],
            health_url=f"{env['TANDEM_HANDOFF_URL']}/api/health",
        ),
        Child(
            name="actions",
            # Host, port and token from the environment (actions/server.py).
            command=[str(BOT_PYTHON), "-m", "actions.server"],
            health_url=(
                f"http://{env['TANDEM_ACTIONS_HOST']}:{env['TANDEM_ACTIONS_PORT']}"
                "/health"
            ),
        ),
        Child(
            name="rasa",
            # `rasa run`, with the API token from TANDEM_RASA_TOKEN (bot/server.py).
            command=[
                str(BOT_PYTHON),
                "-m",
                "bot.server",
                "--model",
                str(model),
                "--enable-api",
                "--interface",
                host,
                "--port",
                env["TANDEM_RASA_PORT"],
                "--credentials",
                env["TANDEM_CREDENTIALS_FILE"],
                "--endpoints",
                "endpoints.yml",
                "--cors",
                *handoff_origins,
            ],
            health_url=(
                f"{env['TANDEM_RASA_URL']}/status?token={env['TANDEM_RASA_TOKEN']}"
            ),
        ),
    ]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def relay_output(name: str, stream: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(f"[{name:9}] {line}")
        sys.stdout.flush()


class Stack:
    def __init__(self, env: Mapping[str, str], processes: list[Child]) -> None:
        self.env = env
        self.children = processes
        self.running: dict[str, subprocess.Popen[str]] = {}

    def start(self) -> None:
        """Starts every process but those that wait for the others to answer."""
        for child in self.children:
            if not child.starts_last:
                self._spawn(child)

    def _spawn(self, child: Child) -> None:
        process = subprocess.Popen(
            child.command,
            cwd=ROOT,
            env=dict(child.env if child.env is not None else self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.running[child.name] = process
        threading.Thread(
            target=relay_output, args=(child.name, process.stdout), daemon=True
        ).start()

    def wait_until_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        for starts_last in (False, True):
            waiting = [c for c in self.children if c.starts_last == starts_last]
            for child in waiting:
                if child.name not in self.running:
                    self._spawn(child)
            while waiting:
                for child in list(waiting):
                    if self.running[child.name].poll() is not None:
                        raise RuntimeError(f"{child.name} stopped while starting")
                    if answers(child.health_url):
                        print(f"[{'tandem':9}] {child.name} is ready", flush=True)
                        waiting.remove(child)
                if time.monotonic() > deadline:
                    names = ", ".join(child.name for child in waiting)
                    raise RuntimeError(f"not ready after {timeout:.0f}s: {names}")
                time.sleep(0.5)

    def first_stopped(self) -> str | None:
        for name, process in self.running.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def banner(env: Mapping[str, str]) -> str:
    handoff = env["TANDEM_HANDOFF_URL"]
    if env.get("TANDEM_SEED_DEMO_AGENTS", "").lower() in ("true", "1", "yes", "on"):
        staff = (
            "  Demo staff (embedded SQLite demo only): agents mina, joon; supervisor"
            f" sora; password {env.get('TANDEM_DEMO_AGENT_PASSWORD', 'tandem-demo')}\n"
        )
    else:
        staff = "  Staff accounts: python -m handoff create-agent --help\n"
    return (
        "\nTandem is up.\n"
        f"  Customer web chat:  {handoff}/chat\n"
        f"  Agent console:      {handoff}/console\n"
        f"{staff}"
        f"  Rasa server:        {env['TANDEM_RASA_URL']}"
        " (its API needs TANDEM_RASA_TOKEN)\n"
        f"{channel_lines(env)}"
        "Press Ctrl-C to stop.\n"
    )


def channel_lines(env: Mapping[str, str]) -> str:
    """Where each configured messaging channel takes its webhooks."""
    webhooks = {
        "bot.channels.telegram.TelegramInput": ("Telegram", "telegram"),
        "bot.channels.twilio.TwilioInput": ("Twilio", "twilio"),
    }
    public = env.get("TANDEM_PUBLIC_URL") or env["TANDEM_RASA_URL"]
    return "".join(
        f"  {name + ' webhook:':20}{public.rstrip('/')}/webhooks/{route}/webhook\n"
        for path, (name, route) in webhooks.items()
        if path in messaging_channels(env)
    )


def supervise(stack: Stack, ready_banner: str) -> int:
    """Starts the stack, prints ``ready_banner`` once every process answers, and
    stops all of them when one stops or on Ctrl-C/SIGTERM. Returns the exit code."""

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        stack.wait_until_ready()
        print(ready_banner, flush=True)
        while (stopped := stack.first_stopped()) is None:
            time.sleep(0.5)
        print(f"[{'tandem':9}] {stopped} stopped; stopping the others", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        print(f"[{'tandem':9}] {error}", flush=True)
        return 1
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "tandem.tar.gz")
    args = parser.parse_args(argv)
    if not args.model.exists():
        raise SystemExit(f"No trained model at {args.model}: run 'make train'")
    env = stack_environment(os.environ, args.env_file)
    return supervise(Stack(env, children(env, args.model)), banner(env))


if __name__ == "__main__":
    sys.exit(main())
