"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, inspect, select, text
from sqlalchemy.engine import Connection

import handoff
from handoff.api.validation import parse_canned_response
from handoff.queue.states import HandoffStatus
from handoff.storage.db import create_engine
from handoff.storage.models import (
    Agent,
    AgentRole,
    Base,
    Handoff,
    HandoffTransfer,
    HandoffTransition,
    utcnow,
)
from handoff.vocabulary import TransitionReason

ALEMBIC_INI = Path(handoff.__file__).parent / "alembic.ini"


def alembic_config(connection: Connection) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


def differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_to_head_matches_the_models(database_url: str) -> None:
    # Start from an empty database, not from the ``engine`` fixture's tables.
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to_head)
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
            assert await connection.run_sync(table_names) == {
                *Base.metadata.tables,
                "alembic_version",
            }
        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to_base)
        async with engine.connect() as connection:
            assert await connection.run_sync(table_names) == {"alembic_version"}
    finally:
        await engine.dispose()


def test_there_is_one_head() -> None:
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    assert len(script.get_heads()) == 1


def _insert(connection: Connection, model: Any, values: dict[str, Any]) -> int:
    """A row as the schema at the current revision takes it: the table is read
    from the database, and what the values leave out comes from the model's
    defaults, so columns of later revisions are never named."""
    table = Table(model.__tablename__, MetaData(), autoload_with=connection)
    row = dict(values)
    for column in table.columns:
        if (
            column.name in row
            or column.nullable
            or column.primary_key
            or column.server_default is not None
        ):
            continue
        default = model.__table__.c[column.name].default
        if default is not None:
            row[column.name] = default.arg(None) if default.is_callable else default.arg
    return int(connection.execute(table.insert().values(**row)).inserted_primary_key[0])


def _transfer_between_agents(connection: Connection) -> int:
    """A handoff Mina passed to Joon, stored as the code before 0009 left it."""
    mina, joon = (
        _insert(
            connection,
            Agent,
            {
                "username": name,
                "display_name": name,
                "role": AgentRole.AGENT.value,
                "password_hash": "x",
            },
        )
        for name in ("mina", "joon")
    )
    handoff = _insert(
        connection,
        Handoff,
        {
            "sender_id": "c0ffee",
            "channel": "socketio",
            "language": "ko",
            "reason": "human_requested",
            "status": HandoffStatus.ASSIGNED.value,
            "context": {},
            "assigned_agent_id": joon,
        },
    )
    _insert(
        connection,
        HandoffTransfer,
        {
            "handoff_id": handoff,
            "from_agent_id": mina,
            "to_agent_id": joon,
            "note": "yours",
            "created_at": datetime(2026, 11, 20, 1, 6, tzinfo=timezone.utc),
        },
    )
    return joon


def _owner_changes(connection: Connection) -> list[tuple[Any, ...]]:
    rows = connection.execute(
        select(
            HandoffTransition.from_status,
            HandoffTransition.to_status,
            HandoffTransition.reason,
            HandoffTransition.assigned_agent_id,
            HandoffTransition.created_at,
        )
    )
    return [tuple(row) for row in rows]


async def test_earlier_transfers_between_agents_become_owner_changes(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.upgrade(alembic_config(sync), "0008_chat_sessions")
            )
            joon = await connection.run_sync(_transfer_between_agents)
            await connection.run_sync(upgrade_to_head)
            assert await connection.run_sync(_owner_changes) == [
                (
                    HandoffStatus.ASSIGNED,
                    HandoffStatus.ASSIGNED,
                    TransitionReason.TRANSFERRED,
                    joon,
                    datetime(2026, 11, 20, 1, 6, tzinfo=timezone.utc),
                )
            ]
            await connection.run_sync(downgrade_to_base)
    finally:
        await engine.dispose()


async def test_every_install_starts_with_canned_responses_in_both_languages(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to, "0008_chat_sessions")
            # A supervisor's own greeting, and an agent, from before the upgrade.
            await connection.execute(
                text(
                    "INSERT INTO canned_responses "
                    "(language, title, text, created_at, updated_at) "
                    "VALUES ('ko', '인사', '반갑습니다.', :now, :now)"
                ),
                {"now": utcnow()},
            )
            await connection.execute(
                text(
                    "INSERT INTO agents (username, display_name, role, password_hash, "
                    "created_at, status, capacity, active, status_changed_at) "
                    "VALUES ('mina', 'Mina Kim', 'agent', 'x', :now, 'offline', 3, "
                    "true, :now)"
                ),
                {"now": utcnow()},
            )
            await connection.run_sync(upgrade_to, "head")
        async with engine.connect() as connection:
            replies = (
                await connection.execute(
                    text("SELECT language, title, text FROM canned_responses")
                )
            ).all()
            language = await connection.scalar(text("SELECT language FROM agents"))
        assert language == "ko"
        by_language = {
            code: {title: body for lang, title, body in replies if lang == code}
            for code in ("ko", "en")
        }
        assert len(by_language["ko"]) == len(by_language["en"]) == 10
        # The supervisor's own greeting is kept, not replaced.
        assert by_language["ko"]["인사"] == "반갑습니다."
        for code, titled in by_language.items():
            for title, body in titled.items():
                # Each one is a canned response the service itself would accept.
                parse_canned_response(
                    {"language": code, "title": title, "text": body}, partial=False
                )

        async with engine.begin() as connection:
            await connection.run_sync(downgrade_to, "0008_chat_sessions")
        async with engine.connect() as connection:
            kept = (
                await connection.execute(text("SELECT title FROM canned_responses"))
            ).all()
        assert kept == [("인사",)]
    finally:
        await engine.dispose()


def upgrade_to(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade_to(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)
