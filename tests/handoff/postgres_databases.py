"""The service tests' databases on the real PostgreSQL server.

A test that migrates gets an empty database of its own (``fresh_postgres_database``).
A test that only needs the models' tables borrows one from ``SCHEMA_DATABASES``:
copied once from a database holding the tables, then emptied after each test that
used it, which costs a tenth of copying and dropping one per test. A database whose
tables a test changed, or that cannot be emptied, is dropped instead of lent again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.asyncio import create_async_engine as create_plain_engine
from sqlalchemy.pool import NullPool

from handoff.storage.models import Base

logger = logging.getLogger(__name__)

POSTGRES_URL = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

# Every table, column, index, constraint and sequence of the public schema, as text:
# equal for two databases whose schema is the same.
SCHEMA_OUTLINE = text(
    """
    SELECT string_agg(item, E'\\n' ORDER BY item) FROM (
        SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type,
                      is_nullable, column_default) AS item
        FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL
        SELECT format('index %s', indexdef) FROM pg_indexes
        WHERE schemaname = 'public'
        UNION ALL
        SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
        FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT format('sequence %s', sequencename) FROM pg_sequences
        WHERE schemaname = 'public'
        UNION ALL
        SELECT format('trigger %s', tgname) FROM pg_trigger WHERE NOT tgisinternal
    ) AS schema_items
    """
)
OTHER_SESSIONS = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


def database_url(name: str) -> str:
    return (
        make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    )


@contextlib.asynccontextmanager
async def connected(url: str, **options: Any) -> AsyncIterator[AsyncConnection]:
    engine = create_plain_engine(url, poolclass=NullPool, **options)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


def admin_connection() -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    return connected(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def connection_to(name: str) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    return connected(database_url(name))


class fresh_postgres_database:
    """A database of its own for one test, dropped afterwards: empty, or a copy
    of ``template``."""

    def __init__(self, template: str | None = None) -> None:
        self._name = f"tandem_test_{uuid.uuid4().hex[:16]}"
        self._template = template

    async def __aenter__(self) -> str:
        copy = "" if self._template is None else f' TEMPLATE "{self._template}"'
        async with admin_connection() as admin:
            await admin.execute(text(f'CREATE DATABASE "{self._name}"{copy}'))
        return database_url(self._name)

    async def __aexit__(self, *exc_info: object) -> None:
        async with admin_connection() as admin:
            await admin.execute(
                text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
            )


class SchemaDatabases:
    """Databases holding the models' tables, lent to one test at a time; all of
    them, and the template they are copied from, dropped by ``drop``."""

    def __init__(self) -> None:
        self._template: str | None = None
        self._outline: str | None = None
        self._free: list[str] = []
        self._made: set[str] = set()

    @contextlib.asynccontextmanager
    async def lend(self) -> AsyncIterator[str]:
        name = self._free.pop() if self._free else await self._copy()
        try:
            yield database_url(name)
        finally:
            if await self._emptied(name):
                self._free.append(name)
            else:
                await self._drop(name)

    async def drop(self) -> None:
        for name in [*self._made, *filter(None, [self._template])]:
            await self._drop(name)
        self._free.clear()
        self._template = None

    async def _copy(self) -> str:
        template = await self._template_name()
        name = f"tandem_test_{uuid.uuid4().hex[:16]}"
        async with admin_connection() as admin:
            await admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self._made.add(name)
        return name

    async def _template_name(self) -> str:
        if self._template is None:
            name = f"tandem_template_{uuid.uuid4().hex[:16]}"
            async with admin_connection() as admin:
                await admin.execute(text(f'CREATE DATABASE "{name}"'))
            # Closed on the way out: CREATE DATABASE … TEMPLATE needs the
            # template without connections.
            async with connection_to(name) as connection:
                await connection.run_sync(Base.metadata.create_all)
                self._outline = await connection.scalar(SCHEMA_OUTLINE)
                await connection.commit()
            self._template = name
        return self._template

    async def _emptied(self, name: str) -> bool:
        """Empties ``name`` for the next test; False if it is not fit for one."""
        try:
            async with connection_to(name) as connection:
                # Whatever the test left connected must not write into the next one.
                await connection.execute(OTHER_SESSIONS)
                if await connection.scalar(SCHEMA_OUTLINE) != self._outline:
                    return False
                tables = ", ".join(
                    f'"{table}"' for table in await connection.scalars(TABLES)
                )
                await connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                await connection.execute(
                    text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                )
                await connection.commit()
        except Exception:
            logger.exception("test database %s not emptied; dropping it", name)
            return False
        return True

    async def _drop(self, name: str) -> None:
        async with admin_connection() as admin:
            await admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._made.discard(name)


SCHEMA_DATABASES = SchemaDatabases()
