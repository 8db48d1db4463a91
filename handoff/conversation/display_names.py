"""How staff see a customer: by name (masked unless verified), and their channel
by its name, never by the bot's ids.

Only the bot's verified identity gives a name in full. A name the customer merely
typed (the sign-up form's) is masked like ``김*수``: nobody checked it, and staff
should not take it for the account holder's. The channel comes from the sender id's
prefix where a connector puts the app in it (Twilio's ``whatsapp:+82…``, a
messaging gateway's ``kakao:…``), else from the input channel Rasa recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handoff.vocabulary import ChannelKind

# Slots holding a name the customer typed without proving it.
UNVERIFIED_NAME_SLOTS = ("signup_name",)
MASK = "*"

# Rasa input channels (their connectors' ``name()``) by the channel staff see.
INPUT_CHANNELS = {
    "socketio": ChannelKind.WEB_CHAT,
    "telegram": ChannelKind.TELEGRAM,
    "twilio": ChannelKind.SMS,
    "sms": ChannelKind.SMS,
    "kakao": ChannelKind.KAKAOTALK,
    "kakaotalk": ChannelKind.KAKAOTALK,
    "whatsapp": ChannelKind.WHATSAPP,
}
SENDER_PREFIXES = {
    "kakao": ChannelKind.KAKAOTALK,
    "kakaotalk": ChannelKind.KAKAOTALK,
    "whatsapp": ChannelKind.WHATSAPP,
    "telegram": ChannelKind.TELEGRAM,
    "sms": ChannelKind.SMS,
}
_PREFIX = re.compile(r"([a-z]+)[:_-]")


@dataclass(frozen=True)
class CustomerName:
    # None when the bot learned no name at all.
    name: str | None
    verified: bool


def customer_name(context: Mapping[str, Any]) -> CustomerName:
    """The name staff see for the customer of a handoff's context."""
    identity = context.get("verified_identity")
    if isinstance(identity, Mapping):
        name = identity.get("name")
        shown = name.strip() if isinstance(name, str) else ""
        return CustomerName(shown or None, True)
    slots = context.get("slots")
    if isinstance(slots, Mapping):
        for slot in UNVERIFIED_NAME_SLOTS:
            typed = slots.get(slot)
            if isinstance(typed, str) and typed.strip():
                return CustomerName(mask_name(typed), False)
    return CustomerName(None, False)


def mask_name(name: str) -> str:
    """``김민수`` → ``김*수``, ``이수`` → ``이*``, ``Jane Doe`` → ``J*** D**``."""
    words = name.split()
    if len(words) > 1:
        return " ".join(word[0] + MASK * (len(word) - 1) for word in words)
    word = words[0]
    if len(word) <= 2:
        return word[0] + MASK
    return word[0] + MASK * (len(word) - 2) + word[-1]


def channel_kind(channel: str, sender_id: str) -> ChannelKind:
    """The channel a handoff's customer writes on, as staff name it."""
    channel = channel.lower()
    # Web chat session ids are random: a prefix there means nothing.
    if INPUT_CHANNELS.get(channel) is ChannelKind.WEB_CHAT:
        return ChannelKind.WEB_CHAT
    prefix = _PREFIX.match(sender_id.lower())
    if prefix is not None and prefix.group(1) in SENDER_PREFIXES:
        return SENDER_PREFIXES[prefix.group(1)]
    return INPUT_CHANNELS.get(channel, ChannelKind.OTHER)
