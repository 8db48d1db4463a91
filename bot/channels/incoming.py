"""What the channels make of a customer's message before the bot sees it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.channel_state import ReplyOption

# Where a message's photos, files and places are kept, in the user event's metadata.
MEDIA_KEY = "media"

MEDIA_LABELS = {
    "photo": ("[사진]", "[photo]"),
    "video": ("[동영상]", "[video]"),
    "audio": ("[음성]", "[audio]"),
    "sticker": ("[스티커]", "[sticker]"),
    "location": ("[위치]", "[location]"),
    "contact": ("[연락처]", "[contact]"),
    "file": ("[파일]", "[file]"),
}
# "2", "2.", "2)", with full-width digits too.
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


@dataclass(frozen=True)
class Incoming:
    """A customer's message as the bot will get it."""

    sender_id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def media_label(kind: str, korean: bool) -> str:
    """The text that stands for a message that is only a photo, a file...: the agent
    sees it in the transcript; the media itself stays in the metadata."""
    labels = MEDIA_LABELS.get(kind, MEDIA_LABELS["file"])
    return labels[0] if korean else labels[1]


def typed_text(text: str) -> str:
    """What a customer typed, never read as an intent: Rasa takes a message that
    starts with "/" as ``/intent{entities}``, which only the channel's own buttons
    may send."""
    return text.strip().lstrip("/").strip()


def chosen_option(text: str, options: Sequence[ReplyOption]) -> ReplyOption | None:
    """The option a customer picked by its number or its exact title, if any."""
    match = _CHOICE.match(text)
    if match:
        number = int(match.group(1))
        return options[number - 1] if 1 <= number <= len(options) else None
    wanted = text.strip().casefold()
    for option in options:
        if option.title.strip().casefold() == wanted:
            return option
    return None


def reply_options(message: dict[str, Any]) -> list[ReplyOption]:
    """The buttons (or quick replies) of a bot message that have a title and payload."""
    raw = message.get("buttons") or message.get("quick_replies") or []
    options = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict):
            continue
        title, payload = button.get("title"), button.get("payload")
        if isinstance(title, str) and isinstance(payload, str) and title and payload:
            options.append(ReplyOption(title, payload))
    return options
