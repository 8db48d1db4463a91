"""``GET /metrics``: the service's Prometheus metrics, for a scraper only.

With ``TANDEM_METRICS_TOKEN`` set, a scrape must carry it as a bearer token,
from wherever it comes. Without it, only a peer on this machine's loopback may
scrape, and only directly: a request a proxy forwarded (it names a client in
``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP``) is refused, since a reverse
proxy on the same machine would make every client look local.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST

from handoff.app_keys import METRICS, SCRAPE_GAUGES, SETTINGS
from handoff.errors import Forbidden, Unauthorized

PROXY_HEADERS = (hdrs.X_FORWARDED_FOR, hdrs.FORWARDED, "X-Real-IP")


async def metrics(request: web.Request) -> web.Response:
    _check_scraper(request, request.app[SETTINGS].metrics_token)
    await request.app[SCRAPE_GAUGES].refresh()
    response = web.Response(body=request.app[METRICS].render())
    # CONTENT_TYPE_LATEST carries the exposition format's version parameter.
    response.headers[hdrs.CONTENT_TYPE] = CONTENT_TYPE_LATEST
    return response


def _check_scraper(request: web.Request, token: str) -> None:
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8"), token.encode("utf-8")
        ):
            raise Unauthorized("GET /metrics needs the metrics bearer token")
        return
    if not _is_loopback(request.remote) or any(
        name in request.headers for name in PROXY_HEADERS
    ):
        raise Forbidden(
            "GET /metrics answers only on loopback unless TANDEM_METRICS_TOKEN is set"
        )


def _is_loopback(address: str | None) -> bool:
    if address is None:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped.is_loopback
    return parsed.is_loopback
