"""The names and limits of the handoff service's API, read from its OpenAPI document.

``handoff/openapi.yaml`` is the one place that says which skills, priorities,
triggers and modes the service accepts and how long a field may be; the bot reads
them from there when the actions are imported instead of keeping a copy of its own.
A name the bot uses that the document lacks stops the action server at start.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import yaml

from actions.settings import load_settings


class Choices:
    """The values of one of the document's enums, as attributes.

    ``skills.TECHNICAL`` is ``"technical"`` if the document lists it, and an
    ``AttributeError`` naming the enum if it does not.
    """

    def __init__(self, schema_name: str, values: Iterable[str]) -> None:
        self._schema_name = schema_name
        self._values = frozenset(values)

    def __getattr__(self, name: str) -> str:
        value = name.lower()
        if name.startswith("_") or value not in self._values:
            raise AttributeError(
                f"the handoff service's {self._schema_name} has no {value!r}"
            )
        return value


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    path = load_settings().handoff_openapi_path
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        # rasa-sdk reports an ImportError once, at start, and stops.
        raise ImportError(f"Cannot read the handoff API document: {error}") from error
    if not isinstance(document, dict) or "components" not in document:
        raise ImportError(f"{path} is not an OpenAPI document")
    return document


def schema(name: str) -> dict[str, Any]:
    """A schema of the document's components, by name."""
    found: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return found


def field(schema_name: str, *names: str) -> dict[str, Any]:
    """The schema of a field inside a component: ``field("CsatRequest", "score")``."""
    current = schema(schema_name)
    for name in names:
        current = current["properties"][name]
        if "$ref" in current:
            current = schema(current["$ref"].rsplit("/", 1)[1])
    return current


def choices(schema_name: str) -> Choices:
    return Choices(schema_name, schema(schema_name)["enum"])


SKILLS = choices("Skill")
PRIORITIES = choices("Priority")
TRIGGERS = choices("Trigger")
MODES = choices("HandoffMode")
