"""Security headers on every response: pages, static files, the API and errors.

The pages load only their own scripts and styles (no inline script, no build
step), so the content security policy can allow nothing but the service itself
and the Rasa socket the chat page talks to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

# The same origin over the other protocol: socket.io starts with HTTP long
# polling and upgrades to a WebSocket on the same host and port.
_PAIRED_SCHEMES = {"http": "ws", "https": "wss", "ws": "http", "wss": "https"}


def content_security_policy(rasa_socket_url: str) -> str:
    rasa = URL(rasa_socket_url)
    origins = [
        str(rasa.with_scheme(scheme).origin())
        for scheme in (rasa.scheme, _PAIRED_SCHEMES[rasa.scheme])
    ]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # The console shows files it fetched with the agent's token as blobs.
            "img-src 'self' blob:",
            f"connect-src 'self' {' '.join(origins)}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(
    rasa_socket_url: str,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An ``on_response_prepare`` handler: it sees aiohttp's own responses too."""
    headers = {
        "Content-Security-Policy": content_security_policy(rasa_socket_url),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }

    async def add_security_headers(
        request: web.Request, response: web.StreamResponse
    ) -> None:
        # A response with a stricter policy of its own (a file) keeps it.
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    return add_security_headers
