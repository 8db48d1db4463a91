"""Fixtures of the console's browser tests: the handoff service alone with a
stand-in Rasa and the bot and staff over HTTP (tests/e2e/console_service.py);
chromium is tests/e2e/conftest.py's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pytest_aiohttp import AiohttpServer

from tests.e2e.console_service import (
    Service,
    Staff,
    running_service,
    stand_in_rasa,
)


@pytest.fixture
async def rasa_url(aiohttp_server: AiohttpServer) -> str:
    server = await aiohttp_server(stand_in_rasa())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def service(rasa_url: str) -> Iterator[Service]:
    with running_service(rasa_url) as running:
        yield running


@pytest.fixture
async def staff(service: Service) -> AsyncIterator[Staff]:
    helper = Staff(service)
    yield helper
    await helper.close()
