"""Database tables of the handoff service."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    inspect,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    column_property,
    mapped_column,
    validates,
)

from handoff.queue.states import OPEN_STATES, HandoffStatus
from handoff.vocabulary import (
    DEFAULT_CAPACITY,
    DEFAULT_STAFF_LANGUAGE,
    AgentStatus,
    DeliveryFailureReason,
    HandoffMode,
    Priority,
    Resolution,
    Skill,
    TransitionActor,
    TransitionReason,
    Trigger,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine.

    SQLite keeps no time zone, so values are normalised to UTC on the way in
    and marked as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(timezone.utc)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _string_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings so SQLite and PostgreSQL agree and new values
    # need no type migration.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class AgentRole(str, enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class MessageRole(str, enum.Enum):
    USER = "user"
    BOT = "bot"
    AGENT = "agent"
    # An agent's internal note: shown to agents only, never sent to the customer.
    NOTE = "note"


class AttachmentUploader(str, enum.Enum):
    CUSTOMER = "customer"
    AGENT = "agent"


class Delivery(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[AgentRole] = mapped_column(_string_enum(AgentRole, "agent_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[AgentStatus] = mapped_column(
        _string_enum(AgentStatus, "agent_status"), default=AgentStatus.OFFLINE
    )
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY)
    # A deactivated agent keeps their history but can no longer sign in.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The language the console and the supervisor page speak to this agent.
    language: Mapped[str] = mapped_column(String(8), default=DEFAULT_STAFF_LANGUAGE)


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[Skill] = mapped_column(
        _string_enum(Skill, "skill"), primary_key=True, index=True
    )


class AuthToken(Base):
    """A login session; only the SHA-256 of the bearer token is kept."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


_OPEN_STATUS = column("status", String).in_(
    sorted(state.value for state in OPEN_STATES)
)


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_status_created_at", "status", "created_at"),
        # What auto-assignment reads: the queued handoffs of a skill, by priority.
        Index(
            "ix_handoffs_status_skill_priority",
            "status",
            "skill",
            "priority",
            "created_at",
        ),
        # At most one open handoff per customer, even under concurrent requests.
        Index(
            "uq_handoffs_open_sender_id",
            "sender_id",
            unique=True,
            sqlite_where=_OPEN_STATUS,
            postgresql_where=_OPEN_STATUS,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255), index=True)
    # Where the web chat's session id was issued; None for other channels. Kept on
    # the handoff so the per-address limit outlives the issuance records.
    client_address: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[HandoffStatus] = mapped_column(
        _string_enum(HandoffStatus, "handoff_status")
    )
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Events up to this Rasa timestamp are already part of ``context``.
    transcript_until: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mode: Mapped[HandoffMode] = mapped_column(
        _string_enum(HandoffMode, "handoff_mode"), default=HandoffMode.QUEUE
    )
    skill: Mapped[Skill] = mapped_column(
        _string_enum(Skill, "skill"), default=Skill.GENERAL
    )
    priority: Mapped[Priority] = mapped_column(
        _string_enum(Priority, "priority"), default=Priority.NORMAL
    )
    trigger: Mapped[Trigger | None] = mapped_column(_string_enum(Trigger, "trigger"))
    resolution: Mapped[Resolution | None] = mapped_column(
        _string_enum(Resolution, "resolution")
    )
    # The customer's latest message (or the request itself): a queued customer
    # silent for too long is taken to have left.
    last_customer_activity_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow
    )
    # Since when the customer waits for the agent's next reply; None when the
    # agent has answered everything.
    awaiting_agent_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the customer has waited too long for an agent reply.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last queue position and wait the customer was told, and when.
    notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_position: Mapped[int | None] = mapped_column(Integer)
    notice_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    # When a message the customer wrote while queued was last acknowledged.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Read with every handoff, so staff see who has it by name.
    assigned_agent_name: Mapped[str | None] = column_property(
        select(Agent.display_name)
        .where(Agent.id == assigned_agent_id)
        .correlate_except(Agent)
        .scalar_subquery()
    )

    @validates("status")
    def _refuse_status_writes(self, key: str, status: HandoffStatus) -> HandoffStatus:
        # A stored handoff changes status only through the state machine's
        # guarded UPDATE, which also records the transition; an assignment here
        # would be an unguarded, unrecorded write-back.
        if inspect(self).has_identity:
            raise AttributeError(
                "a stored handoff's status changes only through "
                "handoff.queue.state_machine"
            )
        return status


class HandoffTransfer(Base):
    """A handoff moved to another agent or skill queue, with the agent's note."""

    __tablename__ = "handoff_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    from_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    to_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    to_skill: Mapped[Skill | None] = mapped_column(_string_enum(Skill, "skill"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HandoffTransition(Base):
    """One step of a handoff through the state machine: who took it, and why.

    The first row of a handoff, with no ``from_status``, is the state it was
    opened in. A row whose ``from_status`` is its ``to_status`` is a change of
    owner (or queue) in the same state: a transfer between agents, an offline
    request taken. So ``assigned_agent_id`` over the rows says who held the
    handoff at every moment.
    """

    __tablename__ = "handoff_transitions"
    __table_args__ = (
        Index("ix_handoff_transitions_handoff_id_id", "handoff_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE")
    )
    from_status: Mapped[HandoffStatus | None] = mapped_column(
        _string_enum(HandoffStatus, "handoff_status")
    )
    to_status: Mapped[HandoffStatus] = mapped_column(
        _string_enum(HandoffStatus, "handoff_status")
    )
    actor: Mapped[TransitionActor] = mapped_column(
        _string_enum(TransitionActor, "transition_actor")
    )
    # The agent who acted, when ``actor`` is an agent.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    reason: Mapped[TransitionReason] = mapped_column(
        _string_enum(TransitionReason, "transition_reason")
    )
    # Who owns the handoff from this step on.
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CannedResponse(Base):
    __tablename__ = "canned_responses"
    __table_args__ = (
        UniqueConstraint("language", "title", name="uq_canned_responses_title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginAttempts(Base):
    """Sign-in attempts in the current window, for one account or one address."""

    __tablename__ = "login_attempts"

    # "account:<username>" or "address:<client address>".
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ChatSession(Base):
    """A web chat session id issued by the service, and the address it went to."""

    __tablename__ = "chat_sessions"

    # SHA-256 of the id: the id itself is the customer's credential.
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_address: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Refusal(Base):
    """A customer's request refused by a limit, counted in the supervisors' numbers."""

    __tablename__ = "refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_handoff_id_created_at", "handoff_id", "created_at"),
        # The supervisors' count of failed deliveries in a period.
        Index("ix_messages_failure_reason_created_at", "failure_reason", "created_at"),
        # A reply sent again with its client id is the same reply.
        Index(
            "uq_messages_handoff_id_client_id", "handoff_id", "client_id", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole] = mapped_column(_string_enum(MessageRole, "message_role"))
    text: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    rasa_timestamp: Mapped[float | None] = mapped_column(Float)
    delivery: Mapped[Delivery | None] = mapped_column(
        _string_enum(Delivery, "delivery")
    )
    # Why a failed agent reply did not reach the customer, and whether sending it
    # again could help (a closed WhatsApp window or a blocked bot cannot).
    failure_reason: Mapped[DeliveryFailureReason | None] = mapped_column(
        _string_enum(DeliveryFailureReason, "delivery_failure_reason")
    )
    failure_permanent: Mapped[bool | None] = mapped_column(Boolean)
    # The console's own id for an agent's reply, unique within the handoff.
    client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The file the message carries: a customer's photo or document, or the one an
    # agent attached to a reply. No foreign key (SQLite could add one only by
    # rebuilding the table): files are erased, never deleted, so the row is there.
    attachment_id: Mapped[str | None] = mapped_column(String(32), index=True)


class Attachment(Base):
    """A file a customer sent or an agent attached, kept in the database so every
    service instance serves it.

    The id is random and unguessable; the media type was read from the content
    (handoff/conversation/file_types.py) and the name is for display only. An
    erased file keeps its row, without its content or name.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        # The per-conversation upload limit counts the recent ones.
        Index("ix_attachments_sender_id_created_at", "sender_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The conversation it belongs to, by the bot's sender id.
    sender_id: Mapped[str] = mapped_column(String(255))
    # The handoff whose staff may see it; None while the bot had the conversation.
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="SET NULL"), index=True
    )
    uploaded_by: Mapped[AttachmentUploader] = mapped_column(
        _string_enum(AttachmentUploader, "attachment_uploader")
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    media_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Read only when the file is served, never with the rest of the row.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True
    )
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """A Rasa event already ingested, so a redelivered one is stored only once."""

    __tablename__ = "processed_events"
    __table_args__ = (
        UniqueConstraint(
            "sender_id",
            "event_type",
            "rasa_timestamp",
            "text_sha256",
            name="uq_processed_events_event",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(32))
    rasa_timestamp: Mapped[float] = mapped_column(Float)
    text_sha256: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Conversation(Base):
    """One session of one customer with the bot, from Rasa's event stream.

    Whether it was handed off is not stored: a handoff of the same sender
    created during the session says so, whichever way the handoff was requested.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("sender_id", "started_at", name="uq_conversations_session"),
        Index("ix_conversations_first_message_at", "first_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A session the customer never wrote in is not a conversation to count.
    first_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CsatRating(Base):
    """A customer's rating of a handoff, or of a conversation the bot handled alone."""

    __tablename__ = "csat_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    # Unique: a handoff is rated once. Bot-only ratings have none.
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), unique=True
    )
    # The agent who handled the handoff when it was rated.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True
    )


class DeadLetter(Base):
    """An event from the bot that could not be taken, kept with the reason.

    Also a gap in the stream: events the broker dropped while its buffer was
    full, which have no event of their own and no sender.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Whatever the event named as its sender, cut to the column.
    sender_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    # The event as JSON, cut to a bounded size.
    event: Mapped[str] = mapped_column(Text)
    # Of the whole event: a redelivered batch keeps its dead letters once.
    event_sha256: Mapped[str] = mapped_column(String(64), unique=True)


# The tables themselves, for Core statements on the hot paths (no ORM objects).
HANDOFFS = cast(Table, Handoff.__table__)
MESSAGES = cast(Table, Message.__table__)
ATTACHMENTS = cast(Table, Attachment.__table__)
# Every column of a file but its content: what describes it in messages and lists.
ATTACHMENT_METADATA = tuple(
    column for column in ATTACHMENTS.c if column.name != "content"
)
