"""The embedded first start: schema and demo agents."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from handoff.app import create_app
from handoff.app_keys import SESSIONS
from handoff.bootstrap import (
    ALEMBIC_INI,
    FIRST_REVISION,
    prepare_database,
    upgrade_to_head,
)
from handoff.settings import Settings
from handoff.storage.models import Agent


async def test_first_start_creates_the_schema_and_demo_agents(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    settings = Settings(
        service_secret="secret",
        chat_session_secret="chat-secret",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'handoff.db'}",
        demo_agent_password="demo-password",
        seed_demo_agents=True,
    )
    app = create_app(settings)
    app.on_startup.append(prepare_database)
    client = await aiohttp_client(app)

    login = await client.post(
        "/api/auth/login", json={"username": "sora", "password": "demo-password"}
    )

    assert login.status == 200
    assert (await login.json())["agent"]["role"] == "supervisor"
    async with app[SESSIONS]() as session:
        agents = (await session.scalars(select(Agent).order_by(Agent.id))).all()
    assert [(a.username, a.display_name, a.role.value) for a in agents] == [
        ("mina", "Mina Kim", "agent"),
        ("joon", "Joon Park", "agent"),
        ("sora", "Sora Lee", "supervisor"),
    ]
    assert all(a.password_hash.startswith("$argon2id$") for a in agents)

    # A second start finds the agents and adds nobody.
    await prepare_database(app)
    async with app[SESSIONS]() as session:
        assert len((await session.scalars(select(Agent))).all()) == 3


def _first_schema_without_alembic(connection: Connection) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["connection"] = connection
    command.upgrade(config, FIRST_REVISION)
    connection.exec_driver_sql("DROP TABLE alembic_version")


def _version(connection: Connection) -> str:
    return str(
        connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version"
        ).scalar_one()
    )


async def test_a_database_from_before_migrations_is_adopted_and_upgraded(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_first_schema_without_alembic)
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to_head)
        async with engine.connect() as connection:
            version = await connection.run_sync(_version)
            head = ScriptDirectory.from_config(
                Config(str(ALEMBIC_INI))
            ).get_current_head()
            assert version == head != FIRST_REVISION
            await connection.exec_driver_sql("SELECT count(*) FROM handoffs")
    finally:
        await engine.dispose()
