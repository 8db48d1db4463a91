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
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import handoff
from handoff.queue.states import HandoffStatus
from handoff.storage.db import create_engine
from handoff.storage.models import (
    Agent,
    AgentRole,
    Base,
    Handoff,
    HandoffTransfer,
    HandoffTransition,
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


def _transfer_between_agents(connection: Connection) -> int:
    """A handoff Mina passed to Joon, stored as the code before 0009 left it."""
    with Session(connection) as session:
        mina, joon = (
            Agent(
                username=name,
                display_name=name,
                role=AgentRole.AGENT,
                password_hash="x",
            )
            for name in ("mina", "joon")
        )
        handoff = Handoff(
            sender_id="c0ffee",
            channel="socketio",
            language="ko",
            reason="human_requested",
            status=HandoffStatus.ASSIGNED,
            context={},
        )
        session.add_all([mina, joon, handoff])
        session.flush()
        handoff.assigned_agent_id = joon.id
        session.add(
            HandoffTransfer(
                handoff_id=handoff.id,
                from_agent_id=mina.id,
                to_agent_id=joon.id,
                note="yours",
                created_at=datetime(2026, 11, 20, 1, 6, tzinfo=timezone.utc),
            )
        )
        session.commit()
        return joon.id


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
