"""Writes the secrets of the clustered stack, one env file a process, fresh values.

deploy/compose.yaml gives each container only its own file from deploy/secrets/
(env_file); the same files make the Kubernetes Secrets:

    python3 deploy/make_secrets.py [--out deploy/secrets]
    kubectl create secret generic tandem-handoff \\
        --from-env-file=deploy/secrets/handoff.env   # and so on, see docs/deployment.md

For Kubernetes, name the database and Redis as the cluster reaches them:
``--database-host tandem-postgres:5432 --redis-host tandem-redis:6379``.

The values that two processes must share (the Rasa API token, the service's shared
secret, the chat session secret, the database and Redis passwords) are the same in
every file that holds them. Existing files are never overwritten. Standard library
only, so any Python 3 runs it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "secrets"
# The database user and the host names of the compose stack (deploy/compose.yaml).
DATABASE_USER = "tandem"
DATABASE_HOST = "postgres:5432"
HANDOFF_DATABASE = "tandem_handoff"
REDIS_HOST = "redis:6379"
# Redis database numbers: 1 holds Rasa's conversation locks (endpoints.cluster.yml),
# 2 the socket.io messages between the Rasa servers.
SOCKETIO_REDIS_DB = 2
CHANNEL_REDIS_DB = 3


def new_secret() -> str:
    # URL-safe, so it goes into a database or Redis URL as it is.
    return secrets.token_urlsafe(32)


def secret_files(
    values: Mapping[str, str],
    database_host: str = DATABASE_HOST,
    redis_host: str = REDIS_HOST,
) -> dict[str, dict[str, str]]:
    """Each process's env file (name → variables), from the shared values."""
    database_url = (
        f"postgresql+asyncpg://{DATABASE_USER}:{values['database_password']}"
        f"@{database_host}/{HANDOFF_DATABASE}"
    )
    return {
        "postgres.env": {"POSTGRES_PASSWORD": values["database_password"]},
        "redis.env": {"TANDEM_REDIS_PASSWORD": values["redis_password"]},
        "migrate.env": {"TANDEM_DATABASE_URL": database_url},
        "handoff.env": {
            "TANDEM_SERVICE_SECRET": values["service_secret"],
            "TANDEM_CHAT_SESSION_SECRET": values["chat_session_secret"],
            "TANDEM_RASA_TOKEN": values["rasa_token"],
            "TANDEM_DATABASE_URL": database_url,
            "TANDEM_METRICS_TOKEN": values["metrics_token"],
        },
        "rasa.env": {
            "TANDEM_RASA_TOKEN": values["rasa_token"],
            "TANDEM_SERVICE_SECRET": values["service_secret"],
            "TANDEM_ACTIONS_TOKEN": values["actions_token"],
            "TANDEM_CHAT_SESSION_SECRET": values["chat_session_secret"],
            "TANDEM_TRACKER_DB_PASSWORD": values["database_password"],
            "TANDEM_REDIS_PASSWORD": values["redis_password"],
            "TANDEM_SOCKETIO_REDIS_URL": (
                f"redis://:{values['redis_password']}@{redis_host}/{SOCKETIO_REDIS_DB}"
            ),
            "TANDEM_CHANNEL_REDIS_URL": (
                f"redis://:{values['redis_password']}@{redis_host}/{CHANNEL_REDIS_DB}"
            ),
            "TANDEM_METRICS_TOKEN": values["metrics_token"],
        },
        "actions.env": {
            "TANDEM_ACTIONS_TOKEN": values["actions_token"],
            "TANDEM_SERVICE_SECRET": values["service_secret"],
            "TANDEM_METRICS_TOKEN": values["metrics_token"],
        },
    }


def fresh_values() -> dict[str, str]:
    names = (
        "database_password",
        "redis_password",
        "service_secret",
        "chat_session_secret",
        "rasa_token",
        "actions_token",
        "metrics_token",
    )
    return {name: new_secret() for name in names}


def render(variables: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in variables.items())


def write_secrets(
    out: Path, database_host: str = DATABASE_HOST, redis_host: str = REDIS_HOST
) -> list[Path]:
    """Writes every file into ``out``; refuses if any of them is already there,
    since new values beside old ones would not match."""
    files = secret_files(fresh_values(), database_host, redis_host)
    existing = [out / name for name in files if (out / name).exists()]
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise SystemExit(f"{names} already exist: remove all of them to start over")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, variables in files.items():
        path = out / name
        # Readable by their owner only, from the first byte.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(render(variables))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--database-host", default=DATABASE_HOST, help="host:port")
    parser.add_argument("--redis-host", default=REDIS_HOST, help="host:port")
    arguments = parser.parse_args(argv)
    written = write_secrets(
        arguments.out, arguments.database_host, arguments.redis_host
    )
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
