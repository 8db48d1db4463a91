"""Pages, their configuration and the health check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff.api.views import pages
from handoff.app import create_app
from handoff.settings import Settings

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def static_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    static = tmp_path / "static"
    static.mkdir()
    (static / "chat.html").write_text("<title>chat</title>", encoding="utf-8")
    (static / "console.html").write_text("<title>console</title>", encoding="utf-8")
    (static / "chat.js").write_text("export {};", encoding="utf-8")
    monkeypatch.setattr(pages, "STATIC_DIR", static)
    return static


@pytest.fixture
async def page_client(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    engine: AsyncEngine,
    static_dir: Path,
) -> Client:
    return await aiohttp_client(create_app(settings))


async def test_root_redirects_to_the_chat(page_client: Client) -> None:
    response = await page_client.get("/", allow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == "/chat"


@pytest.mark.parametrize(
    ("path", "title"), [("/chat", "chat"), ("/console", "console")]
)
async def test_pages_are_served(page_client: Client, path: str, title: str) -> None:
    response = await page_client.get(path)

    assert response.status == 200
    assert response.content_type == "text/html"
    assert await response.text() == f"<title>{title}</title>"


async def test_static_files_are_served(page_client: Client) -> None:
    response = await page_client.get("/static/chat.js")

    assert response.status == 200
    assert await response.text() == "export {};"


async def test_public_config_names_the_rasa_socket_and_the_time_zone(
    page_client: Client,
) -> None:
    response = await page_client.get("/api/public-config")

    assert response.status == 200
    assert await response.json() == {
        "rasa_socket_url": "http://chat.example:5005",
        "time_zone": "Asia/Seoul",
    }


async def test_the_pages_read_the_configured_time_zone(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> None:
    berlin = dataclasses.replace(settings, time_zone="Europe/Berlin")
    client = await aiohttp_client(create_app(berlin))

    response = await client.get("/api/public-config")

    assert (await response.json())["time_zone"] == "Europe/Berlin"


async def test_health_checks_the_database(page_client: Client) -> None:
    response = await page_client.get("/api/health")

    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_an_unreachable_database(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    tmp_path: Path,
    feed_gives_up_waiting_soon: None,
) -> None:
    unreachable = Settings(
        service_secret=settings.service_secret,
        chat_session_secret=settings.chat_session_secret,
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        rasa_url=settings.rasa_url,
    )
    client = await aiohttp_client(create_app(unreachable))

    response = await client.get("/api/health")

    assert response.status == 503
    assert await response.json() == {"status": "error", "database": "unavailable"}
