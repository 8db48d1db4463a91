"""The detector's floor on the labelled set; bench/pii.py reports the figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.pii_set import LabelledSetError, Span, load_messages, score
from bot.personal_data import DEFAULT_PATTERNS_FILE, PersonalDataMasker, read_kinds


def test_the_set_is_large_bilingual_and_full_of_near_misses() -> None:
    messages = load_messages()
    assert len(messages) >= 80
    korean = sum(any("가" <= char <= "힣" for char in m.text) for m in messages)
    assert 0.4 <= korean / len(messages) <= 0.7
    assert sum(not message.spans for message in messages) >= 30


def test_recall_and_precision_on_the_labelled_set() -> None:
    masker = PersonalDataMasker(read_kinds(DEFAULT_PATTERNS_FILE))

    def find(text: str) -> list[Span]:
        return [Span(f.entity, f.start, f.end) for f in masker.find(text)]

    overall = score(load_messages(), find)["all"]

    assert overall.recall >= 0.95
    assert overall.precision >= 0.9


def test_a_span_not_in_its_text_is_refused() -> None:
    path = Path(__file__).parent.parent / "pii/misplaced_span.yml"
    with pytest.raises(LabelledSetError, match="'010-9999-5678' must occur once"):
        load_messages(path)
