"""Rules on top of the model, for signals that are more reliable than it is.

- Profanity and insults (``data/profanity.txt``) put anger at 0.8 or more: the
  public data sets are comments about third parties, so a curse aimed at the operator
  is easy for the model to underrate.
- Words of bereavement, fear and despair (``data/distress_words.txt``) put distress at
  0.8 or more: "어머니가 돌아가셨어요" is a polite, calm sentence, and the model reads
  the calm.
- ALL-CAPS shouting and repeated ``!!!``/``???`` are intensifiers: they move anger and
  frustration halfway to 1, but only when the model already leans that way (0.4 or
  more, 0.5 being the decision), because "THANK YOU!!!" shouts too and online comments
  shout for fun.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.emotion.labels import ANGER, DISTRESS, FRUSTRATION

DATA_DIR = Path(__file__).parent / "data"
LEXICON_FLOOR = 0.8
INTENSIFY_FROM = 0.4

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_REPEATED_PUNCTUATION = re.compile(r"[!?！？]{3,}")
_CAPS_WORD = re.compile(r"\b[A-Z]{2,}\b")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
# Shouting needs several capitalised words: one or two are acronyms (SIM, IPTV, LTE).
_MIN_CAPS_WORDS = 3
_MIN_CAPS_SHARE = 0.7


class Lexicon:
    """A list of words and phrases, matched the way ``data/*.txt`` explains."""

    def __init__(self, entries: list[str]) -> None:
        alternatives = []
        for entry in entries:
            prefix = entry.endswith("*")
            body = re.escape(entry.rstrip("*").lower())
            if not body:
                raise ValueError(f"empty lexicon entry {entry!r}")
            if HANGUL.search(entry):
                alternatives.append(body)
            else:
                tail = r"\w*" if prefix else ""
                alternatives.append(rf"\b{body}{tail}\b")
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    @classmethod
    def from_file(cls, path: Path) -> Lexicon:
        lines = path.read_text("utf-8").splitlines()
        return cls([line.strip() for line in lines if line.strip() and line[0] != "#"])

    def matches(self, text: str) -> bool:
        return (
            self._pattern is not None and self._pattern.search(text.lower()) is not None
        )


@dataclass(frozen=True)
class RuleHits:
    """Which rules fired on a text."""

    profanity: bool
    distress_words: bool
    shouting: bool
    repeated_punctuation: bool


def is_shouting(text: str) -> bool:
    letters = _LATIN_LETTER.findall(text)
    if len(_CAPS_WORD.findall(text)) < _MIN_CAPS_WORDS:
        return False
    upper = sum(letter.isupper() for letter in letters)
    return upper >= _MIN_CAPS_SHARE * len(letters)


RULE_NAMES: tuple[str, ...] = (
    "profanity",
    "distress_words",
    "shouting",
    "repeated_punctuation",
)


class EmotionRules:
    def __init__(
        self,
        profanity: Lexicon,
        distress_words: Lexicon,
        enabled: Iterable[str] = RULE_NAMES,
    ) -> None:
        self.profanity = profanity
        self.distress_words = distress_words
        self.enabled = frozenset(enabled)
        unknown = self.enabled - set(RULE_NAMES)
        if unknown:
            raise ValueError(
                f"unknown emotion rules {sorted(unknown)}; known: {list(RULE_NAMES)}"
            )

    @classmethod
    def from_data_dir(
        cls, data_dir: Path = DATA_DIR, enabled: Iterable[str] = RULE_NAMES
    ) -> EmotionRules:
        return cls(
            Lexicon.from_file(data_dir / "profanity.txt"),
            Lexicon.from_file(data_dir / "distress_words.txt"),
            enabled,
        )

    def hits(self, text: str) -> RuleHits:
        return RuleHits(
            profanity=self.profanity.matches(text),
            distress_words=self.distress_words.matches(text),
            shouting=is_shouting(text),
            repeated_punctuation=_REPEATED_PUNCTUATION.search(text) is not None,
        )

    def apply(self, text: str, scores: dict[str, float]) -> dict[str, float]:
        """Returns ``scores`` (the model's) adjusted by the enabled rules that fire."""
        hits = self.hits(text)
        fired = {name for name in self.enabled if getattr(hits, name)}
        adjusted = dict(scores)
        if fired & {"shouting", "repeated_punctuation"}:
            for emotion in (ANGER, FRUSTRATION):
                if adjusted[emotion] >= INTENSIFY_FROM:
                    adjusted[emotion] += (1.0 - adjusted[emotion]) / 2
        if "profanity" in fired:
            adjusted[ANGER] = max(adjusted[ANGER], LEXICON_FLOOR)
        if "distress_words" in fired:
            adjusted[DISTRESS] = max(adjusted[DISTRESS], LEXICON_FLOOR)
        return adjusted
