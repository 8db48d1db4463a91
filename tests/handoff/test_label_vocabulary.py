"""The staff pages' vocabulary (handoff/static/labels.json) has a Korean and an
English word for every code the service can send, as handoff/openapi.yaml lists
them, for every slot of the bot's domain, and for every word the pages ask for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff.api.views.api_document import openapi_document

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "handoff" / "static"
VOCABULARY: dict[str, dict[str, dict[str, str]]] = json.loads(
    (STATIC / "labels.json").read_text("utf-8")
)
LANGUAGES = ("ko", "en")
# Codes the pages make themselves, when the service could not be asked.
CLIENT_ERRORS = {"network_error", "bad_response"}


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return found


def enum(name: str) -> set[str]:
    return {value for value in schema(name)["enum"] if value is not None}


DOCUMENTED = {
    "reason": enum("HandoffReason"),
    "trigger": enum("Trigger"),
    "skill": enum("Skill"),
    "priority": enum("Priority"),
    "status": enum("HandoffStatus"),
    "agent_status": enum("AgentStatus"),
    "resolution": enum("Resolution"),
    "mode": enum("HandoffMode"),
    "channel": enum("ChannelKind"),
    "emotion": set(schema("EmotionScores")["properties"]),
    "language": enum("Language"),
    "role": enum("MessageRole"),
    "staff_role": enum("AgentRole"),
    "delivery": enum("Delivery"),
    "refusal": enum("RefusalKind"),
    "error": enum("ErrorCode") | CLIENT_ERRORS,
}


@pytest.mark.parametrize("section", sorted(DOCUMENTED))
def test_every_documented_code_has_words(section: str) -> None:
    """Fails when the document gains a value the vocabulary lacks, and the other
    way round: words for a code the service no longer sends are dead."""
    assert set(VOCABULARY[section]) == DOCUMENTED[section]


def test_every_slot_of_the_bot_has_words() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text("utf-8"))
    assert set(VOCABULARY["slot"]) == set(domain["slots"])


ENTRIES = [
    (section, code, words)
    for section, entries in VOCABULARY.items()
    for code, words in entries.items()
]


@pytest.mark.parametrize(
    ("section", "code", "words"),
    ENTRIES,
    ids=[f"{section}.{code}" for section, code, _ in ENTRIES],
)
def test_each_word_exists_in_both_languages_with_the_same_placeholders(
    section: str, code: str, words: dict[str, str]
) -> None:
    assert set(words) == set(LANGUAGES)
    assert all(
        isinstance(words[lang], str) and words[lang].strip() for lang in LANGUAGES
    )
    placeholders = [set(re.findall(r"\{(\w+)\}", words[lang])) for lang in LANGUAGES]
    assert placeholders[0] == placeholders[1]


def page_sources() -> str:
    return "\n".join(
        path.read_text("utf-8")
        for path in sorted(STATIC.iterdir())
        if path.suffix in {".js", ".html"}
    )


# t("key"), t(condition ? "key" : "key"), both("ui", "key"), label("ui", "key"),
# data-label="key", data-label-title="key" …
USES = [
    re.compile(r"""\bt\(\s*"(\w+)\""""),
    re.compile(r"""\bt\([^()"]*\?\s*"(\w+)"\s*:\s*"(\w+)\""""),
    re.compile(r"""\b(?:both|label)\(\s*"ui",\s*"(\w+)\""""),
    re.compile(r"""data-label(?:-[\w-]+)?="(\w+)\""""),
]


def test_every_word_a_page_asks_for_exists() -> None:
    sources = page_sources()
    asked = {
        key
        for pattern in USES
        for match in pattern.finditer(sources)
        for key in match.groups()
    }
    assert asked, "the patterns no longer find the pages' words"
    assert asked - set(VOCABULARY["ui"]) == set()


def test_every_word_of_the_pages_is_used() -> None:
    sources = page_sources()
    unused = {key for key in VOCABULARY["ui"] if f'"{key}"' not in sources}
    assert unused == set()
