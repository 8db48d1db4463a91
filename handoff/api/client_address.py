"""The client's address, as far as the service can trust who reports it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import hdrs, web

from handoff.settings import IPNetwork

MAX_ADDRESS_LENGTH = 64


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """The peer, or the client a chain of trusted proxies forwarded for.

    Each proxy appends the address it received the request from, so the list is
    read from the right and believed only while the hop that wrote an entry is
    a trusted proxy; what the client itself put in the header is never reached.
    """
    address = request.remote or "unknown"
    forwarded = [
        entry.strip()
        for header in request.headers.getall(hdrs.X_FORWARDED_FOR, [])
        for entry in header.split(",")
    ]
    for entry in reversed(forwarded):
        if not _is_trusted(address, trusted_proxies):
            break
        try:
            address = str(ipaddress.ip_address(entry))
        except ValueError:
            # A proxy wrote something that is no address: the last trusted hop
            # is the nearest client the service can name.
            break
    return address[:MAX_ADDRESS_LENGTH]


def _is_trusted(address: str, trusted_proxies: Sequence[IPNetwork]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted_proxies)
