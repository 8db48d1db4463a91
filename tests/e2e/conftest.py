"""Starts the real stack once for the end-to-end and browser tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e.queue_cleanup import close_open_handoffs
from tests.e2e.stack import (
    ROOT,
    Stack,
    running_platforms,
    running_stack,
    set_telegram_webhook,
)

# TANDEM_TEST_MODEL runs the tests against another trained model than the default.
MODEL = Path(os.environ.get("TANDEM_TEST_MODEL", ROOT / "models" / "tandem.tar.gz"))
# Debian's chromium, never a browser of Playwright's own.
CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
# json_stack's customer message burst: this many messages at once, then two a minute.
LIMITED_BURST = 4


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' first")
    with running_stack(MODEL, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def channel_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A second stack with the Telegram and Twilio channels on, talking to the
    platforms' stand-ins; shared by the channels' tests."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' first")
    folder = tmp_path_factory.mktemp("channel-stack")
    with (
        running_platforms(folder) as platforms,
        running_stack(MODEL, folder, platforms=platforms) as running,
    ):
        set_telegram_webhook(running)
        yield running


@pytest.fixture(scope="session")
def json_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The default stack with settings an operator may change: JSON logs, and a
    customer message rate low enough for a test to go over it."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' first")
    with running_stack(
        MODEL,
        tmp_path_factory.mktemp("json-stack"),
        extra_env={
            "TANDEM_LOG_FORMAT": "json",
            "TANDEM_CUSTOMER_MESSAGE_BURST": str(LIMITED_BURST),
            "TANDEM_CUSTOMER_MESSAGES_PER_MINUTE": "2",
        },
    ) as running:
        yield running


# Set on a test whose setup or call failed.
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(autouse=True)
def empty_queue_after_a_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that failed halfway leaves the queue of the stacks it used empty, so
    that the next tests see the queue they were written for (their place in it,
    the first queued conversation in the console); one failure stays one."""
    yield
    if not request.node.stash.get(FAILED, False):
        return
    for name in ("stack", "channel_stack", "json_stack"):
        if name in request.fixturenames:
            close_open_handoffs(request.getfixturevalue(name))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless chromium of its own for each browser test."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        await browser.close()
