"""What a webhook body may be: its size, and for JSON platforms, one JSON object.

Whatever arrives at a webhook comes from the internet; a refusal names the problem
with a status the platform's logs show (413 too large, 400 malformed).
"""

from __future__ import annotations

import json
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

# Telegram's updates and Twilio's form posts are a few kilobytes.
MAX_WEBHOOK_BYTES = 64 * 1024


class WebhookRefused(Exception):
    """A webhook answered with an error status, and nothing processed."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def response(self) -> HTTPResponse:
        return problem(self.status, self.error, self.message)


def problem(status: int, error: str, message: str) -> HTTPResponse:
    return response.json({"error": error, "message": message}, status=status)


def check_body_size(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    """The body, refused with 413 over ``limit`` bytes (declared or received)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise WebhookRefused(
                400, "invalid_request", "Content-Length is not a number"
            )
        if int(declared) > limit:
            raise WebhookRefused(413, "too_large", f"the body is over {limit} bytes")
    body = request.body or b""
    if len(body) > limit:
        raise WebhookRefused(413, "too_large", f"the body is over {limit} bytes")
    return body


def json_object(body: bytes) -> dict[str, Any]:
    """The body as one JSON object, or a 400 refusal."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookRefused(
            400, "malformed_json", f"the body is not JSON: {error}"
        ) from error
    if not isinstance(parsed, dict):
        raise WebhookRefused(400, "malformed_json", "the body is not a JSON object")
    return parsed


def object_field(parent: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    """``parent[name]``, which must be a JSON object; ``path`` names it in errors."""
    value = parent.get(name)
    if not isinstance(value, dict):
        wrong = "is missing" if value is None else "must be an object"
        raise WebhookRefused(400, "bad_request", f"{path} {wrong}.")
    return value


def text_field(parent: dict[str, Any], name: str, path: str, *, max_chars: int) -> str:
    """``parent[name]``, which must be a non-blank string of at most ``max_chars``
    characters; ``path`` names it in errors."""
    value = parent.get(name)
    if value is None:
        raise WebhookRefused(400, "bad_request", f"{path} is missing.")
    if not isinstance(value, str):
        raise WebhookRefused(400, "bad_request", f"{path} must be a string.")
    if not value.strip():
        raise WebhookRefused(400, "bad_request", f"{path} is empty.")
    if len(value) > max_chars:
        raise WebhookRefused(
            400, "bad_request", f"{path} is longer than {max_chars} characters."
        )
    return value
