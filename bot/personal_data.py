"""Finds the personal data in a customer's message and masks it before it is stored.

Detection is Microsoft Presidio's: its ``CreditCardRecognizer`` (with the Luhn check)
and ``PhoneRecognizer`` (python-phonenumbers, for numbers in international formats),
and pattern recognisers for the Korean formats, all built from ``personal_data.yml``,
which the handoff service reads too. Presidio runs on a blank spaCy pipeline: the
recognisers used here need tokens only, so no spaCy model is loaded or downloaded.
Presidio's URL and e-mail recognisers are left out; they would make tldextract fetch
the public suffix list on first use.

Masking keeps a message's length (``010-1234-5678`` becomes ``010-****-5678``), so the
offsets of the entities the NLU found in the raw text still point at the same words.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
import yaml
from presidio_analyzer import (
    AnalyzerEngine,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
)
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    PhoneRecognizer,
)

DEFAULT_PATTERNS_FILE = Path(__file__).resolve().parent.parent / "personal_data.yml"
# Presidio needs a language code; the patterns do not depend on it, and the
# multi-language tokenizer ("xx") splits Korean and English alike.
LANGUAGE = "en"
# Numbers written without a country code are checked against Korea's numbering plan
# only; with a "+" any country's applies. Adding "US" would take order numbers such
# as 2024-123456 for Washington numbers.
PHONE_REGIONS = ("KR",)
# Below this Presidio's own guesses (a phone number that merely parses) stay text.
MIN_SCORE = 0.4
RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# The seventh digit of an RRN gives the century of the birth date.
RRN_CENTURIES = {"1": 1900, "2": 1900, "3": 2000, "4": 2000}
RRN_CENTURIES |= {"5": 1900, "6": 1900, "7": 2000, "8": 2000}


@dataclass(frozen=True)
class Kind:
    """One kind of personal data, as personal_data.yml describes it."""

    entity: str
    patterns: tuple[str, ...]
    checksum: str | None
    min_digits: int
    score: float
    keep_first: int
    keep_last: int


@dataclass(frozen=True)
class Finding:
    entity: str
    start: int
    end: int


def read_kinds(path: Path) -> dict[str, Kind]:
    """The kinds of personal data described in ``path``."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        entity: Kind(
            entity=entity,
            patterns=tuple(spec["patterns"]),
            checksum=spec.get("checksum"),
            min_digits=int(spec.get("min_digits", 0)),
            score=float(spec["score"]),
            keep_first=int(spec["keep_first"]),
            keep_last=int(spec["keep_last"]),
        )
        for entity, spec in document["kinds"].items()
    }


def rrn_is_valid(text: str) -> bool:
    """Whether an RRN's birth date exists and its check digit is right."""
    digits = [char for char in text if char.isdigit()]
    if len(digits) != 13 or digits[6] not in RRN_CENTURIES:
        return False
    year = RRN_CENTURIES[digits[6]] + int("".join(digits[0:2]))
    try:
        datetime.date(year, int("".join(digits[2:4])), int("".join(digits[4:6])))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(digits, RRN_WEIGHTS, strict=False))
    return (11 - total % 11) % 10 == int(digits[12])


class RrnRecognizer(PatternRecognizer):
    """주민등록번호, kept only when its date and check digit are valid."""

    def validate_result(self, pattern_text: str) -> bool:
        return rrn_is_valid(pattern_text)


def _patterns(kind: Kind) -> list[Pattern]:
    return [
        Pattern(f"{kind.entity.lower()}_{index}", regex, kind.score)
        for index, regex in enumerate(kind.patterns)
    ]


def _recognizers(kinds: Mapping[str, Kind]) -> list[Any]:
    recognizers: list[Any] = [PhoneRecognizer(supported_regions=PHONE_REGIONS)]
    for kind in kinds.values():
        if kind.checksum == "luhn":
            recognizers.append(
                CreditCardRecognizer(
                    patterns=_patterns(kind), supported_entity=kind.entity
                )
            )
        elif kind.checksum == "rrn":
            recognizers.append(
                RrnRecognizer(supported_entity=kind.entity, patterns=_patterns(kind))
            )
        elif kind.checksum is None:
            recognizers.append(
                PatternRecognizer(
                    supported_entity=kind.entity, patterns=_patterns(kind)
                )
            )
        else:
            raise ValueError(f"{kind.entity}: unknown checksum {kind.checksum!r}")
    return recognizers


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on a blank pipeline: tokens only, no model."""

    def __init__(self) -> None:
        self.nlp = {LANGUAGE: spacy.blank("xx")}


class PersonalDataMasker:
    """Finds and masks the kinds of personal data of one patterns file."""

    def __init__(self, kinds: Mapping[str, Kind]) -> None:
        self.kinds = dict(kinds)
        registry = RecognizerRegistry()
        for recognizer in _recognizers(self.kinds):
            registry.add_recognizer(recognizer)
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=BlankSpacyNlpEngine(),
            supported_languages=[LANGUAGE],
            default_score_threshold=MIN_SCORE,
        )

    def find(self, text: str) -> list[Finding]:
        """The personal data in ``text``, in order, overlaps merged into the
        longest."""
        if not any(char.isdigit() for char in text):
            return []
        results = sorted(
            self.analyzer.analyze(text=text, language=LANGUAGE),
            key=lambda result: (result.start, -result.end),
        )
        findings: list[Finding] = []
        for result in results:
            if findings and result.start < findings[-1].end:
                continue
            digits = sum(char.isdigit() for char in text[result.start : result.end])
            if digits < self.kinds[result.entity_type].min_digits:
                continue
            findings.append(Finding(result.entity_type, result.start, result.end))
        return findings

    def mask(self, text: str) -> str:
        """``text`` with the digits of its personal data masked."""
        masked = list(text)
        for finding in self.find(text):
            _mask_span(masked, finding, self.kinds[finding.entity])
        return "".join(masked)


def _mask_span(chars: list[str], finding: Finding, kind: Kind) -> None:
    positions = [
        index for index in range(finding.start, finding.end) if chars[index].isdigit()
    ]
    hidden = positions[kind.keep_first : len(positions) - kind.keep_last]
    for index in hidden:
        chars[index] = "*"


@functools.cache
def default_masker() -> PersonalDataMasker:
    """The masker of personal_data.yml, built once a process: Presidio's set-up
    takes a moment."""
    return PersonalDataMasker(read_kinds(DEFAULT_PATTERNS_FILE))


def mask_event(data: dict[str, Any], masker: PersonalDataMasker) -> dict[str, Any]:
    """A user or bot event's dict with its text (and a user event's parse_data)
    masked; the other events as they are. Bot messages count: some repeat the
    number the customer typed ("I couldn't find an account with 010-…")."""
    if data.get("event") not in ("user", "bot"):
        return data
    masked = dict(data)
    if isinstance(data.get("text"), str):
        masked["text"] = masker.mask(data["text"])
    parse_data = data.get("parse_data")
    if isinstance(parse_data, dict):
        masked["parse_data"] = {
            **parse_data,
            "text": _mask_if_text(parse_data.get("text"), masker),
            # An entity's value is a copy of the number; the slot it fills keeps it.
            "entities": [
                {**entity, "value": _mask_if_text(entity.get("value"), masker)}
                if isinstance(entity, dict)
                else entity
                for entity in parse_data.get("entities") or []
            ],
        }
    return masked


def _mask_if_text(value: Any, masker: PersonalDataMasker) -> Any:
    return masker.mask(value) if isinstance(value, str) else value
