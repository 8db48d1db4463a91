"""Who says a message the bot's channels send: the bot, an agent, or the service.

Every message reaches the customer as a Rasa ``bot`` event, and the metadata of
that event is what tells them apart: the handoff service sends an agent's reply
with ``{"agent": "<display name>", "tandem_message_id": …}`` and its own notices
(queue updates, an agent joining, a transfer) with ``{"tandem_notice": true}``
(handoff/conversation/rasa_client.py). Either may carry ``handoff_status``
(``queued`` or ``assigned``) and the assigned agent's name, and so may the bot's
own message that puts the customer in the queue (actions/handoff.py).

Rasa hands that metadata to an output channel as keyword arguments of its send
methods. The web chat's channel (bot/signed_socketio.py) passes ``speaker_fields``
on to the page, which labels an agent's bubble and shows who the customer is
talking to; a channel that can only send text puts the agent's name in front
with ``labelled_text``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Longest display name passed on, as long as the service allows.
MAX_NAME_LENGTH = 128
HANDOFF_STATUSES = frozenset({"queued", "assigned"})


class SpeakerKind(enum.Enum):
    BOT = "bot"
    AGENT = "agent"
    NOTICE = "notice"


@dataclass(frozen=True)
class Speaker:
    kind: SpeakerKind
    # The agent's display name, for an agent's reply.
    name: str | None = None


def _name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = " ".join(value.split())[:MAX_NAME_LENGTH]
    return name or None


def speaker_of(metadata: Mapping[str, Any]) -> Speaker:
    """Who says a message with this metadata."""
    if metadata.get("tandem_notice") is True:
        return Speaker(SpeakerKind.NOTICE)
    name = _name(metadata.get("agent"))
    if name is not None:
        return Speaker(SpeakerKind.AGENT, name)
    return Speaker(SpeakerKind.BOT)


def handoff_of(metadata: Mapping[str, Any]) -> dict[str, str] | None:
    """Where the customer stands with people, when the message says so:
    ``{"status": "queued"}`` or ``{"status": "assigned", "agent": "Mina Kim"}``."""
    status = metadata.get("handoff_status")
    if not isinstance(status, str) or status not in HANDOFF_STATUSES:
        return None
    handoff = {"status": status}
    name = _name(metadata.get("agent"))
    if status == "assigned" and name is not None:
        handoff["agent"] = name
    return handoff


def speaker_fields(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a web chat message carries besides its text: ``sender``
    (``{"kind": "bot"|"agent"|"notice", "name"?: …}``) and, when the message says
    so, ``handoff``."""
    speaker = speaker_of(metadata)
    sender: dict[str, str] = {"kind": speaker.kind.value}
    if speaker.name is not None:
        sender["name"] = speaker.name
    fields: dict[str, Any] = {"sender": sender}
    handoff = handoff_of(metadata)
    if handoff is not None:
        fields["handoff"] = handoff
    return fields


def labelled_text(text: str, metadata: Mapping[str, Any]) -> str:
    """``text`` as a channel without labels should send it: an agent's reply
    starts with their name ("Mina Kim: 안녕하세요"), everything else is as it is."""
    speaker = speaker_of(metadata)
    if speaker.kind is SpeakerKind.AGENT and speaker.name is not None:
        return f"{speaker.name}: {text}"
    return text
