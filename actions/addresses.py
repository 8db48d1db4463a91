"""A sanity check for postal addresses typed into a chat, Korean or English.

It cannot prove an address exists (the order desk checks that with the customer);
it refuses what cannot be one: no house or building number, or no street or area.
"""

from __future__ import annotations

import re

MIN_LENGTH, MAX_LENGTH = 6, 200
_HANGUL = re.compile(r"[가-힣]")
# A Korean address names a region or street: 서울시, 강남구, 역삼동, 테헤란로, 12길.
_KOREAN_AREA = re.compile(
    r"[가-힣0-9]+(?:특별시|광역시|시|도|구|군|읍|면|동|리|로|길)(?![가-힣])"
)
_DIGIT = re.compile(r"\d")
# An English address names a street or district: Teheran-ro, Sejong-daero, Main St.
_ENGLISH_STREET = re.compile(
    r"[a-z]+-(?:ro|gil|daero|dong|gu|si)\b|\b(?:street|st|road|rd|avenue|ave|"
    r"boulevard|blvd|lane|ln|way|drive|dr)\b",
    re.IGNORECASE,
)


def is_plausible_address(text: str) -> bool:
    address = text.strip()
    if not MIN_LENGTH <= len(address) <= MAX_LENGTH or not _DIGIT.search(address):
        return False
    if _HANGUL.search(address):
        return len(_KOREAN_AREA.findall(address)) >= 1 and len(address.split()) >= 2
    return _ENGLISH_STREET.search(address) is not None
