"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import handoff
from handoff.api.validation import parse_canned_response
from handoff.storage.db import create_engine
from handoff.storage.models import Base, utcnow

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
