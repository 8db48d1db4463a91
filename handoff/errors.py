"""Domain errors and the one middleware that turns them into JSON problems."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """An error the API reports as ``{"error": code, "message": message}``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class AlreadyAssigned(DomainError):
    status = 409
    code = "already_assigned"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid_transition"


class AgentUnavailable(DomainError):
    status = 409
    code = "agent_unavailable"


class AlreadyExists(DomainError):
    status = 409
    code = "already_exists"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.headers["Retry-After"] = str(retry_after_seconds)


class RasaUnavailable(DomainError):
    status = 502
    code = "rasa_unavailable"


_HTTP_ERROR_CODES = {
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
        code = _HTTP_ERROR_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, message)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        if not _is_api(request):
            raise
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")


def _is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")
