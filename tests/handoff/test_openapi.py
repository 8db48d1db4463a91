"""The OpenAPI document describes exactly the routes of the app, and real
responses match its schemas."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from document_check import DocumentCheck
from handoff_testing import BOT_HEADERS, handoff_body, user_event
from jsonschema import Draft202012Validator

from handoff.api.views.api_document import openapi_document
from tests.openapi_schemas import component_validator

Client = TestClient[web.Request, web.Application]
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def documented_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def app_operations(app: web.Application) -> set[tuple[str, str]]:
    operations = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        canonical = route.resource.canonical if route.resource else ""
        if canonical == "/static":
            canonical = "/static/{path}"
        operations.add((route.method, canonical))
    return operations


def test_every_route_is_documented_and_every_documented_path_exists(
    client: Client,
) -> None:
    assert app_operations(client.app) == documented_operations()


def test_the_component_schemas_are_valid_json_schemas() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


async def test_the_document_is_served_as_yaml_and_json(client: Client) -> None:
    as_yaml = await client.get("/api/openapi.yaml")
    as_json = await client.get("/api/openapi.json")

    assert as_yaml.status == as_json.status == 200
    assert as_yaml.content_type == "application/yaml"
    assert yaml.safe_load(await as_yaml.text()) == await as_json.json()


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def test_every_reference_names_a_component() -> None:
    document = openapi_document()
    unresolved = []
    for reference in references(document):
        section, kind, name = reference.removeprefix("#/").split("/")
        if name not in document[section][kind]:
            unresolved.append(reference)
    assert unresolved == []


@pytest.mark.parametrize("schema_name", ["Handoff", "HandoffDetail", "Agent"])
def test_schemas_refuse_unknown_fields(schema_name: str) -> None:
    assert not component_validator(openapi_document(), schema_name).is_valid(
        {"surprise": True}
    )


async def test_a_renamed_answer_field_is_a_disagreement() -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"state": "ok", "database": "ok"})

    app = web.Application()
    app.router.add_get("/api/health", health)
    check = DocumentCheck(openapi_document())
    check.install(app)
    async with TestClient(TestServer(app)) as unchecked_client:
        await unchecked_client.get("/api/health")

    assert sorted(check.disagreements) == [
        "GET /api/health → 200: : 'status' is a required property",
        "GET /api/health → 200: : Additional properties are not allowed "
        "('state' was unexpected)",
    ]


async def test_every_endpoint_answers_as_documented(
    client: Client, team: Any, tokens: Any
) -> None:
    """One call to each operation; the client checks each answer (conftest.py)."""

    async def call(
        method: str,
        path: str,
        headers: dict[str, str],
        json: Any = None,
    ) -> Any:
        response = await client.request(method, path, json=json, headers=headers)
        return await response.json()

    created = await call(
        "POST",
        "/api/rasa/handoffs",
        BOT_HEADERS,
        handoff_body(
            skill="billing",
            priority="high",
            emotion={"scores": {"anger": 0.7}},
            summary={"ko": "요금 문의", "en": "Bill question"},
        ),
    )
    handoff_path = f"/api/handoffs/{created['id']}"
    await call(
        "POST",
        "/api/rasa/events",
        BOT_HEADERS,
        {"events": [user_event()]},
    )
    await call("GET", "/api/handoffs", tokens["mina"])
    await call("POST", f"{handoff_path}/claim", tokens["mina"])
    await call(
        "POST",
        f"{handoff_path}/messages",
        tokens["mina"],
        {"text": "안녕하세요"},
    )
    await call(
        "POST",
        f"{handoff_path}/notes",
        tokens["mina"],
        {"text": "메모"},
    )
    await call("GET", handoff_path, tokens["mina"])
    await call(
        "GET",
        f"{handoff_path}/transcript",
        tokens["mina"],
    )
    await call(
        "POST",
        f"{handoff_path}/transfer",
        tokens["mina"],
        {"to_skill": "general", "note": "general question after all"},
    )
    await call("GET", handoff_path, tokens["sora"])
    await call("GET", "/api/agents", tokens["mina"])
    await call("GET", "/api/agents/me", tokens["mina"])
    await call(
        "PUT",
        "/api/agents/me/status",
        tokens["joon"],
        {"status": "away"},
    )
    await call(
        "POST",
        "/api/canned-responses",
        tokens["sora"],
        {"language": "en", "title": "Hi", "text": "Hi {name}"},
    )
    await call("GET", "/api/canned-responses", tokens["mina"])
    await call("GET", "/api/handoffs/999", tokens["mina"])
    await call("POST", "/api/agents", tokens["mina"], {})
    rating = await call(
        "POST",
        "/api/rasa/csat",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "score": 4},
    )
    await call(
        "PATCH",
        f"/api/rasa/csat/{rating['id']}",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "comment": "친절했어요"},
    )
    await call(
        "PATCH",
        f"/api/rasa/csat/{rating['id']}",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "comment": "again"},
    )
    await call("GET", "/api/health", {})
