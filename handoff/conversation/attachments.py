"""Files in conversations: stored with their limits, served only to who may see them.

A file arrives from the web chat (the customer's signed session id), from the bot
(a messaging channel's photo or document, with the shared secret) or from an
agent who may reply in the handoff. Each is checked the same way: not empty, not
over the size limit, one of the allowed types as its content says
(``file_types.py``), and not over the conversation's upload limit; its name is
made safe (``file_names.py``). The content is kept in the database, so every
service instance can serve it.

Staff open a file with their token, when they may see a handoff it belongs to:
the handoff it is linked to (the one the customer was in, or the one the agent
attached it in) or any handoff with a message that carries it. A customer opens
it with the signed link (``file_links.py``). Anyone else is told it does not
exist.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import undefer

from handoff.conversation.agent_replies import write_refusal
from handoff.conversation.file_links import FileLinks
from handoff.conversation.file_names import display_filename
from handoff.conversation.file_types import SNIFF_BYTES, sniff_media_type
from handoff.errors import (
    AttachmentEmpty,
    AttachmentRateLimited,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    NotFound,
)
from handoff.staff import permissions
from handoff.storage.models import (
    Agent,
    Attachment,
    AttachmentUploader,
    Handoff,
    Message,
    utcnow,
)

ID_BYTES = 24
# The per-conversation upload limit counts the files of this window.
UPLOAD_WINDOW = timedelta(minutes=10)
# A file shared with the bot this long before the customer asked for a person is
# part of the conversation the agent takes over.
EARLIER_FILES = timedelta(hours=24)


def new_attachment_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


@dataclass(frozen=True)
class NewFile:
    sender_id: str
    content: bytes
    # As the sender's device named it.
    filename: str | None
    uploaded_by: AttachmentUploader
    handoff_id: int | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class ServedFile:
    media_type: str
    filename: str
    content: bytes


class AttachmentStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        links: FileLinks,
        *,
        max_bytes: int,
        per_conversation: int,
    ) -> None:
        self._sessions = sessions
        self.links = links
        self.max_bytes = max_bytes
        self._per_conversation = per_conversation

    async def store(self, new: NewFile) -> Attachment:
        """The file, checked and stored; refused with the reason otherwise."""
        if not new.content:
            raise AttachmentEmpty("the file is empty")
        if len(new.content) > self.max_bytes:
            raise AttachmentTooLarge(
                f"the file is larger than {self.max_bytes} bytes",
                max_bytes=self.max_bytes,
            )
        media_type = sniff_media_type(new.content[:SNIFF_BYTES])
        if media_type is None:
            raise AttachmentTypeNotAllowed(
                "only JPEG, PNG, GIF and WebP images and PDF documents are taken"
            )
        now = utcnow()
        attachment = Attachment(
            id=new_attachment_id(),
            sender_id=new.sender_id,
            handoff_id=new.handoff_id,
            uploaded_by=new.uploaded_by,
            agent_id=new.agent_id,
            media_type=media_type,
            filename=display_filename(new.filename, media_type),
            size_bytes=len(new.content),
            sha256=hashlib.sha256(new.content).hexdigest(),
            content=new.content,
            created_at=now,
        )
        async with self._sessions.begin() as session:
            await self._refuse_over_limit(session, new, now)
            session.add(attachment)
        return attachment

    async def agent_conversation(self, handoff_id: int, agent: Agent) -> str:
        """The sender id of the handoff, if ``agent`` may write in it (the rule of
        replying); checked before the agent's file is read."""
        async with self._sessions() as session:
            handoff = await session.get(Handoff, handoff_id)
        refusal = write_refusal(handoff, handoff_id, agent)
        if refusal is not None:
            raise refusal
        assert handoff is not None
        return handoff.sender_id

    async def for_staff(self, viewer: Agent, attachment_id: str) -> ServedFile:
        async with self._sessions() as session:
            attachment = await _stored(session, attachment_id)
            if not await _visible(session, viewer, attachment):
                raise _unknown(attachment_id)
            return _served(attachment)

    async def for_link(self, attachment_id: str) -> ServedFile:
        """The file of a link already checked (``FileLinks.check``)."""
        async with self._sessions() as session:
            return _served(await _stored(session, attachment_id))

    async def _refuse_over_limit(
        self, session: AsyncSession, new: NewFile, now: datetime
    ) -> None:
        recent = (
            Attachment.sender_id == new.sender_id,
            Attachment.uploaded_by == new.uploaded_by,
            Attachment.created_at > now - UPLOAD_WINDOW,
        )
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(Attachment.created_at)).where(*recent)
            )
        ).one()
        if count < self._per_conversation:
            return
        waited = timedelta(0) if oldest is None else now - oldest
        raise AttachmentRateLimited(
            f"at most {self._per_conversation} files in "
            f"{int(UPLOAD_WINDOW.total_seconds() // 60)} minutes; try again later",
            max(1, math.ceil((UPLOAD_WINDOW - waited).total_seconds())),
        )


async def link_earlier_files(
    session: AsyncSession, handoff_id: int, sender_id: str, now: datetime
) -> None:
    """Gives a new handoff the files its customer shared with the bot just before,
    so the agent who takes it over sees them."""
    await session.execute(
        update(Attachment)
        .where(
            Attachment.sender_id == sender_id,
            Attachment.handoff_id.is_(None),
            Attachment.uploaded_by == AttachmentUploader.CUSTOMER,
            Attachment.erased_at.is_(None),
            Attachment.created_at > now - EARLIER_FILES,
        )
        .values(handoff_id=handoff_id)
        .execution_options(synchronize_session=False)
    )


async def _stored(session: AsyncSession, attachment_id: str) -> Attachment:
    attachment = await session.scalar(
        select(Attachment)
        .options(undefer(Attachment.content))
        .where(Attachment.id == attachment_id, Attachment.erased_at.is_(None))
    )
    if attachment is None or attachment.content is None:
        raise _unknown(attachment_id)
    return attachment


async def _visible(
    session: AsyncSession, viewer: Agent, attachment: Attachment
) -> bool:
    if permissions.is_supervisor(viewer):
        return True
    carried_in = select(Message.handoff_id).where(
        Message.attachment_id == attachment.id
    )
    handoffs = await session.scalars(
        select(Handoff).where(
            (Handoff.id == attachment.handoff_id) | Handoff.id.in_(carried_in)
        )
    )
    return any(permissions.can_view(viewer, handoff) for handoff in handoffs)


def _served(attachment: Attachment) -> ServedFile:
    assert attachment.content is not None
    return ServedFile(attachment.media_type, attachment.filename, attachment.content)


def _unknown(attachment_id: str) -> NotFound:
    return NotFound(f"file {attachment_id[:40]} does not exist")
