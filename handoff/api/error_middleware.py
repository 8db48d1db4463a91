"""The one middleware that turns domain errors into JSON problems."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from handoff.errors import DatabaseUnavailable, DomainError
from handoff.storage.outages import is_database_unavailable

logger = logging.getLogger(__name__)

HTTP_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def error_response(
    status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> web.Response:
    return web.json_response(
        {"error": code, "message": message, **(extra or {})}, status=status
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as error:
        response = error_response(error.status, error.code, error.message, error.extra)
        response.headers.update(error.headers)
        return response
    except web.HTTPException as exc:
        # Pages and static files keep aiohttp's own responses; the API speaks JSON.
        if not _is_api(request) or exc.status < 400:
            raise
        if exc.status == 413:
            message = "request body is larger than 64 KiB"
        elif exc.status == 404:
            message = f"no such resource: {request.path}"
        else:
            message = exc.reason
        code = HTTP_ERROR_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, message)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as error:
        if not _is_api(request):
            raise
        if is_database_unavailable(error):
            logger.warning(
                "database unavailable in %s %s: %s", request.method, request.path, error
            )
            unavailable = DatabaseUnavailable()
            response = error_response(
                unavailable.status,
                unavailable.code,
                unavailable.message,
                unavailable.extra,
            )
            response.headers.update(unavailable.headers)
            return response
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")


def _is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")
