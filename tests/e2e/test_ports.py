"""The ports the tests give their processes: free, and never from the range the
kernel takes outgoing connections' local ports from."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests import ports


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_bound() -> None:
    low, _ = ports.ephemeral_ports()
    for _ in range(20):
        port = ports.free_port()
        assert ports.LOWEST_PORT <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_block_skips_a_port_something_listens_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports.free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        assert not ports.is_free(busy)
        # Every block the chooser tries would hold the busy port but the last.
        starts = iter([busy - 1] * 5 + [busy + 1])
        monkeypatch.setattr(ports.random, "randrange", lambda *_: next(starts))
        assert ports.free_port_block(2) == busy + 1


def test_the_kernels_range_is_read_and_a_default_stands_in_when_it_cannot_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrow = tmp_path / "ip_local_port_range"
    narrow.write_text("40000\t50000\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", narrow)
    assert ports.ephemeral_ports() == (40000, 50000)
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert ports.ephemeral_ports() == (32768, 60999)
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", narrow)
    narrow.write_text("10001 20000\n")
    with pytest.raises(RuntimeError, match="below the kernel's ephemeral range"):
        ports.free_port_block(2)
