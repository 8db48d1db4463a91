"""Masks the personal data in text that reaches the service from the bot.

The bot masks customers' messages before its tracker store keeps them or its event
broker sends them here; this is the second line of defence, for anything that arrives
unmasked anyway (an older bot, a transcript built from raw text). It reads the same
``personal_data.yml`` as the bot and applies its patterns and checksums with ``re``
alone, so the service needs neither Presidio nor spaCy. Masked text keeps its length:
``940921-1234560`` becomes ``9409**-*******``.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

PATTERNS_FILE = Path(__file__).resolve().parents[2] / "personal_data.yml"
RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# The seventh digit of a resident registration number gives its century.
RRN_CENTURIES = {"1": 1900, "2": 1900, "5": 1900, "6": 1900}
RRN_CENTURIES |= {"3": 2000, "4": 2000, "7": 2000, "8": 2000}


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def rrn_is_valid(digits: str) -> bool:
    if len(digits) != 13 or digits[6] not in RRN_CENTURIES:
        return False
    try:
        datetime.date(
            RRN_CENTURIES[digits[6]] + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
        )
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(digits, RRN_WEIGHTS, strict=False))
    return (11 - total % 11) % 10 == int(digits[12])


CHECKSUMS: dict[str | None, Callable[[str], bool]] = {
    None: lambda _digits: True,
    "luhn": luhn_is_valid,
    "rrn": rrn_is_valid,
}


@dataclass(frozen=True)
class Kind:
    patterns: tuple[re.Pattern[str], ...]
    checksum: Callable[[str], bool]
    min_digits: int
    keep_first: int
    keep_last: int


def read_kinds(path: Path) -> list[Kind]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    kinds = []
    for entity, spec in document["kinds"].items():
        if spec.get("checksum") not in CHECKSUMS:
            raise ValueError(f"{entity}: unknown checksum {spec['checksum']!r}")
        kinds.append(
            Kind(
                patterns=tuple(re.compile(regex) for regex in spec["patterns"]),
                checksum=CHECKSUMS[spec.get("checksum")],
                min_digits=int(spec.get("min_digits", 0)),
                keep_first=int(spec["keep_first"]),
                keep_last=int(spec["keep_last"]),
            )
        )
    return kinds


def mask_with(kinds: list[Kind], text: str) -> str:
    """``text`` with the digits of every valid match masked; of overlapping matches
    the first to start, then the longest, wins."""
    if not any(char.isdigit() for char in text):
        return text
    spans: list[tuple[int, int, Kind]] = []
    for kind in kinds:
        for pattern in kind.patterns:
            for match in pattern.finditer(text):
                digits = "".join(c for c in match.group() if c.isdigit())
                if len(digits) >= kind.min_digits and kind.checksum(digits):
                    spans.append((match.start(), match.end(), kind))
    spans.sort(key=lambda span: (span[0], -span[1]))
    masked = list(text)
    end_of_last = 0
    for start, end, kind in spans:
        if start < end_of_last:
            continue
        end_of_last = end
        positions = [index for index in range(start, end) if text[index].isdigit()]
        for index in positions[kind.keep_first : len(positions) - kind.keep_last]:
            masked[index] = "*"
    return "".join(masked)


@functools.cache
def _shipped_kinds() -> list[Kind]:
    return read_kinds(PATTERNS_FILE)


def mask_personal_data(text: str) -> str:
    """``text`` with its card, resident registration, phone and account numbers
    masked by the patterns of ``personal_data.yml``."""
    return mask_with(_shipped_kinds(), text)
