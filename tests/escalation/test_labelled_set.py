"""The labelled escalation set: it loads, it is as large and as balanced as the
benchmark needs, and the loader refuses malformed items with a clear message."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bench.escalation_set import (
    REASONS,
    TRIGGER_BY_REASON,
    LabelledSetError,
    load_conversations,
    load_messages,
)

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
COMPLEX_TOPICS = {r for r, t in TRIGGER_BY_REASON.items() if t == "complex_topic"}


def test_the_messages_are_many_bilingual_and_mostly_need_a_person() -> None:
    messages = load_messages()
    assert len(messages) >= 300
    languages = Counter(message.label.language for message in messages)
    assert 0.45 <= languages["ko"] / len(messages) <= 0.55
    simple = sum(not message.label.needs_person for message in messages)
    assert 0.35 <= simple / len(messages) <= 0.45


def test_every_single_message_reason_is_there_in_both_languages() -> None:
    seen = Counter(
        (message.label.reason, message.label.language) for message in load_messages()
    )
    single_message_reasons = REASONS - {"bot_not_understanding", "verification_failed"}
    for reason in single_message_reasons:
        for language in ("ko", "en"):
            assert seen[reason, language] >= 4, (reason, language)


def test_the_conversations_cover_every_kind_the_benchmark_reports() -> None:
    conversations = load_conversations()
    assert len(conversations) >= 40
    languages = Counter(c.label.language for c in conversations)
    assert languages["ko"] >= 20
    assert languages["en"] >= 20
    reasons = Counter(c.label.reason for c in conversations)
    assert reasons[None] >= 10, "calm conversations that must stay with the bot"
    for reason in (
        "frustrated_customer",
        "technical_fault",
        "verification_failed",
        "bot_not_understanding",
        "human_requested",
    ):
        assert reasons[reason] >= 2, reason
    assert COMPLEX_TOPICS & set(reasons)


def test_the_language_label_matches_the_text() -> None:
    texts = [(m.label.language, m.text) for m in load_messages()]
    texts += [(c.label.language, " ".join(c.turns)) for c in load_conversations()]
    for language, text in texts:
        assert (HANGUL.search(text) is not None) == (language == "ko"), text


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("messages: []\n", "version: 1"),
        ("version: 1\nmessages: [\n", "not valid YAML"),
        ("version: 1\nmessages: []\n", "non-empty list"),
        (
            "version: 1\nmessages:\n"
            "  - {language: ko, needs_person: true, reason: lonely, text: hi}\n",
            "message 1: unknown reason 'lonely'",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: false, reason: cancellation, text: hi}\n",
            "a simple request has reason null",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: fr, needs_person: false, reason: null, text: salut}\n",
            "language must be 'ko' or 'en'",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: 'yes', reason: null, text: hi}\n",
            "needs_person must be true or false",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: false, reason: null, text: '  '}\n",
            "text must be a non-empty string",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: false, reason: null, text: hi,"
            " mood: ok}\n",
            "unknown key(s) mood",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: false, reason: null, text: hi}\n"
            "  - {language: en, needs_person: false, reason: null, text: hi}\n",
            "duplicate text 'hi'",
        ),
        (
            "version: 1\nmessages:\n"
            "  - {language: en, needs_person: true, reason: cancellation,"
            " accept: [sadness], text: bye}\n",
            "accept must be a list of reason codes",
        ),
    ],
)
def test_malformed_messages_are_refused_with_the_place_and_the_fault(
    tmp_path: Path, document: str, complaint: str
) -> None:
    path = write(tmp_path, "messages.yml", document)
    with pytest.raises(LabelledSetError) as refused:
        load_messages(path)
    assert complaint in str(refused.value)


@pytest.mark.parametrize(
    ("conversation", "complaint"),
    [
        (
            "{id: c, language: en, needs_person: true, reason: cancellation,"
            " handoff_by_turn: 3, turns: [hi, cancel]}",
            "handoff_by_turn 3 is not one of its 2 turns",
        ),
        (
            "{id: c, language: en, needs_person: true, reason: cancellation,"
            " turns: [hi, cancel]}",
            "handoff_by_turn must be a turn number",
        ),
        (
            "{id: c, language: en, needs_person: false, reason: null,"
            " handoff_by_turn: 1, turns: [hi]}",
            "handoff_by_turn without needs_person",
        ),
        (
            "{id: c, language: en, needs_person: false, reason: null, turns: []}",
            "turns must be a list of 1-8",
        ),
        (
            "{language: en, needs_person: false, reason: null, turns: [hi]}",
            "id must be a non-empty string",
        ),
    ],
)
def test_malformed_conversations_are_refused(
    tmp_path: Path, conversation: str, complaint: str
) -> None:
    path = write(
        tmp_path,
        "conversations.yml",
        f"version: 1\nconversations:\n  - {conversation}\n",
    )
    with pytest.raises(LabelledSetError) as refused:
        load_conversations(path)
    assert complaint in str(refused.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LabelledSetError, match="cannot read"):
        load_messages(tmp_path / "nowhere.yml")
