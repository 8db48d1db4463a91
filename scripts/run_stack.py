"""Starts Tandem's three processes, waits until each answers, and supervises them.

The handoff service (with the web chat and the agent console), the action server and
the Rasa server run as child processes with their output prefixed by their name. When
one of them stops, all are stopped, unless a restart policy says to start it again
(``--restart``, scripts/restarts.py). On Ctrl-C/SIGTERM all are stopped: the Rasa
server first, so that it finishes its turns and hands their events to the service
while the service still runs. Uses only the standard library, so any Python 3 can run
it.

Secrets reach the children through their environment only: every local user can read
a process's command line.

    python3 scripts/run_stack.py [--env-file .env] [--model models/tandem.tar.gz]
        [--restart no|on-failure|always]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from restarts import (
    FIRST_DELAY_SECONDS,
    HEALTHY_AFTER_SECONDS,
    MAX_FAILURES_IN_A_ROW,
    Backoff,
    Restart,
)

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
    # Started once every other process answers (a load balancer in front of them),
    # and stopped after every other.
    starts_last: bool = False
    # Stopped before the others, which it needs to finish what it is doing.
    stops_first: bool = False


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
            # Its turns in flight need the action server, and its event broker
            # hands what it buffered to the service.
            stops_first=True,
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


def say(line: str) -> None:
    print(f"[{'tandem':9}] {line}", flush=True)


def exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class _Watch:
    """What the supervisor knows of one process between its starts."""

    backoff: Backoff
    started: float = 0.0
    # When it is due to start again, while it waits.
    restart_at: float | None = None
    # Since it stopped, while it is away (waiting, or started but not answering).
    down_since: float | None = None
    # Started again, and not answering its health check yet.
    recovering: bool = False
    # Starts in a row that stopped before answering.
    failed_starts: int = 0
    # Exited cleanly under on-failure: stays stopped.
    ended: bool = False


class Stack:
    def __init__(
        self,
        env: Mapping[str, str],
        processes: list[Child],
        *,
        restart: Restart = Restart.NO,
        pid_dir: Path | None = None,
        first_delay: float = FIRST_DELAY_SECONDS,
    ) -> None:
        self.env = env
        self.children = processes
        self.restart = restart
        # One file per process, <name>.pid, holding its current process id.
        self.pid_dir = pid_dir
        self.running: dict[str, subprocess.Popen[str]] = {}
        self.watches = {
            child.name: _Watch(Backoff(first=first_delay)) for child in processes
        }

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
        self.watches[child.name].started = time.monotonic()
        if self.pid_dir is not None:
            self.pid_dir.mkdir(parents=True, exist_ok=True)
            written = self.pid_dir / f".{child.name}.pid"
            written.write_text(f"{process.pid}\n", "utf-8")
            written.replace(self.pid_dir / f"{child.name}.pid")
        threading.Thread(
            target=relay_output, args=(child.name, process.stdout), daemon=True
        ).start()

    def _forget_pid(self, name: str) -> None:
        if self.pid_dir is not None:
            (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)

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
                        say(f"{child.name} is ready")
                        waiting.remove(child)
                if time.monotonic() > deadline:
                    names = ", ".join(child.name for child in waiting)
                    raise RuntimeError(f"not ready after {timeout:.0f}s: {names}")
                time.sleep(0.5)

    def tend(self) -> str | None:
        """Applies the restart policy to every process that stopped, starts those
        whose wait is over, and notes those that answer again. Returns the name of
        a process whose stop ends the whole stack, if one did."""
        now = time.monotonic()
        for child in self.children:
            watch = self.watches[child.name]
            if watch.ended:
                continue
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    watch.restart_at = None
                    watch.recovering = True
                    self._spawn(child)
                    say(f"{child.name} started again")
                continue
            code = self.running[child.name].poll()
            if code is None:
                self._note_running(child, watch, now)
                continue
            self._forget_pid(child.name)
            if not self.restart.restarts(code):
                if code == 0 and self.restart == Restart.ON_FAILURE:
                    say(f"{child.name} exited cleanly; it stays stopped")
                    watch.ended = True
                    if all(w.ended for w in self.watches.values()):
                        return child.name
                    continue
                return child.name
            if watch.recovering:
                watch.failed_starts += 1
                if watch.failed_starts >= MAX_FAILURES_IN_A_ROW:
                    say(
                        f"{child.name} stopped {watch.failed_starts} times in a row"
                        " before it answered; giving up"
                    )
                    return child.name
            else:
                watch.down_since = now
            delay = watch.backoff.next_delay()
            watch.restart_at = now + delay
            say(
                f"{child.name} stopped ({exit_description(code)}); starting it again"
                f" in {delay:.0f} s"
            )
        return None

    def _note_running(self, child: Child, watch: _Watch, now: float) -> None:
        if watch.recovering and answers(child.health_url):
            watch.recovering = False
            watch.failed_starts = 0
            away = now - (watch.down_since or watch.started)
            say(f"{child.name} is ready again, {away:.1f} s after it stopped")
        if not watch.recovering and now - watch.started >= HEALTHY_AFTER_SECONDS:
            watch.backoff.reset()

    def stop(self) -> None:
        """SIGTERM, in stages: the processes that stop first, then the others,
        then those that started last; each stage is waited for (and killed after
        STOP_TIMEOUT_SECONDS) before the next."""
        stages = (
            [c for c in self.children if c.stops_first],
            [c for c in self.children if not (c.stops_first or c.starts_last)],
            [c for c in self.children if c.starts_last and not c.stops_first],
        )
        for stage in stages:
            processes = [
                self.running[child.name]
                for child in stage
                if child.name in self.running
            ]
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            for process in processes:
                try:
                    process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        for child in self.children:
            self._forget_pid(child.name)


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
    """Starts the stack, prints ``ready_banner`` once every process answers, keeps
    it running by its restart policy, and stops all of them when a stop the policy
    does not cover happens, or on Ctrl-C/SIGTERM. Returns the exit code."""

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        stack.wait_until_ready()
        print(ready_banner, flush=True)
        while (stopped := stack.tend()) is None:
            time.sleep(0.5)
        say(f"{stopped} stopped; stopping the others")
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:
        say(str(error))
        return 1
    finally:
        # A second Ctrl-C or SIGTERM must not cut the stop short and leave
        # processes behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "tandem.tar.gz")
    parser.add_argument(
        "--restart",
        default=os.environ.get("TANDEM_RESTART", "") or Restart.NO.value,
        help="no (default: one stops, all stop), on-failure or always "
        "(TANDEM_RESTART); scripts/restarts.py",
    )
    args = parser.parse_args(argv)
    restart = Restart.parse(args.restart)
    if not args.model.exists():
        raise SystemExit(f"No trained model at {args.model}: run 'make train'")
    env = stack_environment(os.environ, args.env_file)
    stack = Stack(env, children(env, args.model), restart=restart)
    return supervise(stack, banner(env))


if __name__ == "__main__":
    sys.exit(main())
