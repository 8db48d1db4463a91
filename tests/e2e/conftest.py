"""Starts the real stack once for the end-to-end and browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import (
    ROOT,
    Stack,
    running_platforms,
    running_stack,
    set_telegram_webhook,
)

# TANDEM_TEST_MODEL runs the tests against another trained model than the default.
MODEL = Path(os.environ.get("TANDEM_TEST_MODEL", ROOT / "models" / "tandem.tar.gz"))


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
