"""Plan names as customers write them ("슬림", "5g slim", "데이터33 요금제"), mapped to
the catalogue's own names."""

from __future__ import annotations

import re

# Spelling variants of each catalogue plan, written without spaces or hyphens.
ALIASES = {
    "5G 프리미어 에센셜": [
        "5g프리미어에센셜",
        "프리미어에센셜",
        "프리미어",
        "5gpremieressential",
        "premieressential",
        "premier",
    ],
    "5G 스탠다드": ["5g스탠다드", "스탠다드", "스탠더드", "5gstandard", "standard"],
    "5G 슬림": ["5g슬림", "슬림", "5gslim", "slim"],
    "LTE 데이터 33": ["lte데이터33", "데이터33", "lte33", "ltedata33", "data33"],
    "LTE 시니어": ["lte시니어", "시니어", "ltesenior", "senior"],
    "기가 인터넷 500M": [
        "기가인터넷500m",
        "인터넷500m",
        "500메가",
        "gigainternet500m",
        "internet500m",
        "giga500m",
        "500m",
    ],
    "기가 인터넷 1G": [
        "기가인터넷1g",
        "인터넷1g",
        "1기가",
        "gigainternet1g",
        "internet1g",
        "giga1g",
        "1g",
    ],
}
# Longest aliases first: "5g슬림" wins over "슬림", "프리미어에센셜" over "프리미어".
_ALIAS_ORDER = sorted(
    ((alias, plan) for plan, aliases in ALIASES.items() for alias in aliases),
    key=lambda pair: -len(pair[0]),
)
_SQUEEZE = re.compile(r"[\s\-_.·]+")


def squeeze(text: str) -> str:
    return _SQUEEZE.sub("", text.lower())


def plans_in_text(text: str) -> list[str]:
    """Every catalogue plan named in ``text``, in the order they appear."""
    squeezed = squeeze(text)
    found: list[tuple[int, str]] = []
    for alias, plan in _ALIAS_ORDER:
        position = squeezed.find(alias)
        while position >= 0:
            found.append((position, plan))
            # Blank the match so a shorter alias inside it does not count again.
            squeezed = (
                squeezed[:position]
                + " " * len(alias)
                + squeezed[position + len(alias) :]
            )
            position = squeezed.find(alias)
    ordered: list[str] = []
    for _, plan in sorted(found):
        if plan not in ordered:
            ordered.append(plan)
    return ordered


def find_plan_name(text: str) -> str | None:
    """The first catalogue plan named in ``text``, or ``None``."""
    plans = plans_in_text(text)
    return plans[0] if plans else None


def find_plan_names(texts: list[str]) -> list[str]:
    """The distinct catalogue plans named in ``texts``, in order."""
    found: list[str] = []
    for text in texts:
        for plan in plans_in_text(text):
            if plan not in found:
                found.append(plan)
    return found
