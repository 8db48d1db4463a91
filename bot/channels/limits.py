"""Limits every messaging webhook applies before it believes a request.

Platforms send small JSON bodies (a few kilobytes); anything much larger is not
theirs and is refused with 413 before it is parsed. A body that is not a JSON
object, or lacks what the channel needs, is refused with 400 and a message saying
what was wrong. The checks raise ``Refused``; the webhook turns it into its answer.
"""

from __future__ import annotations

import json
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_WEBHOOK_BYTES = 64 * 1024


class Refused(Exception):
    """A webhook request that is answered with an error and not processed."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def answer(self) -> HTTPResponse:
        return response.json(
            {"error": self.error, "message": self.message}, status=self.status
        )


def check_size(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> None:
    """Refuses a body over ``limit`` bytes, by its declared or its actual size."""
    declared = request.headers.get("content-length", "")
    if (declared.isdigit() and int(declared) > limit) or len(request.body) > limit:
        raise Refused(
            413, "too_large", f"The request body is over the {limit} bytes allowed."
        )


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        parsed = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise Refused(400, "bad_json", "The request body must be a JSON object.")
    return parsed


def object_field(parent: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    """``parent[name]``, which must be a JSON object; ``path`` names it in errors."""
    value = parent.get(name)
    if not isinstance(value, dict):
        wrong = "is missing" if value is None else "must be an object"
        raise Refused(400, "bad_request", f"{path} {wrong}.")
    return value


def text_field(parent: dict[str, Any], name: str, path: str, *, max_chars: int) -> str:
    """``parent[name]``, which must be a non-blank string of at most ``max_chars``
    characters; ``path`` names it in errors."""
    value = parent.get(name)
    if value is None:
        raise Refused(400, "bad_request", f"{path} is missing.")
    if not isinstance(value, str):
        raise Refused(400, "bad_request", f"{path} must be a string.")
    if not value.strip():
        raise Refused(400, "bad_request", f"{path} is empty.")
    if len(value) > max_chars:
        raise Refused(
            400, "bad_request", f"{path} is longer than {max_chars} characters."
        )
    return value
