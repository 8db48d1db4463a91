"""Korean mobile numbers as customers type them, in one canonical form."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-()]")
_MOBILE = re.compile(r"^01[016789]\d{7,8}$")


def normalize_mobile_number(text: str) -> str | None:
    """``"+82 10 1234 5678"`` → ``"010-1234-5678"``; ``None`` if not a mobile number."""
    digits = _SEPARATORS.sub("", text)
    if digits.startswith("+82"):
        digits = "0" + digits[3:].lstrip("0")
    if not _MOBILE.match(digits):
        return None
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"


_MOBILE_IN_TEXT = re.compile(r"(?:\+82[\s.\-]?|0)1[016789][\s.\-]?\d{3,4}[\s.\-]?\d{4}")


def find_mobile_number(text: str) -> str | None:
    """The mobile number written anywhere in ``text`` ("연락처는 010 9876 5432")."""
    whole = normalize_mobile_number(text)
    if whole is not None:
        return whole
    match = _MOBILE_IN_TEXT.search(text)
    return normalize_mobile_number(match[0]) if match else None
