"""Prepares the PostgreSQL databases of a local cluster (scripts/run_cluster.py).

Creates the service's and the Rasa servers' databases when they are missing, brings
the service's schema to the newest Alembic revision, and, while nobody has an account,
creates the demo staff (agents mina and joon, supervisor sora) with a password of
their own: random, made once and kept in a file only its owner can read. The service
refuses the published demo password anywhere but the embedded SQLite demo; this one
is nobody else's.

    .venv/handoff/bin/python -m scripts.cluster_database \\
        --server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        --service-database tandem_cluster --tracker-database tandem_cluster_rasa \\
        --staff-password-file var/cluster/staff_password
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from handoff.bootstrap import upgrade_to_head
from handoff.settings import DEFAULT_TOKEN_TTL_SECONDS
from handoff.staff.agents import seed_demo_agents
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory

DATABASE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


class PreparationError(Exception):
    pass


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def create_missing(server: str, names: list[str]) -> list[str]:
    """Creates the databases of ``names`` that do not exist; returns those."""
    for name in names:
        if not DATABASE_NAME.fullmatch(name):
            raise PreparationError(f"{name!r} is not a database name this creates")
    engine = create_async_engine(
        server, isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    created = []
    try:
        async with engine.connect() as connection:
            for name in names:
                exists = await connection.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": name},
                )
                if not exists:
                    await connection.execute(text(f'CREATE DATABASE "{name}"'))
                    created.append(name)
    finally:
        await engine.dispose()
    return created


def staff_password(path: Path) -> str:
    """The staff's password, made and saved (readable by its owner only) the first
    time."""
    if path.exists():
        password = path.read_text("utf-8").strip()
        if password:
            return password
        raise PreparationError(f"{path} is empty: delete it to make a new password")
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password


async def prepare_service_database(url: str, password_file: Path) -> list[str]:
    """Migrates the schema and creates the staff if there is nobody; returns who
    was created."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to_head)
        sessions = create_session_factory(engine)
        auth = AuthService(sessions, timedelta(seconds=DEFAULT_TOKEN_TTL_SECONDS))
        return await seed_demo_agents(sessions, auth, staff_password(password_file))
    finally:
        await engine.dispose()


async def prepare(arguments: argparse.Namespace) -> None:
    created = await create_missing(
        arguments.server, [arguments.service_database, arguments.tracker_database]
    )
    for name in created:
        print(f"created database {name}")
    staff = await prepare_service_database(
        database_url(arguments.server, arguments.service_database),
        arguments.staff_password_file,
    )
    if staff:
        print(
            f"created staff {', '.join(staff)}; their password is in "
            f"{arguments.staff_password_file}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="SQLAlchemy URL (asyncpg)")
    parser.add_argument("--service-database", required=True)
    parser.add_argument("--tracker-database", required=True)
    parser.add_argument("--staff-password-file", type=Path, required=True)
    arguments = parser.parse_args(argv)
    try:
        asyncio.run(prepare(arguments))
    except (PreparationError, DBAPIError, OSError) as error:
        sys.exit(f"cluster database: {error}")


if __name__ == "__main__":
    main()
