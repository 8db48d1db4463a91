"""Conversation ids of messaging-app customers: ``<channel>:<the platform's user id>``.

The prefix keeps two platforms' user ids apart and tells, from the id alone, which
channel a conversation is on; the web chat's signed session ids have no prefix.
The handoff service keeps its own copy of the prefixes (it cannot import the bot's
code); ``Channel`` in handoff/openapi.yaml lists them for both.
"""

from __future__ import annotations

MESSAGING_CHANNELS = frozenset({"telegram", "whatsapp", "sms", "kakao"})
WEB = "web"
SEPARATOR = ":"


class UnknownChannel(ValueError):
    """A sender id was asked for a channel Tandem does not have."""


def sender_id(channel: str, platform_user: str) -> str:
    """The conversation id of ``platform_user`` on ``channel``."""
    if channel not in MESSAGING_CHANNELS:
        raise UnknownChannel(f"no messaging channel named {channel!r}")
    if not platform_user:
        raise ValueError("a platform user id is needed")
    return f"{channel}{SEPARATOR}{platform_user}"


def channel_of(sender_id: str) -> str:
    """The channel a conversation id belongs to; "web" for the web chat's ids and
    anything else without a known prefix."""
    prefix, separator, rest = sender_id.partition(SEPARATOR)
    if separator and rest and prefix in MESSAGING_CHANNELS:
        return prefix
    return WEB


def platform_user(sender_id: str, channel: str) -> str | None:
    """The platform's user id inside ``sender_id`` if it is on ``channel``."""
    prefix, separator, rest = sender_id.partition(SEPARATOR)
    if separator and rest and prefix == channel:
        return rest
    return None
