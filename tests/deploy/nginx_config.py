"""A reader of deploy/nginx/tandem.conf: directives and blocks, enough to check what
is routed where."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+')


@dataclass
class Block:
    name: str
    arguments: list[str]
    directives: list[tuple[str, list[str]]] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)

    def values(self, name: str) -> list[list[str]]:
        return [arguments for key, arguments in self.directives if key == name]

    def blocks(self, name: str) -> list[Block]:
        return [child for child in self.children if child.name == name]


def parse(text: str) -> Block:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    tokens = TOKEN.findall("\n".join(lines))
    root = Block("main", [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token == "{":
            block = Block(words[0], words[1:])
            stack[-1].children.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            stack.pop()
        elif token == ";":
            stack[-1].directives.append((words[0], words[1:]))
            words = []
        else:
            words.append(token[1:-1] if token[0] in "\"'" else token)
    if len(stack) != 1 or words:
        raise ValueError("unbalanced braces or a directive without ';'")
    return root


def locations(config: Block) -> dict[str, Block]:
    """Every location of every server, by its path (``= /x`` as ``/x``)."""
    found = {}
    for server in config.blocks("server"):
        for location in server.blocks("location"):
            found[location.arguments[-1]] = location
    return found


def upstream_servers(config: Block) -> dict[str, list[str]]:
    return {
        upstream.arguments[0]: [arguments[0] for arguments in upstream.values("server")]
        for upstream in config.blocks("upstream")
    }


def proxied_upstream(location: Block) -> str | None:
    passes = location.values("proxy_pass")
    if not passes:
        return None
    return passes[0][0].removeprefix("http://").rstrip("/")


def headers(location: Block) -> dict[str, str]:
    return {
        arguments[0].lower(): " ".join(arguments[1:])
        for arguments in location.values("proxy_set_header")
    }


def routing_problems(config: Block) -> list[str]:
    """socket.io and webhooks to Rasa with stickiness; the console's WebSocket and
    everything else to the service; upgrades passed on; the client's address given."""
    problems = []
    routes = locations(config)
    upstreams = {
        upstream.arguments[0]: upstream for upstream in config.blocks("upstream")
    }
    expected = {
        "/socket.io/": "tandem_rasa",
        "/webhooks/": "tandem_rasa",
        "/api/ws": "tandem_handoff",
        "/": "tandem_handoff",
    }
    for path, upstream in expected.items():
        location = routes.get(path)
        if location is None:
            problems.append(f"no location for {path}")
            continue
        if proxied_upstream(location) != upstream:
            problems.append(f"{path} does not go to {upstream}")
    for path in ("/socket.io/", "/api/ws"):
        location = routes.get(path)
        if location is None:
            continue
        set_headers = headers(location)
        if set_headers.get("upgrade") != "$http_upgrade" or "connection" not in (
            set_headers
        ):
            problems.append(f"{path} does not pass the WebSocket upgrade on")
        if location.values("proxy_http_version") != [["1.1"]]:
            problems.append(f"{path} does not speak HTTP/1.1 to the upstream")
    for path, location in routes.items():
        if not proxied_upstream(location):
            continue
        if "x-forwarded-for" not in headers(location):
            problems.append(f"{path} does not tell the upstream the client's address")
        # The live feed compares Origin with Host, port included.
        if headers(location).get("host") != "$http_host":
            problems.append(f"{path} does not pass the Host the browser used")
    rasa = upstreams.get("tandem_rasa")
    if rasa is not None and not (rasa.values("ip_hash") or rasa.values("hash")):
        problems.append("tandem_rasa has no sticky sessions (ip_hash or hash)")
    return problems
