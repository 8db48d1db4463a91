"""The OpenAPI document describes exactly the routes of the app, and real
responses match its schemas."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, user_event
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from handoff.api.views.api_document import openapi_document

Client = TestClient[web.Request, web.Application]
DOCUMENT_URI = "urn:tandem:openapi"
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


def validator(schema_name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(openapi_document(), DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/schemas/{schema_name}"},
        registry=registry,
    )


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    response = openapi_document()["paths"][path][method.lower()]["responses"][
        str(status)
    ]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = openapi_document()["components"]["responses"][name]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def check(method: str, path: str, status: int, body: Any) -> None:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(openapi_document(), DRAFT202012)
    )
    schema = response_schema(method, path, status)
    if "$ref" in schema:
        schema = {"$ref": DOCUMENT_URI + schema["$ref"]}
    else:
        schema = _absolute_refs(schema)
    Draft202012Validator(schema, registry=registry).validate(body)


def _absolute_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: DOCUMENT_URI + item if key == "$ref" else _absolute_refs(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_absolute_refs(item) for item in value]
    return value


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


@pytest.mark.parametrize("schema_name", ["Handoff", "HandoffDetail", "Agent"])
def test_schemas_refuse_unknown_fields(schema_name: str) -> None:
    assert not validator(schema_name).is_valid({"surprise": True})


async def test_real_responses_match_the_document(
    client: Client, team: Any, tokens: Any
) -> None:
    async def call(
        method: str,
        path: str,
        documented: str,
        headers: dict[str, str],
        json: Any = None,
    ) -> Any:
        response = await client.request(method, path, json=json, headers=headers)
        body = await response.json()
        check(method, documented, response.status, body)
        return body

    created = await call(
        "POST",
        "/api/rasa/handoffs",
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
        "/api/rasa/events",
        BOT_HEADERS,
        {"events": [user_event()]},
    )
    await call("GET", "/api/handoffs", "/api/handoffs", tokens["mina"])
    await call(
        "POST", f"{handoff_path}/claim", "/api/handoffs/{id}/claim", tokens["mina"]
    )
    await call(
        "POST",
        f"{handoff_path}/messages",
        "/api/handoffs/{id}/messages",
        tokens["mina"],
        {"text": "안녕하세요"},
    )
    await call(
        "POST",
        f"{handoff_path}/notes",
        "/api/handoffs/{id}/notes",
        tokens["mina"],
        {"text": "메모"},
    )
    await call("GET", handoff_path, "/api/handoffs/{id}", tokens["mina"])
    await call(
        "GET",
        f"{handoff_path}/transcript",
        "/api/handoffs/{id}/transcript",
        tokens["mina"],
    )
    await call(
        "POST",
        f"{handoff_path}/transfer",
        "/api/handoffs/{id}/transfer",
        tokens["mina"],
        {"to_skill": "general", "note": "general question after all"},
    )
    await call("GET", handoff_path, "/api/handoffs/{id}", tokens["sora"])
    await call("GET", "/api/agents", "/api/agents", tokens["mina"])
    await call("GET", "/api/agents/me", "/api/agents/me", tokens["mina"])
    await call(
        "PUT",
        "/api/agents/me/status",
        "/api/agents/me/status",
        tokens["joon"],
        {"status": "away"},
    )
    await call(
        "POST",
        "/api/canned-responses",
        "/api/canned-responses",
        tokens["sora"],
        {"language": "en", "title": "Hi", "text": "Hi {name}"},
    )
    await call("GET", "/api/canned-responses", "/api/canned-responses", tokens["mina"])
    await call("GET", "/api/handoffs/999", "/api/handoffs/{id}", tokens["mina"])
    await call("POST", "/api/agents", "/api/agents", tokens["mina"], {})
    rating = await call(
        "POST",
        "/api/rasa/csat",
        "/api/rasa/csat",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "score": 4},
    )
    await call(
        "PATCH",
        f"/api/rasa/csat/{rating['id']}",
        "/api/rasa/csat/{id}",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "comment": "친절했어요"},
    )
    await call(
        "PATCH",
        f"/api/rasa/csat/{rating['id']}",
        "/api/rasa/csat/{id}",
        BOT_HEADERS,
        {"sender_id": "c0ffee", "comment": "again"},
    )
    await call("GET", "/api/health", "/api/health", {})
