"""Who may read ``GET /metrics`` of the Rasa server and the action server.

The same rule as the handoff service's: with ``TANDEM_METRICS_TOKEN`` set, a
scrape must carry it as a bearer token; without it, only a peer on loopback may
scrape, and only directly (a request naming a client in ``X-Forwarded-For``,
``Forwarded`` or ``X-Real-IP`` came through a proxy, which on the same machine
would make every client look local). The Rasa server's port serves the web chat,
so this matters there most.
"""

from __future__ import annotations

import ipaddress
import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bearer_auth import refusal

TOKEN_SETTING = "TANDEM_METRICS_TOKEN"
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def scrape_refusal(request: Request, token: str) -> HTTPResponse | None:
    """The answer refusing this scrape, or None when it may go ahead."""
    if token:
        return refusal(request, token, TOKEN_SETTING)
    # request.ip is the peer's address; Sanic reads no forwarding header into it.
    proxied = any(name in request.headers for name in PROXY_HEADERS)
    if _is_loopback(request.ip) and not proxied:
        return None
    return response.json(
        {
            "error": "forbidden",
            "message": "GET /metrics answers only on loopback unless "
            f"{TOKEN_SETTING} is set",
        },
        status=403,
    )


def metrics_response(
    request: Request, registry: CollectorRegistry, token: str | None = None
) -> HTTPResponse:
    """The registry in Prometheus's text format, to an allowed scraper."""
    refused = scrape_refusal(
        request, os.environ.get(TOKEN_SETTING, "").strip() if token is None else token
    )
    if refused is not None:
        return refused
    return response.raw(
        generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped.is_loopback
    return parsed.is_loopback
