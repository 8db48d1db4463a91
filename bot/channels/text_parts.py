"""Long texts cut into the pieces a platform accepts, at a line or word boundary."""

from __future__ import annotations

from collections.abc import Callable


def utf16_units(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """``text`` in pieces of at most ``limit`` (as ``measure`` counts), each cut at
    the last line break, else the last space, that fits; a word longer than a whole
    piece is cut where it must be. No piece is empty; an empty text is no piece."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if measure(rest) <= limit:
            pieces.append(rest)
            break
        cut = _boundary(rest, _longest_prefix(rest, limit, measure))
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces


def _boundary(text: str, fits: int) -> int:
    """Where to cut ``text`` when its first ``fits`` characters fit: at the last
    paragraph, line or word break in the second half of them (a break just after
    them counts), else at the last such break anywhere, else after ``fits``
    characters (a word longer than a whole piece)."""
    window = text[: fits + 1]
    separators = ("\n\n", "\n", " ")
    for separator in separators:
        at = window.rfind(separator)
        if at >= fits // 2:
            return at
    for separator in separators:
        at = window.rfind(separator)
        if at > 0:
            return at
    return fits


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """How many characters of ``text`` fit in ``limit``: at least one."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
