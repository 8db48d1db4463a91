"""Failures that mean the database is not answering, rather than a fault of the
request: the service says so with 503 and ``Retry-After`` instead of a 500."""

from __future__ import annotations

from sqlalchemy import exc

from handoff.storage.contention import is_contention


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` came from a database that is down, unreachable or out of
    connections, or from a transaction that kept losing lock conflicts."""
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if is_contention(error):
        return True
    # The driver's own errors when a connection cannot be made at all.
    return isinstance(error, (OSError, ConnectionError)) and _from_database(error)


def _from_database(error: BaseException) -> bool:
    frames = error.__traceback__
    while frames is not None:
        module = frames.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "sqlalchemy", "aiosqlite")):
            return True
        frames = frames.tb_next
    return False
