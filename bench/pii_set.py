"""The labelled personal-data set (tests/pii/labelled_messages.yml) and how a
detector is scored on it: a found span counts only if its kind, start and end are a
labelled span's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

REPOSITORY = Path(__file__).resolve().parent.parent
LABELLED_SET = REPOSITORY / "tests/pii/labelled_messages.yml"


class LabelledSetError(ValueError):
    """The labelled set does not say what it should."""


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    spans: frozenset[Span]


@dataclass(frozen=True)
class Score:
    kind: str
    labelled: int
    found: int
    right: int

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.labelled if self.labelled else 1.0


def load_messages(path: Path = LABELLED_SET) -> list[LabelledMessage]:
    messages = []
    for index, item in enumerate(yaml.safe_load(path.read_text("utf-8"))["messages"]):
        text = item["text"]
        spans = set()
        for span in item.get("spans") or []:
            start = text.find(span["text"])
            if start == -1 or text.find(span["text"], start + 1) != -1:
                raise LabelledSetError(
                    f"messages[{index}]: {span['text']!r} must occur once in its text"
                )
            spans.add(Span(span["kind"], start, start + len(span["text"])))
        messages.append(LabelledMessage(text, frozenset(spans)))
    return messages


def score(
    messages: Iterable[LabelledMessage], find: Callable[[str], Iterable[Span]]
) -> dict[str, Score]:
    """Precision and recall per kind, and over all kinds under ``"all"``."""
    labelled: Counter[str] = Counter()
    found: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for message in messages:
        spans = set(find(message.text))
        for span in message.spans:
            labelled[span.kind] += 1
            labelled["all"] += 1
        for span in spans:
            found[span.kind] += 1
            found["all"] += 1
            if span in message.spans:
                right[span.kind] += 1
                right["all"] += 1
    return {
        kind: Score(kind, labelled[kind], found[kind], right[kind])
        for kind in sorted(labelled | found)
    }
