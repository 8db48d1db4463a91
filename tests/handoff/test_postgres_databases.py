"""The pool of PostgreSQL databases the service tests borrow: what one test leaves
never reaches the next."""

from __future__ import annotations

import pytest
from postgres_databases import SchemaDatabases, connection_to
from sqlalchemy import text
from sqlalchemy.engine import make_url

from handoff.storage.db import create_engine, create_session_factory
from handoff.storage.models import Agent, AgentRole

pytestmark = pytest.mark.postgres

TABLE = Agent.__tablename__


def name_of(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name


async def test_a_lent_database_comes_back_empty() -> None:
    pool = SchemaDatabases()
    try:
        async with pool.lend() as url:
            engine = create_engine(url)
            async with create_session_factory(engine).begin() as session:
                session.add(
                    Agent(
                        username="mina",
                        display_name="Mina",
                        role=AgentRole.AGENT,
                        password_hash="x",
                    )
                )
            await engine.dispose()
        async with (
            pool.lend() as again,
            connection_to(name_of(again)) as connection,
        ):
            agents = await connection.scalar(text(f"SELECT count(*) FROM {TABLE}"))
            next_id = await connection.scalar(
                text(f"SELECT nextval(pg_get_serial_sequence('{TABLE}', 'id'))")
            )
    finally:
        await pool.drop()

    assert again == url
    assert (agents, next_id) == (0, 1)


async def test_a_database_whose_tables_a_test_changed_is_not_lent_again() -> None:
    pool = SchemaDatabases()
    try:
        async with (
            pool.lend() as url,
            connection_to(name_of(url)) as connection,
        ):
            await connection.execute(text("CREATE TABLE alembic_version (v text)"))
            await connection.commit()
        async with (
            pool.lend() as other,
            connection_to(name_of(other)) as connection,
        ):
            extra = await connection.scalar(
                text("SELECT to_regclass('alembic_version') IS NOT NULL")
            )
    finally:
        await pool.drop()

    assert other != url
    assert extra is False


async def test_dropping_the_pool_drops_every_database_it_made() -> None:
    pool = SchemaDatabases()
    async with pool.lend() as first, pool.lend() as second:
        names = {name_of(first), name_of(second)}

    await pool.drop()

    async with connection_to("test") as connection:
        left = await connection.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE 'tandem_%'")
        )
        assert names.isdisjoint(set(left))
