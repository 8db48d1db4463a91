"""What the service itself says to a queued customer, and what it listens for."""

from __future__ import annotations

import math
import unicodedata

# A customer who writes one of these while queued leaves the queue.
CANCEL_PHRASES = frozenset({"취소", "대기 취소", "대기취소", "cancel", "stop waiting"})
_TRAILING = " .!?~。"


def is_cancel_phrase(text: str) -> bool:
    normalised = " ".join(unicodedata.normalize("NFC", text).lower().split())
    return normalised.strip(_TRAILING) in CANCEL_PHRASES


def wait_update_text(language: str, position: int, wait_seconds: int | None) -> str:
    minutes = None if wait_seconds is None else max(1, math.ceil(wait_seconds / 60))
    if language == "ko":
        if minutes is None:
            return f"지금 대기 순서는 {position}번째입니다. 조금만 기다려 주세요."
        return (
            f"지금 대기 순서는 {position}번째이고, "
            f"예상 대기 시간은 약 {minutes}분입니다."
        )
    if minutes is None:
        return f"You are now number {position} in the queue. Thank you for waiting."
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"You are now number {position} in the queue; "
        f"the expected wait is about {minutes} {unit}."
    )


def changed_materially(
    told_position: int | None,
    told_wait: int | None,
    position: int,
    wait_seconds: int | None,
) -> bool:
    """Worth telling: a new place in the queue, or a wait a minute (and a
    quarter) away from the one the customer was told."""
    if told_position != position:
        return True
    if told_wait is None or wait_seconds is None:
        return told_wait != wait_seconds
    difference = abs(told_wait - wait_seconds)
    return difference >= 60 and difference >= 0.25 * told_wait
