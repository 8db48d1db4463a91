"""Database engine and sessions for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import Insert

# Writers wait this long for SQLite's database lock before giving up.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True)

    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite lets one transaction write at a time, and every transaction here
    # begins as a writer (below). One pooled connection makes the service's own
    # transactions take turns on an asyncio queue, which hands the connection on
    # the moment it is free; with several, they would contend for SQLite's lock,
    # whose busy handler polls with sleeps of up to 100 ms and turns a burst of
    # short writes into seconds of latency. The busy timeout still covers other
    # processes (a migration, a second instance).
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        pool_size=1,
        max_overflow=0,
        pool_timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
    )
    _use_immediate_transactions(engine)
    return engine


def _use_immediate_transactions(engine: AsyncEngine) -> None:
    # The sqlite3 driver starts transactions lazily and as readers, so two
    # transactions that read and then write deadlock and one fails at once
    # with "database is locked". Taking the write lock at BEGIN makes writers
    # queue up behind the busy timeout instead; every transaction here is short.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Write-ahead logging lets readers go on while one writer commits, and
        # with synchronous=NORMAL a commit no longer waits for the disk twice; a
        # power cut can lose the last commits but never corrupts the file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_insert(
    dialect_name: str, entity: type[Any]
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say what to do on a conflict, on either engine."""
    if dialect_name == "postgresql":
        return postgresql.insert(entity)
    if dialect_name == "sqlite":
        return sqlite.insert(entity)
    raise ValueError(f"unsupported database dialect: {dialect_name}")


def insert_ignoring_conflicts(dialect_name: str, entity: type[Any]) -> Insert:
    """An INSERT that silently skips rows violating a unique constraint."""
    return dialect_insert(dialect_name, entity).on_conflict_do_nothing()
