from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.backend import CustomerBackend
from actions.backend.demo import DemoBackend
from actions.business_hours import read_business_hours
from actions.code_requests import CodeRequestLog
from actions.dependencies import Dependencies
from actions.handoff_client import HandoffClient

SEED_DAY = dt.date(2026, 11, 22)
SEOUL = ZoneInfo("Asia/Seoul")
# Actions that reach the handoff service have tests of their own with a local
# server; the others get a client whose calls fail at once.
NO_HANDOFF_SERVICE_URL = "http://127.0.0.1:9"
# The secret the local stand-ins for the handoff service accept.
SERVICE_SECRET = "shared"


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
    # Noon in Seoul, where the customers are; the back end keeps UTC.
    return Clock(dt.datetime.combine(SEED_DAY, dt.time(12, 0), SEOUL))


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
def with_backend(
    clock: Clock, tmp_path: Path
) -> Callable[[CustomerBackend], Dependencies]:
    """The actions' dependencies on ``backend``, at the test's clock."""

    def dependencies(backend: CustomerBackend) -> Dependencies:
        return Dependencies(
            backend=backend,
            handoff_client=HandoffClient(NO_HANDOFF_SERVICE_URL, "", timeout_seconds=1),
            business_hours=read_business_hours(Path("business_hours.yml")),
            code_requests=CodeRequestLog(tmp_path / "code_requests.db"),
            clock=clock,
        )

    return dependencies


def outbox_lines(outbox_path: Path) -> list[str]:
    """The messages of the development outbox: time, phone number, text."""
    return outbox_path.read_text("utf-8").splitlines()


def last_code(outbox_path: Path) -> str:
    """The code in the latest message of the development outbox."""
    return outbox_lines(outbox_path)[-1].split("인증번호 ")[1].split(" ")[0]


@pytest.fixture
def connect(
    with_backend: Callable[[CustomerBackend], Dependencies], demo_backend: DemoBackend
) -> Callable[..., Dependencies]:
    """The actions' dependencies with the handoff service at ``url``."""

    def connected(url: str, secret: str = SERVICE_SECRET) -> Dependencies:
        client = HandoffClient(url, secret, timeout_seconds=2)
        return replace(with_backend(demo_backend), handoff_client=client)

    return connected


@pytest.fixture
def handoff_url() -> str:
    """Where the actions find the handoff service; modules that test the calls to it
    override this with a local server's address."""
    return NO_HANDOFF_SERVICE_URL


@pytest.fixture
def dependencies(
    connect: Callable[..., Dependencies], handoff_url: str
) -> Dependencies:
    """The demo back end at the test's clock, and the handoff service at
    ``handoff_url``."""
    return connect(handoff_url)
