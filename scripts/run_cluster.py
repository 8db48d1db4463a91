"""Starts Tandem as a cluster of local processes behind HAProxy (``make run-cluster``).

Two Rasa servers share their conversations in PostgreSQL, their conversation locks
(bot/lock_store.py) and the web chat's socket.io messages (bot/socketio_redis.py) in
Redis; two action servers share the demo back end; two handoff service instances
share PostgreSQL and pass the agents' live feed between them. HAProxy, the only
process customers and staff reach, routes the web chat's socket.io (sticky by cookie)
and the webhooks to the Rasa servers and everything else to the service; loopback
listeners of its own balance Rasa's API for the service, the service for the bot, and
the action servers for Rasa.

Before starting, the databases are created if missing (``TANDEM_CLUSTER_NAME`` for
the service, ``<name>_rasa`` for the conversations), the service's schema migrated,
the staff created once with a password kept in the cluster's folder, and the demo
back end seeded. Output is prefixed by process name. A process that fails (a non-zero
exit, ``kill -9``) is started again after a wait that doubles from 1 s to 30 s, as
systemd's ``Restart=on-failure`` would (``--restart`` or ``TANDEM_CLUSTER_RESTART``:
``no`` stops all when one stops; scripts/restarts.py). Each process's id is in
``<folder>/pids/<name>.pid`` while it runs. On Ctrl-C/SIGTERM all are stopped: the
Rasa servers first, which finish their turns and hand their events to the service,
then the action servers and the service instances, HAProxy last. Uses only the
standard library, like run_stack.py.

    python3 scripts/run_cluster.py [--env-file .env] [--model models/tandem.tar.gz]
        [--rasa 2] [--actions 2] [--services 2] [--restart on-failure]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import string
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from restarts import Restart
from run_stack import (
    BOT_PYTHON,
    HANDOFF_PYTHON,
    ROOT,
    SECRETS,
    Child,
    Stack,
    read_env_file,
    supervise,
)

HAPROXY_TEMPLATE = ROOT / "deploy" / "local" / "haproxy.cfg"
ENDPOINTS = ROOT / "deploy" / "local" / "endpoints.yml"
DEFAULT_NAME = "tandem_cluster"
NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
MAX_INSTANCES = 9
# Where each kind of process listens, from TANDEM_CLUSTER_BASE_PORT: rasa-1 on
# base + 1, actions-1 on base + 11, handoff-1 on base + 21, HAProxy's own loopback
# listeners from base + 30.
PORT_OFFSETS = {"rasa": 0, "actions": 10, "handoff": 20}
MONITOR_OFFSET, RASA_API_OFFSET, HANDOFF_FOR_BOT_OFFSET, ACTIONS_OFFSET = 30, 31, 32, 33


@dataclass(frozen=True)
class Cluster:
    name: str
    host: str
    public_port: int
    base_port: int
    rasa: int
    actions: int
    services: int
    folder: Path
    postgres_url: str
    redis_url: str
    haproxy: str
    # For tests and diagnosis: the service instances call this Rasa server, and the
    # Rasa and action servers this service instance, instead of the balanced ones.
    service_calls_rasa: str | None = None
    bot_calls_service: str | None = None

    def port(self, kind: str, number: int) -> int:
        return self.base_port + PORT_OFFSETS[kind] + number

    def names(self, kind: str) -> list[str]:
        count = {"rasa": self.rasa, "actions": self.actions, "handoff": self.services}
        return [f"{kind}-{n}" for n in range(1, count[kind] + 1)]

    def url(self, name: str) -> str:
        kind, _, number = name.rpartition("-")
        return f"http://127.0.0.1:{self.port(kind, int(number))}"

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.public_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.base_port + MONITOR_OFFSET}/health"

    @property
    def rasa_api_url(self) -> str:
        if self.service_calls_rasa:
            return self.url(self.service_calls_rasa)
        return f"http://127.0.0.1:{self.base_port + RASA_API_OFFSET}"

    @property
    def handoff_for_bot_url(self) -> str:
        if self.bot_calls_service:
            return self.url(self.bot_calls_service)
        return f"http://127.0.0.1:{self.base_port + HANDOFF_FOR_BOT_OFFSET}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.base_port + ACTIONS_OFFSET}/webhook"

    @property
    def tracker_database(self) -> str:
        return f"{self.name}_rasa"

    @property
    def staff_password_file(self) -> Path:
        return self.folder / "staff_password"

    @property
    def pid_dir(self) -> Path:
        return self.folder / "pids"


def database_url(server: str, database: str, driver: str) -> str:
    """``server`` (any PostgreSQL URL) for ``database`` through ``driver``."""
    parts = urlsplit(server)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"TANDEM_CLUSTER_POSTGRES_URL is not PostgreSQL: {server}")
    return urlunsplit((driver, parts.netloc, f"/{database}", parts.query, ""))


def _integer(
    env: Mapping[str, str], name: str, default: int, low: int, high: int
) -> int:
    raw = env.get(name, "") or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SystemExit(
            f"{name} must be a whole number from {low} to {high}, not {raw}"
        )
    return int(raw)


def cluster_environment(base: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """.env under the caller's own variables, with every secret set."""
    env = {key: value for key, value in read_env_file(env_file).items() if value}
    env.update({key: value for key, value in base.items() if value})
    for secret in SECRETS:
        if not env.get(secret):
            raise SystemExit(f"{secret} is not set: run 'make setup' to add it to .env")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def cluster_from(
    env: Mapping[str, str], arguments: argparse.Namespace, root: Path = ROOT
) -> Cluster:
    name = env.get("TANDEM_CLUSTER_NAME", "") or DEFAULT_NAME
    if not NAME.fullmatch(name):
        raise SystemExit(
            "TANDEM_CLUSTER_NAME must be lower-case letters, digits and _ "
            f"(a database name), not {name!r}"
        )
    var_dir = Path(env.get("TANDEM_VAR_DIR", "") or "var")
    if not var_dir.is_absolute():
        var_dir = root / var_dir
    for kind, count in (
        ("--rasa", arguments.rasa),
        ("--actions", arguments.actions),
        ("--services", arguments.services),
    ):
        if not 1 <= count <= MAX_INSTANCES:
            raise SystemExit(f"{kind} must be from 1 to {MAX_INSTANCES}")
    cluster = Cluster(
        name=name,
        host=env.get("TANDEM_HOST", "") or "127.0.0.1",
        public_port=_integer(env, "TANDEM_CLUSTER_PORT", 8090, 1, 65535),
        base_port=_integer(env, "TANDEM_CLUSTER_BASE_PORT", 18000, 1024, 65500),
        rasa=arguments.rasa,
        actions=arguments.actions,
        services=arguments.services,
        folder=var_dir / name,
        postgres_url=env.get("TANDEM_CLUSTER_POSTGRES_URL", "")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        redis_url=env.get("TANDEM_REDIS_URL", "") or "redis://127.0.0.1:6379/0",
        haproxy=env.get("TANDEM_HAPROXY", "") or "/usr/sbin/haproxy",
        service_calls_rasa=arguments.service_calls_rasa,
        bot_calls_service=arguments.bot_calls_service,
    )
    if cluster.service_calls_rasa not in (None, *cluster.names("rasa")):
        raise SystemExit(f"no Rasa server {cluster.service_calls_rasa}")
    if cluster.bot_calls_service not in (None, *cluster.names("handoff")):
        raise SystemExit(f"no service instance {cluster.bot_calls_service}")
    if not cluster.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SystemExit(f"TANDEM_REDIS_URL is not a Redis URL: {cluster.redis_url}")
    database_url(cluster.postgres_url, name, "postgresql")
    return cluster


def public_origins(cluster: Cluster) -> list[str]:
    hosts = dict.fromkeys(
        [urlsplit(cluster.public_url).hostname, "127.0.0.1", "localhost"]
    )
    return [f"http://{host}:{cluster.public_port}" for host in hosts]


def haproxy_config(cluster: Cluster, template: str) -> str:
    def servers(kind: str, *, cookie: bool = False, track: str = "") -> str:
        lines = []
        for name in cluster.names(kind):
            address = cluster.url(name).removeprefix("http://")
            health = f"track {track}/{name}" if track else "check"
            sticky = f" cookie {name}" if cookie else ""
            lines.append(f"    server {name} {address} {health}{sticky}")
        return "\n".join(lines)

    host = cluster.host if ":" not in cluster.host else f"[{cluster.host}]"
    return string.Template(template).substitute(
        public_address=f"{host}:{cluster.public_port}",
        monitor_port=cluster.base_port + MONITOR_OFFSET,
        rasa_api_port=cluster.base_port + RASA_API_OFFSET,
        handoff_for_the_bot_port=cluster.base_port + HANDOFF_FOR_BOT_OFFSET,
        actions_port=cluster.base_port + ACTIONS_OFFSET,
        rasa_socketio_servers=servers("rasa", cookie=True),
        rasa_tracking_servers=servers("rasa", track="rasa_socketio"),
        handoff_servers=servers("handoff"),
        handoff_tracking_servers=servers("handoff", track="handoff"),
        actions_servers=servers("actions"),
    )


def children(cluster: Cluster, env: Mapping[str, str], model: Path) -> list[Child]:
    shared = {
        **env,
        "TANDEM_ACTIONS_HOST": "127.0.0.1",
        "TANDEM_HANDOFF_HOST": "127.0.0.1",
        "TANDEM_HANDOFF_URL": cluster.handoff_for_bot_url,
        "TANDEM_DEMO_BACKEND_DB": str(cluster.folder / "demo_backend.db"),
        "TANDEM_VAR_DIR": str(cluster.folder),
    }
    processes = []
    for number, name in enumerate(cluster.names("handoff"), start=1):
        processes.append(
            Child(
                name=name,
                command=[str(HANDOFF_PYTHON), "-m", "handoff"],
                health_url=f"{cluster.url(name)}/api/health",
                env={
                    **shared,
                    "TANDEM_HANDOFF_PORT": str(cluster.port("handoff", number)),
                    "TANDEM_DATABASE_URL": database_url(
                        cluster.postgres_url, cluster.name, "postgresql+asyncpg"
                    ),
                    "TANDEM_SEED_DEMO_AGENTS": "false",
                    "TANDEM_RASA_URL": cluster.rasa_api_url,
                    "TANDEM_RASA_SOCKET_URL": env.get("TANDEM_RASA_SOCKET_URL")
                    or cluster.public_url,
                    # HAProxy on loopback names the client in X-Forwarded-For.
                    "TANDEM_TRUSTED_PROXIES": "127.0.0.1",
                },
            )
        )
    for number, name in enumerate(cluster.names("actions"), start=1):
        processes.append(
            Child(
                name=name,
                command=[str(BOT_PYTHON), "-m", "actions.server"],
                health_url=f"{cluster.url(name)}/health",
                env={
                    **shared,
                    "TANDEM_ACTIONS_PORT": str(cluster.port("actions", number)),
                },
            )
        )
    for number, name in enumerate(cluster.names("rasa"), start=1):
        port = cluster.port("rasa", number)
        processes.append(
            Child(
                name=name,
                command=[
                    str(BOT_PYTHON),
                    "-m",
                    "bot.server",
                    "--model",
                    str(model),
                    "--enable-api",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--credentials",
                    env.get("TANDEM_CREDENTIALS_FILE", "") or "credentials.yml",
                    "--endpoints",
                    str(ENDPOINTS),
                    "--cors",
                    *public_origins(cluster),
                ],
                health_url=f"{cluster.url(name)}/status?token={env['TANDEM_RASA_TOKEN']}",
                env={
                    **shared,
                    # Each server buffers its event stream in a folder of its own.
                    "TANDEM_VAR_DIR": str(cluster.folder / name),
                    "TANDEM_RASA_INSTANCES": str(cluster.rasa),
                    "TANDEM_ACTIONS_URL": cluster.actions_url,
                    "TANDEM_TRACKER_DB_URL": database_url(
                        cluster.postgres_url, cluster.tracker_database, "postgresql"
                    ),
                    "TANDEM_REDIS_URL": cluster.redis_url,
                    "TANDEM_CLUSTER_NAME": cluster.name,
                    "TANDEM_SOCKETIO_REDIS_URL": cluster.redis_url,
                    "TANDEM_SOCKETIO_REDIS_CHANNEL": f"{cluster.name}-socketio",
                    "TANDEM_CHANNEL_REDIS_URL": cluster.redis_url,
                    "TANDEM_CHANNEL_REDIS_PREFIX": cluster.name,
                },
                stops_first=True,
            )
        )
    processes.append(
        Child(
            name="haproxy",
            command=[cluster.haproxy, "-db", "-f", str(cluster.folder / "haproxy.cfg")],
            health_url=cluster.monitor_url,
            # It needs none of the secrets.
            env={"PATH": env.get("PATH", os.defpath)},
            # Customers reach the cluster once every process behind it answers.
            starts_last=True,
        )
    )
    return processes


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return Path(parts.path).exists()
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=3
        ):
            return True
    except OSError:
        return False


def prepare(cluster: Cluster, env: Mapping[str, str]) -> None:
    """Everything the processes expect to find: HAProxy and its configuration, the
    databases and staff, the demo back end."""
    if not (Path(cluster.haproxy).exists() or shutil.which(cluster.haproxy)):
        raise SystemExit(
            f"No HAProxy at {cluster.haproxy}: run scripts/ensure_haproxy.sh "
            "(or set TANDEM_HAPROXY)"
        )
    if not reachable(cluster.redis_url, 6379):
        raise SystemExit(
            f"Redis is not reachable at {cluster.redis_url} (TANDEM_REDIS_URL)"
        )
    if not reachable(cluster.postgres_url, 5432):
        raise SystemExit(
            "PostgreSQL is not reachable at the server of TANDEM_CLUSTER_POSTGRES_URL"
            " (scripts/ensure_services.sh starts a local one)"
        )
    cluster.folder.mkdir(parents=True, exist_ok=True)
    config = cluster.folder / "haproxy.cfg"
    config.write_text(
        haproxy_config(cluster, HAPROXY_TEMPLATE.read_text("utf-8")), "utf-8"
    )
    steps = [
        (
            "checking the HAProxy configuration",
            [cluster.haproxy, "-c", "-q", "-f", str(config)],
        ),
        (
            "preparing the databases",
            [
                str(HANDOFF_PYTHON),
                "-m",
                "scripts.cluster_database",
                "--server",
                database_url(cluster.postgres_url, "postgres", "postgresql+asyncpg"),
                "--service-database",
                cluster.name,
                "--tracker-database",
                cluster.tracker_database,
                "--staff-password-file",
                str(cluster.staff_password_file),
            ],
        ),
        (
            "seeding the demo back end",
            [str(BOT_PYTHON), "-m", "actions.backend.prepare"],
        ),
    ]
    step_env = {
        **env,
        "TANDEM_DEMO_BACKEND_DB": str(cluster.folder / "demo_backend.db"),
        "TANDEM_VAR_DIR": str(cluster.folder),
    }
    for what, command in steps:
        print(f"[{'tandem':9}] {what}", flush=True)
        if subprocess.run(command, cwd=ROOT, env=step_env, check=False).returncode:
            raise SystemExit(f"Failed {what}")


def banner(cluster: Cluster) -> str:
    def listing(kind: str) -> str:
        return ", ".join(f"{name} {cluster.url(name)}" for name in cluster.names(kind))

    public = cluster.public_url
    return (
        "\nTandem cluster is up.\n"
        f"  Customer web chat:  {public}/chat\n"
        f"  Agent console:      {public}/console\n"
        f"  Supervisor page:    {public}/supervisor\n"
        "  Staff: agents mina, joon; supervisor sora; password in "
        f"{cluster.staff_password_file}\n"
        f"  Behind HAProxy: {listing('rasa')}\n"
        f"                  {listing('actions')}\n"
        f"                  {listing('handoff')}\n"
        f"  PostgreSQL databases {cluster.name} (service) and "
        f"{cluster.tracker_database} (conversations); Redis {cluster.redis_url}"
        " (conversation locks, web chat messages)\n"
        "Press Ctrl-C to stop.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "tandem.tar.gz")
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers")
    parser.add_argument("--actions", type=int, default=2, help="action servers")
    parser.add_argument("--services", type=int, default=2, help="service instances")
    parser.add_argument(
        "--service-calls-rasa",
        metavar="rasa-N",
        help="the service instances call this Rasa server instead of any (tests)",
    )
    parser.add_argument(
        "--bot-calls-service",
        metavar="handoff-N",
        help="the Rasa and action servers call this service instance (tests)",
    )
    parser.add_argument(
        "--restart",
        default=os.environ.get("TANDEM_CLUSTER_RESTART", "")
        or Restart.ON_FAILURE.value,
        help="on-failure (default), always, or no: one stops, all stop"
        " (TANDEM_CLUSTER_RESTART)",
    )
    args = parser.parse_args(argv)
    restart = Restart.parse(args.restart)
    if not args.model.exists():
        raise SystemExit(f"No trained model at {args.model}: run 'make train'")
    env = cluster_environment(os.environ, args.env_file)
    cluster = cluster_from(env, args)
    prepare(cluster, env)
    stack = Stack(
        env,
        children(cluster, env, args.model.resolve()),
        restart=restart,
        pid_dir=cluster.pid_dir,
    )
    return supervise(stack, banner(cluster))


if __name__ == "__main__":
    sys.exit(main())
