"""JSON Schemas cut from the handoff service's OpenAPI document, for both test suites.

The bot's tests (jsonschema 4.17, pinned by Rasa) and the service's (a newer one)
validate against the same document. A schema taken out of it keeps working by
carrying the document's components along, so ``#/components/...`` references
resolve the same way in both versions without a registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "handoff" / "openapi.yaml"


def load_document(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def component_validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    return validator(document, {"$ref": f"#/components/schemas/{name}"})


def request_validator(
    document: dict[str, Any], method: str, path: str
) -> Draft202012Validator:
    operation = document["paths"][path][method.lower()]
    return validator(
        document, operation["requestBody"]["content"]["application/json"]["schema"]
    )


def response_validator(
    document: dict[str, Any], method: str, path: str, status: int
) -> Draft202012Validator | None:
    """The schema of a JSON answer (any JSON if the document gives none); None when
    the answer has no JSON body.

    A status the operation does not document raises KeyError.
    """
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].split("/")[-1]]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return None
    return validator(document, content.get("schema", {}))
