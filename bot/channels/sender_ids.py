"""Sender ids of the messaging channels: ``<channel>:<the platform's user id>``.

The prefix keeps two platforms' user ids apart and tells the conversation's channel
wherever only the sender id travels (the handoff service keeps its own copy of this
mapping, handoff/conversation/channels.py, and both are checked against the
``Channel`` enum of handoff/openapi.yaml). The web chat's session ids carry no prefix.
"""

from __future__ import annotations

CHANNELS = ("telegram", "whatsapp", "sms", "kakao")
WEB = "web"
SEPARATOR = ":"


class UnknownChannel(ValueError):
    """A sender id was asked for a channel Tandem does not have."""


def sender_id(channel: str, platform_user: str) -> str:
    if channel not in CHANNELS:
        raise UnknownChannel(f"unknown channel {channel!r}")
    if not platform_user:
        raise ValueError("a sender id needs the platform's user id")
    return f"{channel}{SEPARATOR}{platform_user}"


def channel_of(sender_id: str) -> str:
    """The channel a sender id belongs to; "web" for anything without a known prefix."""
    prefix, separator, user = sender_id.partition(SEPARATOR)
    if separator and user and prefix in CHANNELS:
        return prefix
    return WEB


def platform_user(sender_id: str) -> str:
    """The platform's own user id inside a channel's sender id."""
    if channel_of(sender_id) == WEB:
        raise ValueError(f"{sender_id!r} is not a messaging channel's sender id")
    return sender_id.partition(SEPARATOR)[2]


def platform_user_on(sender_id: str, channel: str) -> str | None:
    """The platform's user id inside ``sender_id`` if it is on ``channel``."""
    if channel_of(sender_id) != channel:
        return None
    return sender_id.partition(SEPARATOR)[2]
