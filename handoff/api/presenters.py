"""JSON shapes of the API objects (docs/api.md, "Objects")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from handoff.conversation.channels import channel_of
from handoff.conversation.chat_sessions import public_handle
from handoff.conversation.display_names import channel_kind, customer_name
from handoff.storage.models import (
    Agent,
    Attachment,
    CannedResponse,
    CsatRating,
    DeadLetter,
    Handoff,
    HandoffTransfer,
    Message,
)
from handoff.vocabulary import Skill


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role.value,
        "language": agent.language,
    }


def handoff_json(handoff: Handoff, queue_position: int | None) -> dict[str, Any]:
    customer = customer_name(handoff.context)
    return {
        "id": handoff.id,
        "conversation": public_handle(handoff.sender_id),
        "customer_name": customer.name,
        "customer_verified": customer.verified,
        # The customer's channel, whatever Rasa input channel the bot named.
        "channel": channel_of(handoff.sender_id).value,
        "channel_kind": channel_kind(handoff.channel, handoff.sender_id).value,
        "language": handoff.language,
        "reason": handoff.reason,
        "status": handoff.status.value,
        "assigned_agent_id": handoff.assigned_agent_id,
        "assigned_agent_name": _assigned_agent_name(handoff),
        "created_at": timestamp(handoff.created_at),
        "assigned_at": timestamp(handoff.assigned_at),
        "resolved_at": timestamp(handoff.resolved_at),
        "queue_position": queue_position,
        "mode": handoff.mode.value,
        "skill": handoff.skill.value,
        "priority": handoff.priority.value,
        "trigger": handoff.trigger.value if handoff.trigger is not None else None,
        "resolution": (
            handoff.resolution.value if handoff.resolution is not None else None
        ),
        "flagged_at": timestamp(handoff.flagged_at),
    }


def _assigned_agent_name(handoff: Handoff) -> str | None:
    # A handoff just stored has not read it back; it has no agent yet either.
    if "assigned_agent_name" in inspect(handoff).unloaded:
        return None
    return handoff.assigned_agent_name


def handoff_detail_json(
    handoff: Handoff,
    queue_position: int | None,
    messages: Sequence[Message],
    transfers: Sequence[HandoffTransfer],
    agent_names: Mapping[int, str],
    attachments: Mapping[str, Attachment],
) -> dict[str, Any]:
    """``attachments``: the files of the handoff and of its messages, by id."""
    return {
        **handoff_json(handoff, queue_position),
        "context": staff_context(handoff.context),
        "messages": [
            message_json(
                message,
                _name(agent_names, message.agent_id),
                None
                if message.attachment_id is None
                else attachments.get(message.attachment_id),
            )
            for message in messages
        ],
        "transfers": [transfer_json(transfer, agent_names) for transfer in transfers],
        "attachments": [
            staff_attachment_json(attachment)
            for attachment in sorted(
                attachments.values(), key=lambda item: (item.created_at, item.id)
            )
            if attachment.handoff_id == handoff.id
        ],
    }


def _name(agent_names: Mapping[int, str], agent_id: int | None) -> str | None:
    return None if agent_id is None else agent_names.get(agent_id)


def staff_context(context: dict[str, Any]) -> dict[str, Any]:
    """The bot's context without the sender id, which would let staff take the chat."""
    return {key: value for key, value in context.items() if key != "sender_id"}


def transfer_json(
    transfer: HandoffTransfer, agent_names: Mapping[int, str]
) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "from_agent_id": transfer.from_agent_id,
        "from_agent_name": _name(agent_names, transfer.from_agent_id),
        "to_agent_id": transfer.to_agent_id,
        "to_agent_name": _name(agent_names, transfer.to_agent_id),
        "to_skill": transfer.to_skill.value if transfer.to_skill else None,
        "note": transfer.note,
        "created_at": timestamp(transfer.created_at),
    }


def canned_response_json(canned: CannedResponse) -> dict[str, Any]:
    return {
        "id": canned.id,
        "language": canned.language,
        "title": canned.title,
        "text": canned.text,
        "updated_at": timestamp(canned.updated_at),
    }


def rating_json(rating: CsatRating) -> dict[str, Any]:
    return {
        "id": rating.id,
        "sender_id": rating.sender_id,
        "score": rating.score,
        "comment": rating.comment,
        "handoff_id": rating.handoff_id,
        "agent_id": rating.agent_id,
        "created_at": timestamp(rating.created_at),
    }


# A sender id is shown only far enough to tell customers apart.
SHOWN_SENDER_ID_CHARS = 64


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    sender_id = letter.sender_id
    if sender_id is not None and len(sender_id) > SHOWN_SENDER_ID_CHARS:
        sender_id = sender_id[: SHOWN_SENDER_ID_CHARS - 1] + "…"
    return {
        "id": letter.id,
        "received_at": timestamp(letter.received_at),
        "sender_id": sender_id,
        "reason": letter.reason,
        "event": letter.event,
    }


def attachment_json(attachment: Attachment, url: str) -> dict[str, Any]:
    """A file as its sender and the customer see it: ``url`` is the customer's
    signed link."""
    return {
        "id": attachment.id,
        "media_type": attachment.media_type,
        "filename": attachment.filename,
        "size_bytes": attachment.size_bytes,
        "url": url,
    }


def staff_attachment_json(attachment: Attachment) -> dict[str, Any]:
    """A file as staff see it, opened with their token."""
    return {
        **attachment_json(attachment, f"/api/attachments/{attachment.id}"),
        "uploaded_by": attachment.uploaded_by.value,
        "created_at": timestamp(attachment.created_at),
    }


def message_json(
    message: Message, agent_name: str | None, attachment: Attachment | None = None
) -> dict[str, Any]:
    """``agent_name``: the display name of the message's agent, if it has one;
    ``attachment``: the file the message carries, if it is still kept."""
    return {
        "id": message.id,
        "handoff_id": message.handoff_id,
        "role": message.role.value,
        "text": message.text,
        "agent_id": message.agent_id,
        "agent_name": agent_name if message.agent_id is not None else None,
        "created_at": timestamp(message.created_at),
        "delivery": message.delivery.value if message.delivery is not None else None,
        "client_id": message.client_id,
        "delivery_failure": (
            None
            if message.failure_reason is None
            else {
                "reason": message.failure_reason.value,
                "permanent": bool(message.failure_permanent),
            }
        ),
        "attachment": None if attachment is None else staff_attachment_json(attachment),
    }


def handoff_frame(
    kind: str, handoff: Handoff, queue_position: int | None
) -> dict[str, Any]:
    return {"type": kind, "handoff": handoff_json(handoff, queue_position)}


def handoff_created_frame(
    handoff: Handoff, queue_position: int | None
) -> dict[str, Any]:
    """A new handoff with everything the bot gathered, so no agent has to ask."""
    frame = handoff_frame("handoff.created", handoff, queue_position)
    frame["handoff"]["context"] = staff_context(handoff.context)
    return frame


def message_frame(
    message: Message, agent_name: str | None, attachment: Attachment | None = None
) -> dict[str, Any]:
    return {
        "type": "message.created",
        "handoff_id": message.handoff_id,
        "message": message_json(message, agent_name, attachment),
    }


def agent_profile_json(
    agent: Agent, skills: frozenset[Skill] | set[Skill], load: int
) -> dict[str, Any]:
    return {
        **agent_json(agent),
        "status": agent.status.value,
        "capacity": agent.capacity,
        "load": load,
        "skills": sorted(skill.value for skill in skills),
        "active": agent.active,
        "status_changed_at": timestamp(agent.status_changed_at),
    }


def agent_frame(
    agent: Agent, skills: frozenset[Skill] | set[Skill], load: int
) -> dict[str, Any]:
    """An agent's status, capacity or skills changed: the team lists stay current."""
    return {"type": "agent.updated", "agent": agent_profile_json(agent, skills, load)}
