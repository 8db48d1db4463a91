"""Liveness and readiness, for the process supervisor and the load balancer.

``/health/live`` says the process answers; nothing else is checked, so a slow
database never gets a live process restarted. ``/health/ready`` says whether
this instance should get traffic: it fails with 503, naming the dependency,
when the database does not answer. Rasa is checked and reported too, but does
not fail readiness: agents can still see the queue, read and write notes while
Rasa is away, and taking every instance out of the load balancer would cost
them that too; replies and closing fail on their own, with 502
``rasa_unavailable``. ``/api/health``, the older check of the database, stays.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from handoff.app_keys import ENGINE, RASA
from handoff.errors import RasaUnavailable

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


async def live(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    checks = {"database": await _database(request), "rasa": await _rasa(request)}
    if checks["database"] != OK:
        return web.json_response(
            {"status": "unavailable", "failing": ["database"], "checks": checks},
            status=503,
        )
    degraded = sorted(name for name, state in checks.items() if state != OK)
    return web.json_response(
        {"status": "degraded" if degraded else "ok", "checks": checks}
    )


async def database(request: web.Request) -> web.Response:
    """``/api/health``: the database alone, as before."""
    if await _database(request) != OK:
        return web.json_response(
            {"status": "error", "database": UNAVAILABLE}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok"})


async def _database(request: web.Request) -> str:
    try:
        async with request.app[ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        logger.exception("health check: the database is unavailable")
        return UNAVAILABLE
    return OK


async def _rasa(request: web.Request) -> str:
    try:
        await request.app[RASA].check()
    except RasaUnavailable as error:
        logger.warning("health check: %s", error.message)
        return UNAVAILABLE
    return OK
