"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import handoff
from handoff.storage.db import create_engine
from handoff.storage.models import Base

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
