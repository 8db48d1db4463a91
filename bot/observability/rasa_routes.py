"""``/metrics``, ``/health/live`` and ``/health/ready`` on the Rasa server's port.

Rasa 3.6 builds its Sanic app inside ``rasa.core.run.serve_application`` and
offers no hook to add routes to it; ``install`` wraps the module's
``configure_app``, which builds the app, so that the app it returns also has
these routes, and names the conversation of every call about one
(``/conversations/<id>/…``) in the logs. ``bot/server.py`` installs it before
Rasa runs. The routes answer without Rasa's token (a load balancer has none):

- ``/health/live``: the process answers.
- ``/health/ready``: 503 unless the model is loaded and the tracker store's
  database answers, naming what fails. The handoff service and the event
  broker's backlog are checked and reported, but do not fail readiness: the
  broker keeps events on disk while the service is away, and the bot goes on
  answering customers.
- ``/metrics``: Prometheus metrics (``bot/observability/rasa_metrics.py``), to a
  scraper the rules of ``scrape_access.py`` allow.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import aiohttp
import rasa.core.run
import sqlalchemy as sa
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    SQLTrackerStore,
)
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.event_broker import HandoffEventBroker
from bot.observability.logs import set_conversation
from bot.observability.rasa_metrics import RasaMetrics
from bot.observability.scrape_access import metrics_response

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
CONVERSATIONS_PREFIX = "/conversations/"
OK = "ok"
UNAVAILABLE = "unavailable"
LOADING = "loading"
REQUIRED = ("model", "tracker_store")

_original_configure_app: Callable[..., Sanic] | None = None


def install(metrics: RasaMetrics) -> None:
    """Every app Rasa configures from now on gets the routes; once."""
    global _original_configure_app
    if _original_configure_app is not None:
        return
    original = rasa.core.run.configure_app
    _original_configure_app = original

    @functools.wraps(original)
    def configure_app(*args: Any, **kwargs: Any) -> Sanic:
        app = original(*args, **kwargs)
        add_routes(app, metrics)
        return app

    rasa.core.run.configure_app = configure_app


def uninstall() -> None:
    global _original_configure_app
    if _original_configure_app is not None:
        rasa.core.run.configure_app = _original_configure_app
        _original_configure_app = None


def add_routes(app: Sanic, metrics: RasaMetrics) -> None:
    @app.middleware("request")
    async def name_the_conversation(request: Request) -> None:
        # A kept-alive connection's requests share one task: every request
        # names its own conversation, or none.
        set_conversation(_conversation_of(request.path))

    @app.get("/health/live")
    async def live(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/health/ready")
    async def ready(_: Request) -> HTTPResponse:
        return await readiness(getattr(app.ctx, "agent", None))

    @app.get("/metrics")
    async def scrape(request: Request) -> HTTPResponse:
        return metrics_response(request, metrics.registry)


# Rasa's routes about one conversation: /conversations/<id><suffix>, where the id
# may itself hold slashes (percent-encoded or not).
_CONVERSATION_ROUTES = (
    "/tracker/events",
    "/tracker",
    "/story",
    "/execute",
    "/trigger_intent",
    "/predict",
    "/messages",
)


def _conversation_of(path: str) -> str | None:
    if not path.startswith(CONVERSATIONS_PREFIX):
        return None
    rest = path[len(CONVERSATIONS_PREFIX) :]
    for suffix in _CONVERSATION_ROUTES:
        if rest.endswith(suffix):
            return unquote(rest[: -len(suffix)]) or None
    return None


async def readiness(agent: Any) -> HTTPResponse:
    checks: dict[str, str] = {}
    backlog: int | None = None
    if agent is None or not agent.is_ready():
        checks["model"] = LOADING
        checks["tracker_store"] = UNAVAILABLE
    else:
        checks["model"] = OK
        store = agent.tracker_store
        checks["tracker_store"] = await _tracker_store(store)
        broker = getattr(store, "event_broker", None)
        if isinstance(broker, HandoffEventBroker):
            backlog = broker.pending
            checks["handoff_service"] = await _handoff_service(broker.service_url)
    failing = [name for name in REQUIRED if checks[name] != OK]
    body: dict[str, Any] = {"checks": checks}
    if backlog is not None:
        body["event_broker_backlog"] = backlog
    if failing:
        return response.json(
            {"status": "unavailable", "failing": failing, **body}, status=503
        )
    degraded = any(state != OK for state in checks.values())
    return response.json({"status": "degraded" if degraded else "ok", **body})


async def _tracker_store(store: Any) -> str:
    inner = store
    # Rasa wraps the configured store (fail-safe, awaitable) in stores of its own.
    while isinstance(inner, (AwaitableTrackerStore, FailSafeTrackerStore)):
        inner = inner._tracker_store
    if not isinstance(inner, SQLTrackerStore):
        # In memory, or a store this check does not know how to ask.
        return OK

    def select_one() -> None:
        with inner.session_scope() as session:
            session.execute(sa.text("SELECT 1"))

    try:
        # A session blocks; off the event loop, and not for long.
        await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(None, select_one),
            CHECK_TIMEOUT_SECONDS,
        )
    except (sa.exc.SQLAlchemyError, OSError, asyncio.TimeoutError) as error:
        logger.warning("readiness: the tracker store does not answer: %r", error)
        return UNAVAILABLE
    return OK


async def _handoff_service(base_url: str) -> str:
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{base_url}/health/live") as answer,
        ):
            return OK if answer.status == 200 else UNAVAILABLE
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return UNAVAILABLE
