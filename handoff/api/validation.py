"""Strict parsing of request bodies into typed requests.

Every body is a JSON object with exactly the documented fields. Nested Rasa
payloads (entities, slots) are checked for shape only and kept as posted.
"""

from __future__ import annotations

import enum
import json
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from aiohttp import web

from handoff.analytics.presenters import CsvTable
from handoff.conversation.personal_data import mask_personal_data
from handoff.errors import InvalidRequest, MalformedJson, NotFound
from handoff.queue.states import HandoffStatus
from handoff.vocabulary import (
    AGENT_RESOLUTIONS,
    BOT_REFUSALS,
    DEFAULT_CAPACITY,
    DEFAULT_STAFF_LANGUAGE,
    MAX_CAPACITY,
    AgentStatus,
    DeliveryFailureReason,
    HandoffMode,
    Priority,
    RefusalKind,
    Resolution,
    Skill,
    Trigger,
)

E = TypeVar("E", bound=enum.Enum)

MAX_TEXT_LENGTH = 2000
# A reply's client id: a UUID, or any short token of these characters.
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
MAX_NOTE_LENGTH = 2000
MAX_SUMMARY_LENGTH = 2000
MAX_LOOKUPS = 20
MAX_EMOTION_HISTORY = 200
LANGUAGES = frozenset({"ko", "en"})
TRANSCRIPT_ROLES = frozenset({"user", "bot"})
EMOTIONS = frozenset({"anger", "frustration", "distress"})
MAX_DATABASE_ID = 2**31 - 1
MAX_ATTACHMENT_ID_LENGTH = 32
# Year 5138: far enough, and a datetime on every engine.
MAX_UNIX_TIME = 1e11
DEFAULT_DEAD_LETTER_PAGE = 50
MAX_DEAD_LETTER_PAGE = 200
MIN_PASSWORD_LENGTH = 10
MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT_LENGTH = 1000
CSAT_REQUIRED_FIELDS = {"sender_id", "score"}
CSAT_OPTIONAL_FIELDS = {"comment", "handoff_id"}
COMMENT_FIELDS = {"sender_id", "comment"}
REPORT_PARAMETERS = frozenset({"from", "to", "bucket", "format", "table"})
REPORT_FORMATS = frozenset({"json", "csv"})
# Placeholders a canned response may use; the console fills them in.
CANNED_PLACEHOLDERS = frozenset({"name", "agent_name"})


@dataclass(frozen=True)
class LoginRequest:
    username: str
    password: str


@dataclass(frozen=True)
class HandoffRequest:
    sender_id: str
    channel: str
    language: str
    reason: str
    # The latest Rasa timestamp in the transcript, None for an empty one.
    transcript_until: float | None
    # Everything the bot posted, for the agent's context panel.
    context: dict[str, Any]
    mode: HandoffMode = HandoffMode.QUEUE
    skill: Skill = Skill.GENERAL
    priority: Priority = Priority.NORMAL
    trigger: Trigger | None = None


@dataclass(frozen=True)
class AgentMessageRequest:
    text: str
    # A file uploaded to the handoff; the text may then be empty.
    attachment_id: str | None = None
    # The console's own id for a reply: sent again with it, it is the same reply.
    client_id: str | None = None


@dataclass(frozen=True)
class HandoffFilter:
    status: HandoffStatus | None
    skill: Skill | None


@dataclass(frozen=True)
class TransferRequest:
    to_agent_id: int | None
    to_skill: Skill | None
    note: str
    # A supervisor may give an agent more than their capacity, explicitly.
    override_capacity: bool = False


@dataclass(frozen=True)
class NewAgent:
    username: str
    display_name: str
    password: str
    role: str
    skills: frozenset[Skill]
    capacity: int
    language: str = DEFAULT_STAFF_LANGUAGE


@dataclass(frozen=True)
class AgentChanges:
    """Only the fields present in the request; absent ones stay as they are."""

    display_name: str | None = None
    password: str | None = None
    skills: frozenset[Skill] | None = None
    capacity: int | None = None
    active: bool | None = None
    status: AgentStatus | None = None
    language: str | None = None


@dataclass(frozen=True)
class OwnSettings:
    """What agents set for themselves rather than have a supervisor set."""

    language: str


@dataclass(frozen=True)
class CannedResponseFields:
    language: str | None
    title: str | None
    text: str | None


@dataclass(frozen=True)
class RasaEvent:
    type: str
    sender_id: str | None
    timestamp: float | None
    text: str | None
    # Set on the echo of an agent reply appended by this service.
    tandem_message_id: int | None
    # The file a customer's message carries (metadata.tandem_attachment.id), as
    # the channel named it: still to be checked against the stored files.
    attachment_id: str | None = None


@dataclass(frozen=True)
class RefusedEvent:
    """An event of a batch that cannot be taken, kept as a dead letter."""

    index: int
    reason: str
    event: Any


@dataclass(frozen=True)
class EventBatch:
    events: list[RasaEvent]
    # The accepted events as posted, for the readers of the raw stream.
    raw_events: list[Any]
    refused: list[RefusedEvent]
    # Events the broker had to drop before this batch, its buffer being full.
    dropped: int


@dataclass(frozen=True)
class DeadLetterQuery:
    limit: int
    # Only dead letters older than this one (its id): the next page.
    before: int | None


@dataclass(frozen=True)
class ReportQuery:
    # Raw local dates and bucket, read against the business's time zone.
    first_day: str | None
    last_day: str | None
    bucket: str | None
    as_csv: bool
    table: CsvTable


@dataclass(frozen=True)
class CsatRequest:
    sender_id: str
    score: int
    comment: str | None
    handoff_id: int | None


@dataclass(frozen=True)
class DeliveryReport:
    message_id: int
    reason: DeliveryFailureReason
    permanent: bool
    detail: str


# What a channel may report; rasa_unavailable is the service's own finding.
CHANNEL_FAILURES = tuple(
    reason
    for reason in DeliveryFailureReason
    if reason is not DeliveryFailureReason.RASA_UNAVAILABLE
)
MAX_DETAIL_LENGTH = 500


@dataclass(frozen=True)
class RefusalReport:
    sender_id: str
    kind: RefusalKind


@dataclass(frozen=True)
class CommentRequest:
    sender_id: str
    comment: str


async def read_json_object(
    request: web.Request, *, optional: bool = False
) -> dict[str, Any]:
    """The body as a JSON object; an optional body may be left out entirely."""
    raw = await request.read()
    if optional and not raw.strip():
        return {}
    return parse_json_object(raw)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError:
        raise MalformedJson("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    return value


def parse_login(body: Mapping[str, Any]) -> LoginRequest:
    _check_fields(body, "body", required={"username", "password"})
    return LoginRequest(
        username=_string(body["username"], "username", max_length=64),
        password=_string(body["password"], "password", max_length=1024),
    )


def parse_agent_message(body: Mapping[str, Any]) -> AgentMessageRequest:
    _check_fields(
        body, "body", required=set(), optional={"text", "attachment_id", "client_id"}
    )
    client_id = body.get("client_id")
    if client_id is not None and not (
        isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id)
    ):
        _invalid("client_id must be 8 to 64 letters, digits, - or _")
    attachment_id = body.get("attachment_id")
    if attachment_id is not None and not is_attachment_id(attachment_id):
        _invalid("attachment_id must be the id of an uploaded file")
    text = body.get("text")
    if attachment_id is None:
        if text is None:
            _invalid("body: missing field(s): text")
        return AgentMessageRequest(
            text=_message_text(text, "text"), client_id=client_id
        )
    if text is None or (isinstance(text, str) and not text.strip()):
        return AgentMessageRequest(
            text="", attachment_id=attachment_id, client_id=client_id
        )
    return AgentMessageRequest(
        text=_message_text(text, "text"),
        attachment_id=attachment_id,
        client_id=client_id,
    )


def is_attachment_id(value: Any) -> bool:
    """Whether ``value`` has the shape of a file's id (it may still name none)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= MAX_ATTACHMENT_ID_LENGTH
        and value.isascii()
        and all(character.isalnum() or character in "-_" for character in value)
    )


def parse_handoff_request(body: Mapping[str, Any]) -> HandoffRequest:
    _check_fields(
        body,
        "body",
        required={"sender_id", "channel", "language", "reason", "transcript"},
        optional={
            "intent",
            "entities",
            "slots",
            "mode",
            "callback",
            "ticket",
            "skill",
            "priority",
            "trigger",
            "emotion",
            "verified_identity",
            "lookups",
            "summary",
        },
    )
    language = _string(body["language"], "language", max_length=8)
    if language not in LANGUAGES:
        _invalid(f"language must be one of {sorted(LANGUAGES)}")
    transcript = body["transcript"]
    if not isinstance(transcript, list):
        _invalid("transcript must be a list")
    timestamps = [
        _transcript_entry(entry, f"transcript[{index}]")
        for index, entry in enumerate(transcript)
    ]
    if body.get("intent") is not None:
        _intent(body["intent"])
    if body.get("entities") is not None:
        _entities(body["entities"])
    if body.get("slots") is not None and not isinstance(body["slots"], dict):
        _invalid("slots must be an object")
    mode = _choice(body.get("mode"), HandoffMode, "mode") or HandoffMode.QUEUE
    _offline_details(body, mode)
    if body.get("emotion") is not None:
        _emotion(body["emotion"])
    if body.get("verified_identity") is not None:
        _verified_identity(body["verified_identity"])
    if body.get("lookups") is not None:
        _lookups(body["lookups"])
    if body.get("summary") is not None:
        _summary(body["summary"])
    return HandoffRequest(
        sender_id=_string(body["sender_id"], "sender_id", max_length=255),
        channel=_string(body["channel"], "channel", max_length=64),
        language=language,
        reason=_string(body["reason"], "reason", max_length=64),
        transcript_until=max(timestamps, default=None),
        context={
            **body,
            "transcript": [
                {**entry, "text": _masked(entry["text"])} for entry in transcript
            ],
        },
        mode=mode,
        skill=_choice(body.get("skill"), Skill, "skill") or Skill.GENERAL,
        priority=_choice(body.get("priority"), Priority, "priority") or Priority.NORMAL,
        trigger=_choice(body.get("trigger"), Trigger, "trigger"),
    )


def parse_handoff_filter(query: Mapping[str, str]) -> HandoffFilter:
    unknown = set(query) - {"status", "skill"}
    if unknown:
        _invalid(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    return HandoffFilter(
        status=_choice(query.get("status"), HandoffStatus, "status"),
        skill=_choice(query.get("skill"), Skill, "skill"),
    )


def parse_note(body: Mapping[str, Any]) -> AgentMessageRequest:
    _check_fields(body, "body", required={"text"})
    return AgentMessageRequest(text=_message_text(body["text"], "text"))


def parse_close(body: Mapping[str, Any]) -> Resolution:
    _check_fields(body, "body", required=set(), optional={"resolution"})
    resolution = _choice(body.get("resolution"), Resolution, "resolution")
    if resolution is None:
        return Resolution.RESOLVED
    if resolution not in AGENT_RESOLUTIONS:
        valid = ", ".join(sorted(code.value for code in AGENT_RESOLUTIONS))
        _invalid(f"resolution must be one of: {valid}")
    return resolution


def parse_claim(body: Mapping[str, Any]) -> bool:
    """Whether the claim overrides the agent's capacity (a supervisor's choice)."""
    _check_fields(body, "body", required=set(), optional={"override_capacity"})
    return _flag(body.get("override_capacity", False), "override_capacity")


def parse_transfer(body: Mapping[str, Any]) -> TransferRequest:
    _check_fields(
        body,
        "body",
        required={"note"},
        optional={"to_agent_id", "to_skill", "override_capacity"},
    )
    to_agent_id = body.get("to_agent_id")
    to_skill = _choice(body.get("to_skill"), Skill, "to_skill")
    if (to_agent_id is None) == (to_skill is None):
        _invalid("give exactly one of to_agent_id and to_skill")
    return TransferRequest(
        to_agent_id=None if to_agent_id is None else _id(to_agent_id, "to_agent_id"),
        to_skill=to_skill,
        note=_bounded_text(body["note"], "note", MAX_NOTE_LENGTH),
        override_capacity=_flag(
            body.get("override_capacity", False), "override_capacity"
        ),
    )


def parse_agent_status(body: Mapping[str, Any]) -> AgentStatus:
    _check_fields(body, "body", required={"status"})
    status = _choice(body["status"], AgentStatus, "status")
    if status is None:
        _invalid("status must not be null")
    return status


def parse_new_agent(body: Mapping[str, Any]) -> NewAgent:
    _check_fields(
        body,
        "body",
        required={"username", "display_name", "password"},
        optional={"role", "skills", "capacity", "language"},
    )
    username = _string(body["username"], "username", max_length=64)
    if not username.isascii() or not all(
        character.isalnum() or character in "._-" for character in username
    ):
        _invalid("username may hold only letters, digits, '.', '_' and '-'")
    role = body.get("role", "agent")
    if role not in ("agent", "supervisor"):
        _invalid("role must be agent or supervisor")
    skills = body.get("skills", [Skill.GENERAL.value])
    return NewAgent(
        username=username,
        display_name=_string(body["display_name"], "display_name", max_length=128),
        password=_password(body["password"]),
        role=role,
        skills=_skills(skills),
        capacity=_capacity(body.get("capacity", DEFAULT_CAPACITY)),
        language=_staff_language(body.get("language", DEFAULT_STAFF_LANGUAGE)),
    )


def parse_agent_changes(body: Mapping[str, Any]) -> AgentChanges:
    _check_fields(
        body,
        "body",
        required=set(),
        optional={
            "display_name",
            "password",
            "skills",
            "capacity",
            "active",
            "status",
            "language",
        },
    )
    if not body:
        _invalid("body: give at least one field to change")
    active = body.get("active")
    if "active" in body and not isinstance(active, bool):
        _invalid("active must be true or false")
    return AgentChanges(
        display_name=(
            _string(body["display_name"], "display_name", max_length=128)
            if "display_name" in body
            else None
        ),
        password=_password(body["password"]) if "password" in body else None,
        skills=_skills(body["skills"]) if "skills" in body else None,
        capacity=_capacity(body["capacity"]) if "capacity" in body else None,
        active=active,
        status=parse_agent_status({"status": body["status"]})
        if "status" in body
        else None,
        language=_staff_language(body["language"]) if "language" in body else None,
    )


def parse_own_settings(body: Mapping[str, Any]) -> OwnSettings:
    _check_fields(body, "body", required={"language"})
    return OwnSettings(language=_staff_language(body["language"]))


def _staff_language(value: Any) -> str:
    if not isinstance(value, str) or value not in LANGUAGES:
        _invalid(f"language must be one of {sorted(LANGUAGES)}")
    return value


def parse_canned_response(
    body: Mapping[str, Any], *, partial: bool
) -> CannedResponseFields:
    fields = {"language", "title", "text"}
    if partial:
        _check_fields(body, "body", required=set(), optional=fields)
        if not body:
            _invalid("body: give at least one field to change")
    else:
        _check_fields(body, "body", required=fields)
    language = body.get("language")
    if language is not None and (
        not isinstance(language, str) or language not in LANGUAGES
    ):
        _invalid(f"language must be one of {sorted(LANGUAGES)}")
    text = body.get("text")
    if text is not None:
        text = _message_text(text, "text")
        _placeholders(text)
    return CannedResponseFields(
        language=language,
        title=None
        if body.get("title") is None
        else _string(body["title"], "title", max_length=100),
        text=text,
    )


def parse_canned_filter(query: Mapping[str, str]) -> str | None:
    unknown = set(query) - {"language"}
    if unknown:
        _invalid(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    language = query.get("language")
    if language is not None and language not in LANGUAGES:
        _invalid(f"language must be one of {sorted(LANGUAGES)}")
    return language


def parse_event_batch(body: Mapping[str, Any]) -> EventBatch:
    """The batch's good events and its refused ones, each with its reason.

    Only a body that is not a batch at all is refused whole: one bad event must
    not cost the other customers' messages in the same batch.
    """
    _check_fields(body, "body", required={"events"}, optional={"dropped"})
    raw_events = body["events"]
    if not isinstance(raw_events, list):
        _invalid("events must be a list")
    dropped = body.get("dropped", 0)
    if isinstance(dropped, bool) or not isinstance(dropped, int) or dropped < 0:
        _invalid("dropped must be a whole number of at least 0")
    events: list[RasaEvent] = []
    accepted: list[Any] = []
    refused: list[RefusedEvent] = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(_rasa_event(raw, f"events[{index}]"))
        except InvalidRequest as error:
            refused.append(RefusedEvent(index, error.message, raw))
        else:
            accepted.append(raw)
    return EventBatch(events, accepted, refused, dropped)


def parse_dead_letter_query(query: Mapping[str, str]) -> DeadLetterQuery:
    unknown = query.keys() - {"limit", "before"}
    if unknown:
        _invalid(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    limit = _query_number(query.get("limit"), "limit", MAX_DEAD_LETTER_PAGE)
    before = _query_number(query.get("before"), "before", MAX_DATABASE_ID)
    return DeadLetterQuery(limit or DEFAULT_DEAD_LETTER_PAGE, before)


def parse_csat_request(body: Mapping[str, Any]) -> CsatRequest:
    _check_fields(
        body, "body", required=CSAT_REQUIRED_FIELDS, optional=CSAT_OPTIONAL_FIELDS
    )
    score = body["score"]
    if (
        isinstance(score, bool)
        or not isinstance(score, int)
        or not MIN_SCORE <= score <= MAX_SCORE
    ):
        _invalid(f"score must be a whole number from {MIN_SCORE} to {MAX_SCORE}")
    comment = body.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            _invalid("comment must be a string or null")
        comment = _checked_comment(comment)
    handoff_id = body.get("handoff_id")
    if handoff_id is not None and (
        isinstance(handoff_id, bool)
        or not isinstance(handoff_id, int)
        or handoff_id < 1
    ):
        _invalid("handoff_id must be a handoff id or null")
    return CsatRequest(_rating_sender_id(body), score, comment, handoff_id)


def parse_comment_request(body: Mapping[str, Any]) -> CommentRequest:
    _check_fields(body, "body", required=COMMENT_FIELDS)
    comment = body["comment"]
    if not isinstance(comment, str):
        _invalid("comment must be a string")
    checked = _checked_comment(comment)
    if checked is None:
        _invalid("comment must not be empty")
    return CommentRequest(_rating_sender_id(body), checked)


def parse_refusal_report(body: Mapping[str, Any]) -> RefusalReport:
    _check_fields(body, "body", required={"sender_id", "kind"})
    # Only what the bot refuses: the service counts its own refusals itself.
    kinds = sorted(kind.value for kind in BOT_REFUSALS)
    if not isinstance(body["kind"], str) or body["kind"] not in kinds:
        _invalid(f"kind must be one of: {', '.join(kinds)}")
    return RefusalReport(_rating_sender_id(body), RefusalKind(body["kind"]))


def parse_delivery_report(body: Mapping[str, Any]) -> DeliveryReport:
    _check_fields(
        body,
        "body",
        required={"tandem_message_id", "status", "reason", "permanent"},
        optional={"detail"},
    )
    message_id = body["tandem_message_id"]
    if (
        not isinstance(message_id, int)
        or isinstance(message_id, bool)
        or not 1 <= message_id <= MAX_DATABASE_ID
    ):
        _invalid("tandem_message_id must be a message id")
    # Only failures are reported: a delivery is confirmed by Rasa's echo.
    if body["status"] != "failed":
        _invalid("status must be failed")
    reasons = [reason.value for reason in CHANNEL_FAILURES]
    if not isinstance(body["reason"], str) or body["reason"] not in reasons:
        _invalid(f"reason must be one of: {', '.join(reasons)}")
    detail = body.get("detail", "")
    if not isinstance(detail, str) or len(detail) > MAX_DETAIL_LENGTH:
        _invalid(f"detail must be a string of at most {MAX_DETAIL_LENGTH} characters")
    return DeliveryReport(
        message_id,
        DeliveryFailureReason(body["reason"]),
        _flag(body["permanent"], "permanent"),
        detail,
    )


def parse_no_query(query: Mapping[str, str]) -> None:
    if query:
        _invalid("this resource takes no query parameters")


def parse_report_query(query: Mapping[str, str], accept: str) -> ReportQuery:
    unknown = query.keys() - REPORT_PARAMETERS
    if unknown:
        _invalid(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    as_csv = _wants_csv(query, accept)
    return ReportQuery(
        first_day=query.get("from"),
        last_day=query.get("to"),
        bucket=query.get("bucket"),
        as_csv=as_csv,
        table=_csv_table(query.get("table"), as_csv),
    )


def parse_path_id(raw: str, kind: str) -> int:
    # The route only matches digits; ids beyond the column's range do not exist.
    if len(raw) > len(str(MAX_DATABASE_ID)) or int(raw) > MAX_DATABASE_ID:
        raise NotFound(f"{kind} {raw[:20]} does not exist")
    return int(raw)


def _rasa_event(event: Any, where: str) -> RasaEvent:
    if not isinstance(event, dict):
        _invalid(f"{where} must be an object")
    event_type = event.get("event")
    if not isinstance(event_type, str) or not event_type:
        _invalid(f"{where}.event must be a non-empty string")
    if event_type not in TRANSCRIPT_ROLES:
        # Rasa's other events are not stored; their shape is Rasa's business.
        return RasaEvent(event_type, None, None, None, None)
    sender_id = _string(event.get("sender_id"), f"{where}.sender_id", max_length=255)
    timestamp = _number(event.get("timestamp"), f"{where}.timestamp")
    if not 0 <= timestamp < MAX_UNIX_TIME:
        # Stored as a date and time, which has no year past 9999.
        _invalid(f"{where}.timestamp must be a Unix time in seconds")
    text = event.get("text")
    if text is not None and not isinstance(text, str):
        _invalid(f"{where}.text must be a string or null")
    for name, value in (("sender_id", sender_id), ("text", text)):
        if value is not None and "\x00" in value:
            # PostgreSQL refuses it in text, and with it the whole transaction.
            _invalid(f"{where}.{name} must not contain a NUL character")
    metadata = event.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        _invalid(f"{where}.metadata must be an object or null")
    message_id = (metadata or {}).get("tandem_message_id")
    if message_id is not None and (
        not isinstance(message_id, int)
        or isinstance(message_id, bool)
        or not 1 <= message_id <= MAX_DATABASE_ID
    ):
        _invalid(f"{where}.metadata.tandem_message_id must be a message id")
    attachment = (metadata or {}).get("tandem_attachment")
    attachment_id = attachment.get("id") if isinstance(attachment, dict) else None
    # What the customer's channel says it carries; a file that is not theirs, or
    # an id of the wrong shape, leaves the message without one.
    return RasaEvent(
        event_type,
        sender_id,
        timestamp,
        _masked(text),
        message_id,
        attachment_id
        if event_type == "user" and is_attachment_id(attachment_id)
        else None,
    )


def _masked(text: str | None) -> str | None:
    # What the service stores and shows agents; the bot should have masked it already.
    return None if text is None else mask_personal_data(text)


def _transcript_entry(entry: Any, where: str) -> float:
    if not isinstance(entry, dict):
        _invalid(f"{where} must be an object")
    _check_fields(
        entry,
        where,
        required={"role", "text", "timestamp"},
        optional={"intent", "confidence", "emotion"},
    )
    if entry.get("emotion") is not None:
        _emotion_scores(entry["emotion"], f"{where}.emotion")
    if not isinstance(entry["role"], str) or entry["role"] not in TRANSCRIPT_ROLES:
        _invalid(f"{where}.role must be one of {sorted(TRANSCRIPT_ROLES)}")
    if entry["text"] is not None and not isinstance(entry["text"], str):
        _invalid(f"{where}.text must be a string or null")
    if entry.get("intent") is not None and not isinstance(entry["intent"], str):
        _invalid(f"{where}.intent must be a string or null")
    if entry.get("confidence") is not None:
        _number(entry["confidence"], f"{where}.confidence")
    return _number(entry["timestamp"], f"{where}.timestamp")


def _intent(intent: Any) -> None:
    if not isinstance(intent, dict):
        _invalid("intent must be an object")
    _check_fields(intent, "intent", required={"name"}, optional={"confidence"})
    # Rasa has no intent for a conversation the bot hands off on its own.
    if intent["name"] is not None:
        _string(intent["name"], "intent.name", max_length=255)
    if intent.get("confidence") is not None:
        _number(intent["confidence"], "intent.confidence")


def _entities(entities: Any) -> None:
    if not isinstance(entities, list):
        _invalid("entities must be a list")
    for index, entity in enumerate(entities):
        where = f"entities[{index}]"
        # Rasa's extractors add their own keys (start, end, extractor, …).
        if not isinstance(entity, dict) or "value" not in entity:
            _invalid(f"{where} must be an object with entity and value")
        _string(entity.get("entity"), f"{where}.entity", max_length=255)


def _offline_details(body: Mapping[str, Any], mode: HandoffMode) -> None:
    for offline_mode in (HandoffMode.CALLBACK, HandoffMode.TICKET):
        name = offline_mode.value
        if mode is offline_mode and body.get(name) is None:
            _invalid(f"mode {name} needs the {name} object")
        if mode is not offline_mode and body.get(name) is not None:
            _invalid(f"{name} is only for mode {name}")
    callback = body.get("callback")
    if callback is not None:
        if not isinstance(callback, dict):
            _invalid("callback must be an object")
        _check_fields(
            callback,
            "callback",
            required={"phone_number"},
            optional={"preferred_time"},
        )
        _string(callback["phone_number"], "callback.phone_number", max_length=32)
        if callback.get("preferred_time") is not None:
            _string(
                callback["preferred_time"], "callback.preferred_time", max_length=100
            )
    ticket = body.get("ticket")
    if ticket is not None:
        if not isinstance(ticket, dict):
            _invalid("ticket must be an object")
        _check_fields(ticket, "ticket", required={"description"})
        _bounded_text(ticket["description"], "ticket.description", MAX_TEXT_LENGTH)


def _emotion(emotion: Any) -> None:
    if not isinstance(emotion, dict):
        _invalid("emotion must be an object")
    _check_fields(emotion, "emotion", required={"scores"}, optional={"history"})
    _emotion_scores(emotion["scores"], "emotion.scores")
    history = emotion.get("history")
    if history is None:
        return
    if not isinstance(history, list) or len(history) > MAX_EMOTION_HISTORY:
        _invalid(f"emotion.history must be a list of at most {MAX_EMOTION_HISTORY}")
    for index, point in enumerate(history):
        where = f"emotion.history[{index}]"
        if not isinstance(point, dict):
            _invalid(f"{where} must be an object")
        _check_fields(point, where, required={"timestamp"}, optional=set(EMOTIONS))
        _number(point["timestamp"], f"{where}.timestamp")
        _emotion_scores(
            {key: value for key, value in point.items() if key != "timestamp"}, where
        )


def _emotion_scores(scores: Any, where: str) -> None:
    if not isinstance(scores, dict):
        _invalid(f"{where} must be an object")
    _check_fields(scores, where, required=set(), optional=set(EMOTIONS))
    for name, value in scores.items():
        if not 0.0 <= _number(value, f"{where}.{name}") <= 1.0:
            _invalid(f"{where}.{name} must be between 0 and 1")


def _verified_identity(identity: Any) -> None:
    if not isinstance(identity, dict):
        _invalid("verified_identity must be an object or null")
    _check_fields(
        identity,
        "verified_identity",
        required={"customer_id"},
        optional={"name", "phone_number", "verified_at"},
    )
    _string(identity["customer_id"], "verified_identity.customer_id", max_length=64)
    for name, limit in (("name", 128), ("phone_number", 32)):
        if identity.get(name) is not None:
            _string(identity[name], f"verified_identity.{name}", max_length=limit)
    if identity.get("verified_at") is not None:
        _number(identity["verified_at"], "verified_identity.verified_at")


def _lookups(lookups: Any) -> None:
    if not isinstance(lookups, list) or len(lookups) > MAX_LOOKUPS:
        _invalid(f"lookups must be a list of at most {MAX_LOOKUPS}")
    for index, lookup in enumerate(lookups):
        where = f"lookups[{index}]"
        if not isinstance(lookup, dict):
            _invalid(f"{where} must be an object")
        _check_fields(lookup, where, required={"kind", "summary"}, optional={"data"})
        _string(lookup["kind"], f"{where}.kind", max_length=64)
        _bounded_text(lookup["summary"], f"{where}.summary", MAX_SUMMARY_LENGTH)
        if lookup.get("data") is not None and not isinstance(lookup["data"], dict):
            _invalid(f"{where}.data must be an object")


def _summary(summary: Any) -> None:
    if not isinstance(summary, dict):
        _invalid("summary must be an object")
    _check_fields(summary, "summary", required=set(), optional=set(LANGUAGES))
    for language, text in summary.items():
        _bounded_text(text, f"summary.{language}", MAX_SUMMARY_LENGTH)


def _choice(value: Any, choices: type[E], name: str) -> E | None:
    if value is None:
        return None
    valid = [member.value for member in choices]
    if not isinstance(value, str) or value not in valid:
        _invalid(f"{name} must be one of: {', '.join(valid)}")
    return choices(value)


def _id(value: Any, name: str) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 1 <= value <= MAX_DATABASE_ID
    ):
        _invalid(f"{name} must be a positive integer id")
    return value


def _skills(value: Any) -> frozenset[Skill]:
    if not isinstance(value, list) or len(value) > len(Skill):
        _invalid("skills must be a list of skills")
    skills = frozenset(_choice(item, Skill, "skills[]") for item in value)
    return frozenset(skill for skill in skills if skill is not None)


def _capacity(value: Any) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 1 <= value <= MAX_CAPACITY
    ):
        _invalid(f"capacity must be an integer from 1 to {MAX_CAPACITY}")
    return value


def _password(value: Any) -> str:
    if not isinstance(value, str) or not MIN_PASSWORD_LENGTH <= len(value) <= 1024:
        _invalid(f"password must be {MIN_PASSWORD_LENGTH} to 1024 characters")
    return value


def _bounded_text(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str):
        _invalid(f"{name} must be a string")
    text = value.strip()
    if not 1 <= len(text) <= max_length:
        _invalid(f"{name} must be 1 to {max_length} characters")
    return text


def _placeholders(text: str) -> None:
    try:
        names = {
            name for _, name, _, _ in string.Formatter().parse(text) if name is not None
        }
    except ValueError:
        _invalid("text: write a literal brace as {{ or }}")
    unknown = names - CANNED_PLACEHOLDERS
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(CANNED_PLACEHOLDERS))
        _invalid(f"text: unknown placeholder(s) {sorted(unknown)}; use {allowed}")


def _check_fields(
    body: Mapping[str, Any],
    where: str,
    *,
    required: set[str],
    optional: set[str] | None = None,
) -> None:
    missing = required - body.keys()
    if missing:
        _invalid(f"{where}: missing field(s): {', '.join(sorted(missing))}")
    unknown = body.keys() - required - (optional or set())
    if unknown:
        _invalid(f"{where}: unknown field(s): {', '.join(sorted(unknown))}")


def _string(value: Any, name: str, *, max_length: int) -> str:
    if not isinstance(value, str):
        _invalid(f"{name} must be a string")
    if not value.strip():
        _invalid(f"{name} must not be empty")
    if len(value) > max_length:
        _invalid(f"{name} must be at most {max_length} characters")
    return value


def _message_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        _invalid(f"{name} must be a string")
    text = value.strip()
    if not 1 <= len(text) <= MAX_TEXT_LENGTH:
        _invalid(f"{name} must be 1 to {MAX_TEXT_LENGTH} characters")
    return text


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _invalid(f"{name} must be a number")
    try:
        number = float(value)
    except OverflowError:
        _invalid(f"{name} is out of range")
    if not math.isfinite(number):
        _invalid(f"{name} must be finite")
    return number


def _rating_sender_id(body: Mapping[str, Any]) -> str:
    sender_id = body["sender_id"]
    if not isinstance(sender_id, str) or not sender_id.strip():
        _invalid("sender_id must be a non-empty string")
    if len(sender_id) > 255:
        _invalid("sender_id must be at most 255 characters")
    return sender_id


def _checked_comment(comment: str) -> str | None:
    stripped = comment.strip() or None
    if stripped is not None and len(stripped) > MAX_COMMENT_LENGTH:
        _invalid(f"comment must be at most {MAX_COMMENT_LENGTH} characters")
    return stripped


def _wants_csv(query: Mapping[str, str], accept: str) -> bool:
    requested = query.get("format")
    if requested is not None:
        if requested not in REPORT_FORMATS:
            _invalid("format must be json or csv")
        return requested == "csv"
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "text/csv" in media_types and "application/json" not in media_types


def _csv_table(raw: str | None, as_csv: bool) -> CsvTable:
    if raw is None:
        return CsvTable.BUCKETS
    if not as_csv:
        _invalid("table applies to the CSV export only")
    try:
        return CsvTable(raw)
    except ValueError:
        valid = ", ".join(table.value for table in CsvTable)
        _invalid(f"table must be one of: {valid}")


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        _invalid(f"{name} must be true or false")
    return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _query_number(raw: str | None, name: str, maximum: int) -> int | None:
    """A whole number from 1 to ``maximum`` in the query string, if given."""
    if raw is None:
        return None
    if not (
        raw.isascii()
        and raw.isdigit()
        and len(raw) <= len(str(maximum))
        and 1 <= int(raw) <= maximum
    ):
        _invalid(f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


def _invalid(message: str) -> NoReturn:
    raise InvalidRequest(message)
