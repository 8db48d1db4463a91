"""What the service itself says to a queued customer, and what it listens for.

Every word a waiting customer reads from the service is here, in Korean and
English: the wait updates, the acknowledgement of a message written while
waiting, and the cancel phrases that end the wait.
"""

from __future__ import annotations

import math
import unicodedata

# A customer who writes one of these while queued leaves the queue.
CANCEL_PHRASES = frozenset({"취소", "대기 취소", "대기취소", "cancel", "stop waiting"})
_TRAILING = " .!?~。"
CANCEL_HINT = {
    "ko": "'취소'라고 보내시면 대기를 멈춥니다.",
    "en": "Send 'cancel' to stop waiting.",
}
ACKNOWLEDGEMENT = {
    "ko": "메시지를 받았습니다. 상담원에게 함께 전달됩니다.",
    "en": "Message received. The agent will see it with the rest of your chat.",
}


def is_cancel_phrase(text: str) -> bool:
    normalised = " ".join(unicodedata.normalize("NFC", text).lower().split())
    return normalised.strip(_TRAILING) in CANCEL_PHRASES


def wait_minutes(wait_seconds: int) -> int:
    """The wait as the customer is told it: whole minutes, at least one."""
    return max(1, math.ceil(wait_seconds / 60))


def wait_update_text(language: str, position: int, wait_seconds: int | None) -> str:
    """Where the customer is: the position, the expected wait or that it is
    unknown, and how to stop waiting. The bot's first message after the handoff
    (``utter_handoff_queued*`` in domain.yml) ends with the same words."""
    if language == "ko":
        place = f"지금 대기 순서는 {position}번째"
        if wait_seconds is None:
            wait = f"{place}입니다. 지금은 예상 시간을 알 수 없습니다."
        else:
            minutes = wait_minutes(wait_seconds)
            wait = f"{place}이고, 예상 대기 시간은 약 {minutes}분입니다."
        return f"{wait} {CANCEL_HINT['ko']}"
    place = f"You are number {position} in the queue"
    if wait_seconds is None:
        wait = f"{place}. The expected wait is unknown right now."
    else:
        minutes = wait_minutes(wait_seconds)
        unit = "minute" if minutes == 1 else "minutes"
        wait = f"{place}; the expected wait is about {minutes} {unit}."
    return f"{wait} {CANCEL_HINT['en']}"


def acknowledgement_text(language: str) -> str:
    """The answer to a message written while waiting."""
    return ACKNOWLEDGEMENT["ko" if language == "ko" else "en"]


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
