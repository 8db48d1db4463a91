"""Refuses Sanic requests that do not carry the expected bearer token.

Shared by the token-checked REST channel (bot/rest_channel.py) and the action server
(actions/server.py): both are Sanic apps that only known callers may use.
"""

from __future__ import annotations

import hmac

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

SCHEME = "Bearer "


def refusal(request: Request, token: str, setting: str) -> HTTPResponse | None:
    """The 401 answer for a request without ``Authorization: Bearer <token>``, or
    None when it carries the token. ``setting`` names where the token is configured,
    so whoever is refused knows which value to send."""
    header = request.headers.get("Authorization", "")
    sent = header[len(SCHEME) :] if header.startswith(SCHEME) else ""
    # Constant time, so the answer's timing does not tell how much of a guess matched.
    if sent and hmac.compare_digest(sent.encode(), token.encode()):
        return None
    reason = "is missing" if not sent else "is wrong"
    return response.json(
        {
            "error": "unauthorized",
            "message": (
                f"The bearer token {reason}: send 'Authorization: Bearer <token>'"
                f" with the token from {setting}."
            ),
        },
        status=401,
        headers={"WWW-Authenticate": "Bearer"},
    )
