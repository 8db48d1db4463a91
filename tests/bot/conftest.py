from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from actions import (
    account_requests,
    outages,
    payments,
    plans,
    signup,
    verification,
)
from actions.backend.demo import DemoBackend

SEED_DAY = dt.date(2026, 11, 22)
# Every module that reaches the back end through get_backend().
BACKEND_USERS = [account_requests, outages, payments, plans, signup, verification]


class Clock:
    """A clock the test moves by hand, for code expiry."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime.combine(SEED_DAY, dt.time(12, 0)))


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "dev_outbox.log"


@pytest.fixture
def demo_backend(tmp_path: Path, clock: Clock, outbox_path: Path) -> DemoBackend:
    return DemoBackend(tmp_path / "demo.db", outbox_path=outbox_path, clock=clock)


@pytest.fixture
def broken_backend(tmp_path: Path) -> DemoBackend:
    """A back end whose database cannot be opened (its folder is a file)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return DemoBackend(blocker / "demo.db")


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> Callable[[DemoBackend], None]:
    def install(backend: DemoBackend) -> None:
        for module in BACKEND_USERS:
            monkeypatch.setattr(module, "get_backend", lambda: backend)

    return install


def outbox_lines(outbox_path: Path) -> list[str]:
    """The messages of the development outbox: time, phone number, text."""
    return outbox_path.read_text("utf-8").splitlines()


def last_code(outbox_path: Path) -> str:
    """The code in the latest message of the development outbox."""
    return outbox_lines(outbox_path)[-1].split("인증번호 ")[1].split(" ")[0]
