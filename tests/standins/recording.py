"""What both stand-ins share: the record of calls, queued failures, the CLI."""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Failure:
    """One canned error answer, for the next call of ``method`` (any when None)."""

    status: int
    body: dict[str, Any]
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    calls: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    """When each call arrived, by ``time.monotonic()``: on Linux one clock for every
    process of the machine, so a benchmark can set it against when it sent the
    webhook that caused the call."""
    failures: list[Failure] = field(default_factory=list)

    def take(self, call: dict[str, Any]) -> None:
        self.received_at.append(time.monotonic())
        self.calls.append(call)

    def next_failure(self, method: str) -> Failure | None:
        for index, failure in enumerate(self.failures):
            if failure.method in (None, method):
                return self.failures.pop(index)
        return None


RECORD: web.AppKey[Record] = web.AppKey("record", Record)


def add_control_routes(app: web.Application) -> None:
    """``GET``/``DELETE /_recorded`` (the calls, and when each arrived),
    ``POST /_failures`` (a list of ``{"status", "body", "method"?, "headers"?}``)."""

    async def recorded(request: web.Request) -> web.Response:
        record = request.app[RECORD]
        return web.json_response(
            {"calls": record.calls, "received_at": record.received_at}
        )

    async def clear(request: web.Request) -> web.Response:
        request.app[RECORD].calls.clear()
        request.app[RECORD].received_at.clear()
        request.app[RECORD].failures.clear()
        return web.json_response({"calls": []})

    async def failures(request: web.Request) -> web.Response:
        for item in await request.json():
            request.app[RECORD].failures.append(
                Failure(
                    status=int(item["status"]),
                    body=dict(item.get("body") or {}),
                    method=item.get("method"),
                    headers=dict(item.get("headers") or {}),
                )
            )
        return web.json_response({"queued": len(request.app[RECORD].failures)})

    app.router.add_get("/_recorded", recorded)
    app.router.add_delete("/_recorded", clear)
    app.router.add_post("/_failures", failures)


def failure_response(failure: Failure) -> web.Response:
    return web.json_response(
        failure.body, status=failure.status, headers=failure.headers
    )


LISTENING = "stand-in listening on "
"""What a stand-in process prints, followed by its base URL, once it accepts
connections (``tests.standins.processes`` waits for it)."""


def run(app: web.Application, host: str, port: int) -> None:
    """Serves ``app`` until SIGTERM or SIGINT. Port 0 takes a free port: the socket
    is bound here and kept, so no other process can take the port between its
    choice and the server's start, and the URL printed names the port it got."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    web.run_app(
        app,
        sock=sock,
        print=lambda _: print(
            f"{LISTENING}http://{bound_host}:{bound_port}", flush=True
        ),
    )


def serve(
    description: str,
    build: Callable[[argparse.Namespace], web.Application],
    add_arguments: Callable[[argparse.ArgumentParser], None],
) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="0, the default, takes a free port"
    )
    add_arguments(parser)
    arguments = parser.parse_args()
    run(build(arguments), arguments.host, arguments.port)
