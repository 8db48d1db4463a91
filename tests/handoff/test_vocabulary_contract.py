"""The service's enums and limits are the OpenAPI document's: a change to one side
alone fails here."""

from __future__ import annotations

import enum
from typing import Any

import pytest

# The app imports every module that defines an error of its own.
import handoff.app  # noqa: F401
from handoff import vocabulary
from handoff.api import validation
from handoff.api.error_middleware import HTTP_ERROR_CODES
from handoff.api.validation import parse_handoff_request
from handoff.api.views.api_document import openapi_document
from handoff.errors import DomainError, InvalidRequest
from handoff.queue.state_machine import HandoffStatus
from handoff.storage.models import AgentRole, MessageRole
from handoff.vocabulary import DEFAULT_CAPACITY, MAX_CAPACITY


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return found


def request_field(path: str, method: str, *names: str) -> dict[str, Any]:
    operation = openapi_document()["paths"][path][method]
    return nested_field(
        operation["requestBody"]["content"]["application/json"]["schema"], *names
    )


def nested_field(current: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if "$ref" in current:
            current = schema(current["$ref"].rsplit("/", 1)[1])
        current = current["properties"][name]
    return current


def handoff_field(*names: str) -> dict[str, Any]:
    # The handoff request is its context (shown to staff) plus the sender id.
    return nested_field(schema("HandoffContextFields"), *names)


@pytest.mark.parametrize(
    "python_enum",
    [
        *(vocabulary.Skill, vocabulary.Priority, vocabulary.AgentStatus),
        *(vocabulary.HandoffMode, vocabulary.Trigger, vocabulary.Resolution),
        *(vocabulary.RefusalKind, vocabulary.ChannelKind),
        vocabulary.Channel,
        vocabulary.DeliveryFailureReason,
        *(HandoffStatus, AgentRole, MessageRole),
    ],
)
def test_each_enum_has_the_values_of_its_schema(python_enum: type[enum.Enum]) -> None:
    documented = schema(python_enum.__name__)["enum"]
    assert [member.value for member in python_enum] == documented


@pytest.mark.parametrize(
    ("accepted", "documented"),
    [
        (validation.LANGUAGES, schema("Language")["enum"]),
        (validation.EMOTIONS, schema("EmotionScores")["properties"]),
        (
            validation.TRANSCRIPT_ROLES,
            schema("TranscriptTurn")["properties"]["role"]["enum"],
        ),
        (
            {resolution.value for resolution in vocabulary.AGENT_RESOLUTIONS},
            request_field("/api/handoffs/{id}/close", "post", "resolution")["enum"],
        ),
        (
            {kind.value for kind in vocabulary.BOT_REFUSALS},
            request_field("/api/rasa/refusals", "post", "kind")["enum"],
        ),
        (
            {reason.value for reason in validation.CHANNEL_FAILURES},
            request_field("/api/rasa/deliveries", "post", "reason")["enum"],
        ),
        (
            {kind.value for kind in vocabulary.RefusalKind},
            schema("MetricsReport")["properties"]["refusals"]["required"],
        ),
    ],
    ids=[
        "languages",
        "emotions",
        "transcript roles",
        "agent resolutions",
        "bot refusals",
        "failures a channel reports",
        "refusals in the numbers",
    ],
)
def test_closed_sets_match_the_document(accepted: Any, documented: Any) -> None:
    assert set(accepted) == set(documented)


@pytest.mark.parametrize(
    ("limit", "documented"),
    [
        (
            validation.MAX_TEXT_LENGTH,
            schema("TextBody")["properties"]["text"]["maxLength"],
        ),
        (
            validation.MAX_TEXT_LENGTH,
            handoff_field("ticket", "description")["maxLength"],
        ),
        (
            validation.MAX_NOTE_LENGTH,
            request_field("/api/handoffs/{id}/transfer", "post", "note")["maxLength"],
        ),
        (validation.MAX_SUMMARY_LENGTH, handoff_field("summary", "ko")["maxLength"]),
        (validation.MAX_SUMMARY_LENGTH, handoff_field("summary", "en")["maxLength"]),
        (validation.MAX_LOOKUPS, handoff_field("lookups")["maxItems"]),
        (
            validation.MAX_EMOTION_HISTORY,
            handoff_field("emotion", "history")["maxItems"],
        ),
        (
            validation.MIN_PASSWORD_LENGTH,
            request_field("/api/agents", "post", "password")["minLength"],
        ),
        (MAX_CAPACITY, request_field("/api/agents", "post", "capacity")["maximum"]),
        (DEFAULT_CAPACITY, request_field("/api/agents", "post", "capacity")["default"]),
    ],
)
def test_limits_match_the_document(limit: int, documented: int) -> None:
    assert limit == documented


def full_handoff_request(mode: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sender_id": "c0ffee",
        "channel": "socketio",
        "language": "ko",
        "reason": "human_requested",
        "transcript": [{"role": "user", "text": "상담원", "timestamp": 1.0}],
        "verified_identity": {
            "customer_id": "C-1",
            "name": "김민지",
            "phone_number": "010-1234-5678",
        },
        "lookups": [{"kind": "bill", "summary": "55,000원"}],
        "summary": {"ko": "요약", "en": "Summary"},
        "mode": mode,
    }
    if mode == "callback":
        body["callback"] = {"phone_number": "010-2222-3333", "preferred_time": "오후"}
    else:
        body["ticket"] = {"description": "인터넷이 끊겨요"}
    return body


def string_limits(
    value: dict[str, Any], path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], int]]:
    """Every documented maxLength of a string inside the handoff request, by path."""
    if "$ref" in value:
        value = schema(value["$ref"].rsplit("/", 1)[1])
    found = []
    if "maxLength" in value:
        found.append((path, value["maxLength"]))
    for name, inner in value.get("properties", {}).items():
        found.extend(string_limits(inner, (*path, name)))
    if "items" in value:
        found.extend(string_limits(value["items"], (*path, "0")))
    return found


HANDOFF_STRING_LIMITS = string_limits(handoff_field())


@pytest.mark.parametrize(
    ("path", "limit"),
    HANDOFF_STRING_LIMITS,
    ids=[".".join(path) for path, _ in HANDOFF_STRING_LIMITS],
)
def test_every_documented_length_is_the_one_the_service_enforces(
    path: tuple[str, ...], limit: int
) -> None:
    body = full_handoff_request("callback" if "callback" in path else "ticket")
    container: Any = body
    for step in path[:-1]:
        container = container[int(step)] if step.isdigit() else container[step]

    container[path[-1]] = "가" * limit
    parse_handoff_request(body)
    container[path[-1]] = "가" * (limit + 1)
    with pytest.raises(InvalidRequest):
        parse_handoff_request(body)


def domain_errors() -> set[type[DomainError]]:
    found: set[type[DomainError]] = set()
    waiting = [DomainError]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            found.add(subclass)
            waiting.append(subclass)
    return found


def test_every_error_code_the_service_answers_is_documented() -> None:
    codes = {error.code for error in (DomainError, *domain_errors())}
    codes |= set(HTTP_ERROR_CODES.values()) | {"http_error"}
    assert codes == set(schema("ErrorCode")["enum"])
