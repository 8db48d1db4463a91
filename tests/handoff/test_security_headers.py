"""Security headers on pages, static files and API answers; no inline code."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS

from handoff.api.security_headers import content_security_policy
from handoff.api.views.pages import STATIC_DIR

Client = TestClient[web.Request, web.Application]

# The test settings' rasa_socket_url is http://chat.example:5005.
EXPECTED = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self' http://chat.example:5005 ws://chat.example:5005; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 302),
        ("GET", "/chat", 200),
        ("GET", "/console", 200),
        ("GET", "/supervisor", 200),
        ("GET", "/static/chat.js", 200),
        ("GET", "/static/style.css", 200),
        ("GET", "/static/missing.js", 404),
        ("GET", "/nowhere", 404),
        ("GET", "/api/health", 200),
        ("GET", "/api/public-config", 200),
        ("GET", "/api/openapi.yaml", 200),
        ("GET", "/api/handoffs", 401),
        ("GET", "/api/nowhere", 404),
        ("DELETE", "/api/health", 405),
        ("POST", "/api/rasa/handoffs", 400),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    response = await client.request(
        method, path, headers=BOT_HEADERS, allow_redirects=False
    )

    assert response.status == status
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED


@pytest.mark.parametrize(
    ("socket_url", "connect_src"),
    [
        ("https://chat.example", "https://chat.example wss://chat.example"),
        (
            "wss://chat.example:8443/x",
            "wss://chat.example:8443 https://chat.example:8443",
        ),
        ("http://127.0.0.1:5005", "http://127.0.0.1:5005 ws://127.0.0.1:5005"),
    ],
)
def test_the_rasa_socket_is_allowed_over_http_and_websocket(
    socket_url: str, connect_src: str
) -> None:
    policy = content_security_policy(socket_url)

    assert f"connect-src 'self' {connect_src};" in policy


class _InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}=")
            if name in {"href", "src", "action"} and re.match(
                r"\s*javascript:", value or "", re.IGNORECASE
            ):
                self.found.append(f"{tag} {name}=javascript:")


@pytest.mark.parametrize(
    "page", sorted(path.name for path in STATIC_DIR.glob("*.html"))
)
def test_pages_have_no_inline_script_or_style(page: str) -> None:
    parser = _InlineCode()
    parser.feed((STATIC_DIR / page).read_text(encoding="utf-8"))

    assert parser.found == []
