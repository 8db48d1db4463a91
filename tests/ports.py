"""Free ports for the processes the tests and benchmarks start.

A port is chosen here and bound by the process later, seconds later for a Rasa
server loading its model. In between, the kernel may give the same port to any
outgoing connection on the machine if it lies in the ephemeral range, the range
``bind(("127.0.0.1", 0))`` also chooses from. So ports are chosen below that range,
where only listening sockets live, and only ports nothing is bound to.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Below this sit the well-known and commonly configured service ports.
LOWEST_PORT = 10000
TRIES = 200


def ephemeral_ports() -> tuple[int, int]:
    """The range the kernel takes the local ports of outgoing connections from."""
    try:
        low, high = EPHEMERAL_RANGE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(span: int) -> int:
    """A base port whose next ``span`` ports are all free, below the ephemeral
    range."""
    highest = ephemeral_ports()[0] - span
    if highest <= LOWEST_PORT:
        raise RuntimeError("no ports below the kernel's ephemeral range to choose from")
    for _ in range(TRIES):
        base = random.randrange(LOWEST_PORT, highest)
        if all(is_free(base + offset) for offset in range(span)):
            return base
    raise RuntimeError("no free block of ports")


def free_port() -> int:
    """One free port below the ephemeral range."""
    return free_port_block(1)
