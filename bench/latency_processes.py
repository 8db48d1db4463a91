"""The servers the latency benchmark talks to, each started on free ports on
127.0.0.1 and stopped when the benchmark ends:

- Tandem exactly as ``make run`` starts it (``scripts/run_stack.py``), with its
  databases in a temporary folder, as the end-to-end tests do;
- Tandem's model in a second Rasa server that keeps trackers in memory and has no
  event broker, to show what the SQL tracker store and the broker cost;
- a vanilla bot made by ``rasa init`` (trained in the temporary folder) with its own
  action server and Rasa's own REST channel.

Tandem's Rasa servers serve the REST webhook through bench/credentials.yml, to callers
with the token they are given; every Rasa server takes its API token from the
environment (bot/server.py), so no secret is on a command line.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
BOT_BIN = ROOT / ".venv" / "bot" / "bin"
BENCH_CREDENTIALS = ROOT / "bench" / "credentials.yml"
TANDEM_MODEL = ROOT / "models" / "tandem.tar.gz"
STARTUP_SECONDS = 600.0
INIT_SECONDS = 1800.0
STOP_SECONDS = 30.0


@dataclass(frozen=True)
class Bot:
    name: str
    url: str
    token: str
    log_path: Path
    rest_token: str | None = None
    """What ``POST /webhooks/rest/webhook`` needs, when its channel checks a token."""

    def rest_headers(self) -> dict[str, str]:
        if self.rest_token is None:
            return {}
        return {"Authorization": f"Bearer {self.rest_token}"}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def _base_env(folder: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TANDEM_")
    }
    env.update(
        RASA_CACHE_DIRECTORY=str(folder / "rasa-cache"),
        RASA_TELEMETRY_ENABLED="false",
        # rasa-sdk's action server listens where SANIC_HOST says, by default 0.0.0.0.
        SANIC_HOST="127.0.0.1",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def _process(
    command: list[str], cwd: Path, env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        # run_stack.py stops its own children on SIGTERM; Rasa stops on it too.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_for(
    process: subprocess.Popen[bytes], log_path: Path, ready: str | None, url: str | None
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if ready is not None and ready in log_path.read_text("utf-8", "replace"):
            return
        if url is not None and _answers(url):
            return
        time.sleep(1.0)
    tail = log_path.read_text("utf-8", "replace")[-4000:]
    raise RuntimeError(f"{process.args!r} did not come up:\n{tail}")


def _rasa_server(
    stack: ExitStack,
    name: str,
    folder: Path,
    cwd: Path,
    env: dict[str, str],
    model: Path,
    endpoints: Path,
    credentials: Path,
    rest_token: str | None,
) -> Bot:
    port, token = free_port(), secrets.token_urlsafe(16)
    log_path = folder / f"{name}.log"
    url = f"http://127.0.0.1:{port}"
    # bot/server.py from any working folder, the vanilla bot's included.
    env = {**env, "TANDEM_RASA_TOKEN": token, "PYTHONPATH": str(ROOT)}
    command = [
        str(BOT_BIN / "python"),
        "-m",
        "bot.server",
        "--model",
        str(model),
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
    ]
    process = stack.enter_context(_process(command, cwd, env, log_path))
    _wait_for(process, log_path, None, f"{url}/status?token={token}")
    return Bot(name, url, token, log_path, rest_token)


def _action_server(
    stack: ExitStack, folder: Path, cwd: Path, env: dict[str, str], name: str
) -> str:
    port = free_port()
    log_path = folder / f"{name}.log"
    command = [str(BOT_BIN / "rasa"), "run", "actions", "--port", str(port)]
    process = stack.enter_context(_process(command, cwd, env, log_path))
    _wait_for(process, log_path, None, f"http://127.0.0.1:{port}/health")
    return f"http://127.0.0.1:{port}/webhook"


def start_tandem(stack: ExitStack, folder: Path, model: Path) -> tuple[Bot, Bot]:
    """Tandem's stack, and its model in a Rasa server without tracker store or
    broker that uses the stack's action server."""
    if not model.exists():
        raise SystemExit(f"no trained model at {model}: run 'make train' first")
    var_dir = folder / "tandem-var"
    var_dir.mkdir()
    ports = {
        "TANDEM_HANDOFF_PORT": free_port(),
        "TANDEM_RASA_PORT": free_port(),
        "TANDEM_ACTIONS_PORT": free_port(),
    }
    token, rest_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    env = _base_env(folder)
    env.update({key: str(port) for key, port in ports.items()})
    env.update(
        TANDEM_HOST="127.0.0.1",
        TANDEM_RASA_TOKEN=token,
        TANDEM_SERVICE_SECRET=secrets.token_urlsafe(16),
        TANDEM_ACTIONS_TOKEN=secrets.token_urlsafe(16),
        TANDEM_CREDENTIALS_FILE=str(BENCH_CREDENTIALS),
        TANDEM_REST_TOKEN=rest_token,
        TANDEM_CHAT_SESSION_SECRET=secrets.token_urlsafe(16),
        TANDEM_VAR_DIR=str(var_dir),
        TANDEM_DEMO_AGENT_PASSWORD=secrets.token_urlsafe(12),
        # Every simulated conversation verifies the same demo customer, which the
        # one-time-code limit per number would rightly refuse after a few.
        TANDEM_CODES_PER_NUMBER="1000000",
    )
    log_path = folder / "tandem.log"
    command = [
        sys.executable,
        str(ROOT / "scripts" / "run_stack.py"),
        "--env-file",
        str(folder / "no.env"),
        "--model",
        str(model),
    ]
    process = stack.enter_context(_process(command, ROOT, env, log_path))
    _wait_for(process, log_path, "Tandem is up.", None)
    tandem = Bot(
        "tandem",
        f"http://127.0.0.1:{ports['TANDEM_RASA_PORT']}",
        token,
        log_path,
        rest_token,
    )

    endpoints = folder / "tandem-bare-endpoints.yml"
    # Rasa fills in the action server's token from the environment.
    endpoints.write_text(
        "action_endpoint:\n"
        f"  url: http://127.0.0.1:{ports['TANDEM_ACTIONS_PORT']}/webhook\n"
        "  headers:\n"
        "    Authorization: Bearer ${TANDEM_ACTIONS_TOKEN}\n",
        "utf-8",
    )
    bare = _rasa_server(
        stack,
        "tandem-bare",
        folder,
        ROOT,
        env,
        model,
        endpoints,
        BENCH_CREDENTIALS,
        rest_token,
    )
    return tandem, bare


def start_vanilla(stack: ExitStack, folder: Path) -> Bot:
    """``rasa init``'s bot, trained here, with its action server."""
    bot_dir = folder / "vanilla"
    bot_dir.mkdir()
    env = _base_env(folder)
    log_path = folder / "vanilla-init.log"
    with log_path.open("wb") as log:
        subprocess.run(
            [str(BOT_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(bot_dir)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=INIT_SECONDS,
            check=True,
        )
    actions_url = _action_server(stack, folder, bot_dir, env, "vanilla-actions")
    endpoints = folder / "vanilla-endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: {actions_url}\n", "utf-8")
    return _rasa_server(
        stack,
        "vanilla",
        folder,
        bot_dir,
        env,
        bot_dir / "models",
        endpoints,
        bot_dir / "credentials.yml",
        None,
    )
