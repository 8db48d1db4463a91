"""The action server's metrics, readiness and log context, on rasa-sdk's app.

- Every action call (``POST /webhook``, past the token check) is timed by
  action, and counted as an error when it fails; its log lines name the
  conversation by its log id (``bot/observability/logs.py``), from the call's
  ``sender_id``.
- ``/health/live``: the process answers. ``/health/ready``: 503 unless the back
  end answers (the plan catalogue, which every adapter serves); the handoff
  service is checked and reported, but does not fail readiness, since the
  actions that need it apologise and the others go on. rasa-sdk's ``/health``
  stays.
- ``/metrics``: Prometheus metrics, to a scraper ``scrape_access.py`` allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any

import aiohttp
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.backend import BackendUnavailable
from actions.dependencies import Dependencies
from bot.observability.logs import set_conversation
from bot.observability.scrape_access import metrics_response

logger = logging.getLogger(__name__)

WEBHOOK = "/webhook"
CHECK_TIMEOUT_SECONDS = 2.0
OPEN_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
_ERROR_KINDS = {404: "not_found", 500: "exception"}


def add_observability(
    app: Sanic, dependencies: Callable[[], Dependencies], handoff_url: str
) -> None:
    """Middleware and routes; register after the token check, which must run first.

    ``dependencies`` are the process's, built on first use like the actions'.
    """

    @app.middleware("request")
    async def start_action_call(request: Request) -> None:
        call = _action_call(request) if request.path == WEBHOOK else None
        sender_id = call.get("sender_id") if call else None
        set_conversation(sender_id if isinstance(sender_id, str) else None)
        if call is None:
            return
        name = call.get("next_action")
        label = dependencies().metrics.action_label
        request.ctx.action = label(name if isinstance(name, str) else "")
        request.ctx.started = time.perf_counter()

    @app.middleware("response")
    async def end_action_call(request: Request, answer: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        if started is None:
            set_conversation(None)
            return
        action = request.ctx.action
        metrics = dependencies().metrics
        seconds = time.perf_counter() - started
        metrics.run_seconds.labels(action).observe(seconds)
        kind = _ERROR_KINDS.get(answer.status)
        if kind is not None:
            metrics.errors.labels(action, kind).inc()
        logger.info(
            "action %s answered %s in %.0f ms", action, answer.status, seconds * 1000
        )
        set_conversation(None)

    @app.get("/health/live")
    async def live(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/health/ready")
    async def ready(_: Request) -> HTTPResponse:
        checks = {
            "backend": await _backend(dependencies()),
            "handoff_service": await _handoff_service(handoff_url),
        }
        if checks["backend"] != "ok":
            return response.json(
                {"status": "unavailable", "failing": ["backend"], "checks": checks},
                status=503,
            )
        degraded = any(state != "ok" for state in checks.values())
        return response.json(
            {"status": "degraded" if degraded else "ok", "checks": checks}
        )

    @app.get("/metrics")
    async def scrape(request: Request) -> HTTPResponse:
        return metrics_response(request, dependencies().metrics.registry)


def _action_call(request: Request) -> dict[str, Any] | None:
    """The action call's JSON, as rasa-sdk reads it (deflated or not)."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call = json.loads(zlib.decompress(request.body))
        else:
            call = request.json
    except (ValueError, zlib.error):
        return None
    return call if isinstance(call, dict) else None


async def _backend(dependencies: Dependencies) -> str:
    try:
        await asyncio.wait_for(dependencies.backend.plans(), CHECK_TIMEOUT_SECONDS)
    except (BackendUnavailable, asyncio.TimeoutError, OSError) as error:
        logger.warning("readiness: the back end does not answer: %r", error)
        return "unavailable"
    return "ok"


async def _handoff_service(base_url: str) -> str:
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{base_url.rstrip('/')}/health/live") as answer,
        ):
            return "ok" if answer.status == 200 else "unavailable"
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return "unavailable"
