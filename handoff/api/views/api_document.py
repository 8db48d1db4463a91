"""The OpenAPI document of this API, as written (YAML) and as JSON."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@functools.cache
def openapi_text() -> str:
    return OPENAPI_PATH.read_text(encoding="utf-8")


@functools.cache
def openapi_document() -> dict[str, Any]:
    document = yaml.safe_load(openapi_text())
    if not isinstance(document, dict):
        raise ValueError(f"{OPENAPI_PATH} does not hold an OpenAPI document")
    return document


async def yaml_document(request: web.Request) -> web.Response:
    return web.Response(
        text=openapi_text(), content_type="application/yaml", charset="utf-8"
    )


async def json_document(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
