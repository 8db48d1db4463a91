"""deploy/docker/probe.py, the images' health check, against a local HTTP server."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.deploy.dockerfiles import DOCKER_DIR

PROBE = DOCKER_DIR / "probe.py"


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/health/live": 200, "/health/ready": 503}.get(self.path, 404)
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def probe(*arguments: str) -> int:
    # The images run it with their own Python, whatever it is; any 3.x will do.
    return subprocess.run(
        [sys.executable, str(PROBE), *arguments],
        capture_output=True,
        check=False,
        timeout=30,
    ).returncode


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_2xx_answer_is_healthy(server: str) -> None:
    assert probe(f"{server}/health/live") == 0


@pytest.mark.parametrize("path", ["/health/ready", "/nowhere"])
def test_an_error_answer_is_unhealthy(server: str, path: str) -> None:
    assert probe(f"{server}{path}") == 1


def test_no_answer_is_unhealthy() -> None:
    assert probe(f"http://127.0.0.1:{closed_port()}/health/live") == 1


def test_it_needs_exactly_one_url() -> None:
    assert probe() == 2
