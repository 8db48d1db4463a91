"""The labelled escalation set in tests/escalation/: loading and validation.

Every item says whether the customer needs a person and, if so, why, in the handoff
reason codes the bot and the handoff service share. A mistake in the files stops the
benchmark with the file, the item and what is wrong, before anything is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SET_FOLDER = ROOT / "tests" / "escalation"

# The reason codes of the handoff vocabulary, with the trigger each belongs to.
TRIGGER_BY_REASON: Mapping[str, str] = {
    "human_requested": "explicit_request",
    "technical_fault": "complex_topic",
    "broken_device": "complex_topic",
    "contract_change": "complex_topic",
    "cancellation": "complex_topic",
    "billing_dispute": "complex_topic",
    "discount_request": "complex_topic",
    "moving_abroad": "complex_topic",
    "bereavement": "complex_topic",
    "angry_customer": "emotion",
    "frustrated_customer": "emotion",
    "distressed_customer": "emotion",
    "bot_not_understanding": "repeated_failure",
    "verification_failed": "verification_failed",
}
REASONS = frozenset(TRIGGER_BY_REASON)
LANGUAGES = frozenset({"ko", "en"})
TOPICS = frozenset(
    {
        "bill",
        "payment",
        "autopay",
        "plan",
        "signup",
        "outage",
        "faq",
        "greeting",
        "thanks",
        "goodbye",
        "small_talk",
    }
)
MAX_TEXT_CHARS = 1000
MAX_TURNS = 8


class LabelledSetError(ValueError):
    """The labelled set is malformed; the message names the file and the item."""


@dataclass(frozen=True)
class Label:
    language: str
    needs_person: bool
    reason: str | None
    # Other reasons an agent would find equally right for a debatable item.
    accept: frozenset[str]
    note: str | None

    def accepts(self, reason: str | None) -> bool:
        return reason is not None and (reason == self.reason or reason in self.accept)

    def accepts_trigger(self, trigger: str | None) -> bool:
        reasons = [self.reason, *self.accept]
        return trigger in {TRIGGER_BY_REASON[reason] for reason in reasons if reason}


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    text: str
    topic: str | None
    label: Label


@dataclass(frozen=True)
class LabelledConversation:
    id: str
    turns: tuple[str, ...]
    handoff_by_turn: int | None
    label: Label


def load_messages(path: Path = SET_FOLDER / "messages.yml") -> list[LabelledMessage]:
    items = _items(path, "messages")
    messages = []
    for index, item in enumerate(items, start=1):
        where = f"{path.name}, message {index}"
        _only_keys(item, where, {"text", "topic"})
        label = _label(item, where)
        topic = _optional_str(item, "topic", where)
        if topic is not None and topic not in TOPICS:
            raise LabelledSetError(f"{where}: unknown topic {topic!r}")
        if topic is not None and label.needs_person:
            raise LabelledSetError(f"{where}: a topic belongs to simple requests only")
        messages.append(
            LabelledMessage(
                id=f"m{index:03d}",
                text=_text(item.get("text"), f"{where}: text"),
                topic=topic,
                label=label,
            )
        )
    _no_duplicates([message.text for message in messages], path.name, "text")
    return messages


def load_conversations(
    path: Path = SET_FOLDER / "conversations.yml",
) -> list[LabelledConversation]:
    items = _items(path, "conversations")
    conversations = []
    for index, item in enumerate(items, start=1):
        where = f"{path.name}, conversation {index}"
        _only_keys(item, where, {"id", "turns", "handoff_by_turn"})
        label = _label(item, where)
        conversation_id = item.get("id")
        if not isinstance(conversation_id, str) or not conversation_id.strip():
            raise LabelledSetError(f"{where}: id must be a non-empty string")
        where = f"{path.name}, conversation {conversation_id!r}"
        turns = item.get("turns")
        if not isinstance(turns, list) or not 1 <= len(turns) <= MAX_TURNS:
            raise LabelledSetError(f"{where}: turns must be a list of 1-{MAX_TURNS}")
        texts = tuple(
            _text(turn, f"{where}: turn {number}")
            for number, turn in enumerate(turns, start=1)
        )
        by_turn = item.get("handoff_by_turn")
        if label.needs_person:
            if not isinstance(by_turn, int) or isinstance(by_turn, bool):
                raise LabelledSetError(
                    f"{where}: handoff_by_turn must be a turn number"
                )
            if not 1 <= by_turn <= len(texts):
                raise LabelledSetError(
                    f"{where}: handoff_by_turn {by_turn} is not one of its "
                    f"{len(texts)} turns"
                )
        elif by_turn is not None:
            raise LabelledSetError(f"{where}: handoff_by_turn without needs_person")
        conversations.append(
            LabelledConversation(
                id=conversation_id,
                turns=texts,
                handoff_by_turn=by_turn,
                label=label,
            )
        )
    _no_duplicates([c.id for c in conversations], path.name, "id")
    return conversations


def _items(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as error:
        raise LabelledSetError(f"cannot read {path}: {error}") from None
    except yaml.YAMLError as error:
        raise LabelledSetError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise LabelledSetError(f"{path.name}: expected a mapping with 'version: 1'")
    items = document.get(key)
    if not isinstance(items, list) or not items:
        raise LabelledSetError(f"{path.name}: '{key}' must be a non-empty list")
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise LabelledSetError(f"{path.name}: item {index} is not a mapping")
    return items


LABEL_KEYS = frozenset({"language", "needs_person", "reason", "accept", "note"})


def _only_keys(item: Mapping[str, Any], where: str, own: set[str]) -> None:
    unknown = set(item) - LABEL_KEYS - own
    if unknown:
        raise LabelledSetError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _label(item: Mapping[str, Any], where: str) -> Label:
    language = item.get("language")
    if language not in LANGUAGES:
        raise LabelledSetError(f"{where}: language must be 'ko' or 'en'")
    needs_person = item.get("needs_person")
    if not isinstance(needs_person, bool):
        raise LabelledSetError(f"{where}: needs_person must be true or false")
    reason = item.get("reason")
    if needs_person and reason not in REASONS:
        raise LabelledSetError(f"{where}: unknown reason {reason!r}")
    if not needs_person and reason is not None:
        raise LabelledSetError(f"{where}: a simple request has reason null")
    accept = item.get("accept", [])
    if not isinstance(accept, list) or not set(accept) <= REASONS:
        raise LabelledSetError(f"{where}: accept must be a list of reason codes")
    if accept and not needs_person:
        raise LabelledSetError(f"{where}: accept belongs to items that need a person")
    return Label(
        language=language,
        needs_person=needs_person,
        reason=reason,
        accept=frozenset(accept),
        note=_optional_str(item, "note", where),
    )


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelledSetError(f"{where} must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise LabelledSetError(f"{where} is over {MAX_TEXT_CHARS} characters")
    return value


def _optional_str(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise LabelledSetError(f"{where}: {key} must be a string")
    return value


def _no_duplicates(values: list[str], file_name: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise LabelledSetError(f"{file_name}: duplicate {what} {value!r}")
        seen.add(value)
