"""The handoff queue: requests from the bot, claims, replies, notes, transfers
and closing.

Each operation owns its transactions. Status changes go through the state
machine, whose transactions publish the frames announcing them only after the
commit (``handoff.queue.state_machine``), and Rasa is called
outside any transaction so a slow Rasa never holds a database lock. Whatever
frees an agent's slot or fills the queue ends with a dispatch, so auto-
assignment happens the moment someone can take the work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from handoff.api.presenters import (
    attachment_json,
    handoff_created_frame,
    handoff_frame,
    message_frame,
)
from handoff.api.validation import HandoffFilter, HandoffRequest, TransferRequest
from handoff.conversation.agent_replies import (
    DELIVERED,
    Reply,
    ReplyStore,
    failed,
)
from handoff.conversation.attachments import link_earlier_files
from handoff.conversation.chat_session_limits import issued_address
from handoff.conversation.file_links import FileLinks
from handoff.conversation.rasa_client import HANDOFF_CLOSED_INTENT, RasaGateway
from handoff.conversation.refusals import RefusalLog
from handoff.conversation.takeover_notices import (
    Takeover,
    TakeoverNotice,
    TakeoverNotices,
)
from handoff.errors import (
    AgentUnavailable,
    AlreadyAssigned,
    AtCapacity,
    ChannelDeliveryFailed,
    Forbidden,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    RasaUnavailable,
)
from handoff.observability.metrics import ServiceMetrics
from handoff.queue.assignment import Dispatcher, load_of
from handoff.queue.handoff_limits import (
    HandoffLimitReached,
    HandoffLimits,
    refuse_over_limit,
)
from handoff.queue.order import QUEUE_ORDER, queue_position, queue_positions
from handoff.queue.queue_snapshot import read_queue_snapshot
from handoff.queue.state_machine import BOT, DIRECTORY, Actor, Changes, Transitions
from handoff.queue.states import (
    FINAL_STATES,
    OPEN_STATES,
    HandoffStatus,
    ensure_allowed,
)
from handoff.queue.wait_estimate import expected_wait
from handoff.realtime.group_commit import GroupCommitter
from handoff.realtime.live_feed import LiveFeed
from handoff.staff import permissions
from handoff.storage.models import (
    ATTACHMENT_METADATA,
    Agent,
    Attachment,
    Delivery,
    Handoff,
    HandoffTransfer,
    Message,
    MessageRole,
    utcnow,
)
from handoff.vocabulary import (
    AgentStatus,
    DeliveryFailureReason,
    HandoffMode,
    Resolution,
    Skill,
    TransitionReason,
)

# Finished handoffs pile up forever; a listing shows only the latest ones.
FINISHED_LISTING_LIMIT = 100


@dataclass(frozen=True)
class PositionedHandoff:
    handoff: Handoff
    # 1 for the next one out of its skill queue; None unless queued.
    queue_position: int | None


@dataclass(frozen=True)
class HandoffDetail:
    handoff: Handoff
    queue_position: int | None
    messages: Sequence[Message]
    transfers: Sequence[HandoffTransfer]
    # Display names of the agents its messages and transfers name, by id.
    agent_names: Mapping[int, str]
    # The files of the handoff and of its messages, by id.
    attachments: Mapping[str, Attachment]


@dataclass(frozen=True)
class SentReply:
    message: Message
    attachment: Attachment | None


@dataclass(frozen=True)
class HandoffCreation:
    result: PositionedHandoff
    created: bool
    estimated_wait_seconds: int | None


@dataclass(frozen=True)
class TranscriptEntry:
    # "bot": said before the handoff, from the bot's transcript; "handoff": after.
    phase: str
    role: str
    text: str
    timestamp: float
    message_id: int | None
    agent_id: int | None
    agent_name: str | None


class HandoffService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaGateway,
        feed: LiveFeed,
        dispatcher: Dispatcher,
        committer: GroupCommitter,
        limits: HandoffLimits,
        refusals: RefusalLog,
        metrics: ServiceMetrics,
        notices: TakeoverNotices,
        links: FileLinks,
    ) -> None:
        self._sessions = sessions
        self._links = links
        self._notices = notices
        self._limits = limits
        self._refusals = refusals
        self._metrics = metrics
        self._transitions = Transitions(sessions, feed, metrics)
        self._replies = ReplyStore(committer)
        self._rasa = rasa
        self._feed = feed
        self._dispatcher = dispatcher

    async def create_handoff(self, request: HandoffRequest) -> HandoffCreation:
        offline = request.mode is not HandoffMode.QUEUE
        try:
            async for attempt in self._transitions.attempts():
                async with attempt as changes:
                    session = changes.session
                    if not offline:
                        existing = await _open_handoff(session, request.sender_id)
                        if existing is not None:
                            return await self._creation(
                                session, existing, created=False
                            )
                    address = await issued_address(session, request.sender_id)
                    await refuse_over_limit(
                        session, self._limits, request.sender_id, address, utcnow()
                    )
                    handoff = Handoff(
                        sender_id=request.sender_id,
                        client_address=address,
                        channel=request.channel,
                        language=request.language,
                        reason=request.reason,
                        status=HandoffStatus.OFFLINE
                        if offline
                        else HandoffStatus.QUEUED,
                        context=request.context,
                        transcript_until=request.transcript_until,
                        mode=request.mode,
                        skill=request.skill,
                        priority=request.priority,
                        trigger=request.trigger,
                        last_customer_activity_at=utcnow(),
                    )
                    await changes.open(handoff, BOT)
                    await link_earlier_files(
                        session, handoff.id, handoff.sender_id, utcnow()
                    )
                    first = await self._creation(session, handoff, created=True)
                    changes.announce(
                        handoff_created_frame(handoff, first.result.queue_position)
                    )
        except HandoffLimitReached as refused:
            await self._refusals.record(request.sender_id, refused.kind)
            raise
        except IntegrityError:
            # A concurrent request for the same customer got there first; the
            # unique index on open handoffs refused the second one.
            async with self._sessions.begin() as session:
                existing = await _open_handoff(session, request.sender_id)
                if existing is None:
                    raise
                return await self._creation(session, existing, created=False)
        self._metrics.handoff_created(request.reason, request.sender_id)
        if offline or not await self._dispatcher.dispatch():
            return first
        async with self._sessions.begin() as session:
            handoff = await _get_handoff(session, handoff.id)
            return await self._creation(session, handoff, created=True)

    async def _creation(
        self, session: AsyncSession, handoff: Handoff, *, created: bool
    ) -> HandoffCreation:
        position = await queue_position(session, handoff)
        wait = None
        if position is not None:
            now = utcnow()
            wait = expected_wait(await read_queue_snapshot(session, now), handoff.id)
            if created:
                # The bot tells the customer this; later updates compare with it.
                handoff.notice_at = now
                handoff.notice_position = position
                handoff.notice_wait_seconds = wait
        return HandoffCreation(PositionedHandoff(handoff, position), created, wait)

    async def list_handoffs(
        self, viewer: Agent, listing: HandoffFilter
    ) -> list[PositionedHandoff]:
        status = listing.status
        query = select(Handoff)
        if status is None:
            query = query.where(Handoff.status.in_(OPEN_STATES))
        else:
            query = query.where(Handoff.status == status)
        if listing.skill is not None:
            query = query.where(Handoff.skill == listing.skill)
        visible = permissions.visible_to(viewer)
        if visible is not None:
            query = query.where(visible)
        if status in FINAL_STATES:
            query = query.order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(
                FINISHED_LISTING_LIMIT
            )
        else:
            query = query.order_by(*QUEUE_ORDER)
        async with self._sessions.begin() as session:
            handoffs = (await session.scalars(query)).all()
            positions = await queue_positions(session)
        return [
            PositionedHandoff(handoff, positions.get(handoff.id))
            for handoff in handoffs
        ]

    async def get_handoff(self, viewer: Agent, handoff_id: int) -> HandoffDetail:
        async with self._sessions.begin() as session:
            handoff = await _get_handoff(session, handoff_id)
            permissions.ensure_can_view(viewer, handoff)
            messages = (
                await session.scalars(
                    select(Message)
                    .where(Message.handoff_id == handoff_id)
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
            transfers = (
                await session.scalars(
                    select(HandoffTransfer)
                    .where(HandoffTransfer.handoff_id == handoff_id)
                    .order_by(HandoffTransfer.id)
                )
            ).all()
            position = await queue_position(session, handoff)
            agent_names = await _agent_names(
                session,
                {message.agent_id for message in messages}
                | {transfer.from_agent_id for transfer in transfers}
                | {transfer.to_agent_id for transfer in transfers},
            )
            attachments = await _attachments(
                session,
                handoff_id,
                {message.attachment_id for message in messages},
            )
        return HandoffDetail(
            handoff, position, messages, transfers, agent_names, attachments
        )

    async def transcript(self, viewer: Agent, handoff_id: int) -> list[TranscriptEntry]:
        """Everything the customer and the bot said, then the handoff's
        conversation with agents; internal notes are not part of it."""
        detail = await self.get_handoff(viewer, handoff_id)
        before = [
            TranscriptEntry(
                "bot",
                entry["role"],
                entry["text"],
                entry["timestamp"],
                None,
                None,
                None,
            )
            for entry in detail.handoff.context.get("transcript", [])
            if entry.get("text")
        ]
        after = [
            TranscriptEntry(
                "handoff",
                message.role.value,
                message.text,
                message.rasa_timestamp or message.created_at.timestamp(),
                message.id,
                message.agent_id,
                None
                if message.agent_id is None
                else detail.agent_names.get(message.agent_id),
            )
            for message in detail.messages
            if message.role is not MessageRole.NOTE
        ]
        return sorted(before, key=lambda entry: entry.timestamp) + after

    async def claim(
        self, handoff_id: int, agent: Agent, *, override_capacity: bool = False
    ) -> PositionedHandoff:
        if override_capacity:
            permissions.require_supervisor(agent)
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                joined = False
                # The handoff's row before the agent's, as everywhere.
                handoff = await _get_handoff(
                    changes.session, handoff_id, for_update=True
                )
                if handoff.status is HandoffStatus.OFFLINE:
                    # The offline worklist is worked later, outside live capacity.
                    await _take_offline(changes, handoff, agent)
                else:
                    if handoff.status is HandoffStatus.QUEUED and not override_capacity:
                        await _ensure_room_for(changes.session, agent.id)
                    joined = await _claim_queued(changes, handoff, agent)
        if joined:
            self._tell(handoff, Takeover.JOINED, agent_name=agent.display_name)
        return PositionedHandoff(handoff, None)

    async def post_agent_message(
        self,
        handoff_id: int,
        agent: Agent,
        text: str,
        attachment_id: str | None = None,
        *,
        client_id: str | None = None,
    ) -> SentReply:
        """Stores the reply and sends it to the customer. Sent again with the same
        ``client_id``, it is the reply stored before: returned as it is once
        delivered, else sent again under its own id (the customer's page shows
        each id once), never stored twice."""
        received = time.perf_counter()
        stored = await self._replies.store(
            Reply(handoff_id, agent, text, attachment_id, client_id)
        )
        message = stored.message
        attachment = stored.attachment
        if stored.again and message.delivery is Delivery.DELIVERED:
            return SentReply(message, attachment)
        if stored.unflagged is not None:
            await self._feed.publish(
                handoff_frame("handoff.updated", stored.unflagged, None)
            )
        # The customer reads who joined before what they write.
        await self._notices.delivered(stored.sender_id)
        try:
            await self._rasa.append_bot_message(
                stored.sender_id,
                message.text,
                message.id,
                agent.display_name,
                attachment=None
                if attachment is None
                else attachment_json(
                    attachment, self._links.customer_url(attachment.id, utcnow())
                ),
            )
        except ChannelDeliveryFailed as error:
            # Rasa answered, and did not keep the message: no echo will come.
            message = await self._replies.record_delivery(
                message.id,
                failed(DeliveryFailureReason(error.reason), permanent=error.permanent),
            )
            await self._feed.publish(
                message_frame(message, agent.display_name, attachment), stored.audience
            )
            raise ChannelDeliveryFailed(
                error.message,
                channel=error.channel,
                reason=error.reason,
                permanent=error.permanent,
                message_id=message.id,
            ) from error
        except RasaUnavailable as error:
            message = await self._replies.record_delivery(
                message.id,
                failed(DeliveryFailureReason.RASA_UNAVAILABLE, permanent=False),
            )
            await self._feed.publish(
                message_frame(message, agent.display_name, attachment), stored.audience
            )
            # Rasa may have taken it after all and its echo already confirmed it.
            if message.delivery is Delivery.FAILED:
                raise RasaUnavailable(error.message, message_id=message.id) from error
            return SentReply(message, attachment)
        self._metrics.agent_reply_relayed(time.perf_counter() - received)
        message = await self._replies.record_delivery(message.id, DELIVERED)
        await self._feed.publish(
            message_frame(message, agent.display_name, attachment), stored.audience
        )
        return SentReply(message, attachment)

    async def add_note(self, handoff_id: int, agent: Agent, text: str) -> Message:
        async with self._sessions.begin() as session:
            handoff = await _get_handoff(session, handoff_id)
            if handoff.status in FINAL_STATES:
                raise InvalidTransition(
                    f"handoff {handoff_id} is {handoff.status.value}",
                    handoff_status=handoff.status.value,
                )
            if handoff.status is not HandoffStatus.QUEUED:
                permissions.ensure_owner_or_supervisor(agent, handoff)
            note = Message(
                handoff_id=handoff_id,
                role=MessageRole.NOTE,
                text=text,
                agent_id=agent.id,
            )
            session.add(note)
        await self._feed.publish(
            message_frame(note, agent.display_name), permissions.audience_for(handoff)
        )
        return note

    async def transfer(
        self, handoff_id: int, actor: Agent, request: TransferRequest
    ) -> PositionedHandoff:
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                session = changes.session
                handoff = await _get_handoff(session, handoff_id, for_update=True)
                if handoff.status is HandoffStatus.QUEUED:
                    permissions.require_supervisor(actor)
                elif handoff.status is HandoffStatus.ASSIGNED:
                    permissions.ensure_owner_or_supervisor(actor, handoff)
                else:
                    raise InvalidTransition(
                        f"a {handoff.status.value} handoff cannot be transferred",
                        handoff_status=handoff.status.value,
                    )
                previous_agent_id = handoff.assigned_agent_id
                previous_status = handoff.status
                now = utcnow()
                target: Agent | None = None
                if request.to_agent_id is not None:
                    target = await session.get(Agent, request.to_agent_id)
                    _ensure_can_receive(target, request.to_agent_id, handoff)
                    if request.override_capacity:
                        permissions.require_supervisor(actor)
                    else:
                        await _ensure_room_for(session, request.to_agent_id)
                    status = HandoffStatus.ASSIGNED
                    changed: dict[str, Any] = {
                        "assigned_agent_id": request.to_agent_id,
                        "assigned_at": handoff.assigned_at or now,
                        "awaiting_agent_since": now,
                    }
                else:
                    assert request.to_skill is not None
                    # The customer keeps their place: the queue orders by arrival.
                    status = HandoffStatus.QUEUED
                    changed = {
                        "assigned_agent_id": None,
                        "skill": request.to_skill,
                        "awaiting_agent_since": None,
                    }
                moved = await _move_or_update(
                    changes,
                    handoff,
                    status,
                    Actor.agent(actor.id),
                    {**changed, "flagged_at": None},
                )
                if not moved:
                    raise InvalidTransition(
                        f"handoff {handoff.id} changed meanwhile",
                        handoff_status=handoff.status.value,
                    )
                session.add(
                    HandoffTransfer(
                        handoff_id=handoff.id,
                        from_agent_id=previous_agent_id,
                        to_agent_id=request.to_agent_id,
                        to_skill=request.to_skill,
                        note=request.note,
                        created_at=now,
                    )
                )
        if target is not None:
            passed = previous_status is HandoffStatus.ASSIGNED
            self._tell(
                handoff,
                Takeover.PASSED_TO_AGENT if passed else Takeover.JOINED,
                agent_name=target.display_name,
            )
        else:
            self._tell(handoff, Takeover.PASSED_TO_QUEUE, skill=request.to_skill)
        await self._dispatcher.dispatch()
        return await self._positioned(handoff_id)

    async def close(
        self, handoff_id: int, agent: Agent, resolution: Resolution
    ) -> PositionedHandoff:
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                handoff = await _get_handoff(changes.session, handoff_id)
                offline = handoff.status is HandoffStatus.OFFLINE
                if offline:
                    await _close_offline(changes, handoff, agent, resolution)
                else:
                    _ensure_assigned_to(handoff, agent, supervisor_may=True)
        if offline:
            return PositionedHandoff(handoff, None)
        await self._notices.delivered(handoff.sender_id)
        # Rasa first: if it is down the handoff stays assigned and the agent
        # can close again, instead of leaving the customer paused forever.
        await self._rasa.resume_and_trigger(
            handoff.sender_id, HANDOFF_CLOSED_INTENT, {"handoff_id": handoff_id}
        )
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                handoff = await _get_handoff(changes.session, handoff_id)
                _ensure_assigned_to(handoff, agent, supervisor_may=True)
                closed = await changes.move(
                    handoff_id,
                    HandoffStatus.RESOLVED,
                    by=Actor.agent(agent.id),
                    reason=TransitionReason.CLOSED,
                    source=HandoffStatus.ASSIGNED,
                    where=[Handoff.assigned_agent_id == handoff.assigned_agent_id],
                    values={
                        "resolved_at": utcnow(),
                        "resolution": resolution,
                        "awaiting_agent_since": None,
                    },
                )
                if closed is None:
                    await changes.session.refresh(handoff)
                    _ensure_assigned_to(handoff, agent, supervisor_may=True)
                    raise InvalidTransition(
                        f"handoff {handoff_id} changed meanwhile",
                        handoff_status=handoff.status.value,
                    )
        # Only a lost lock conflict is swallowed, and the attempt after it ran.
        assert closed is not None
        await self._dispatcher.dispatch()
        return PositionedHandoff(closed, None)

    async def requeue_agent_conversations(self, agent_id: int) -> None:
        """Put a deactivated agent's live conversations back in their queues.

        Each goes back with its own guarded move, so one closed or transferred
        since the read stays as it is.
        """
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                requeued: list[Handoff] = []
                handoff_ids = (
                    await changes.session.scalars(
                        select(Handoff.id).where(
                            Handoff.assigned_agent_id == agent_id,
                            Handoff.status == HandoffStatus.ASSIGNED,
                        )
                    )
                ).all()
                for handoff_id in handoff_ids:
                    moved = await changes.move(
                        handoff_id,
                        HandoffStatus.QUEUED,
                        by=DIRECTORY,
                        reason=TransitionReason.AGENT_DEACTIVATED,
                        where=[Handoff.assigned_agent_id == agent_id],
                        values={
                            "assigned_agent_id": None,
                            "awaiting_agent_since": None,
                            "flagged_at": None,
                        },
                    )
                    if moved is not None:
                        requeued.append(moved)
        for handoff in requeued:
            self._tell(handoff, Takeover.BACK_IN_QUEUE)
        await self._dispatcher.dispatch()

    def _tell(
        self,
        handoff: Handoff,
        takeover: Takeover,
        *,
        agent_name: str | None = None,
        skill: Skill | None = None,
    ) -> None:
        """Tells the customer, once the change has committed."""
        self._notices.tell(
            TakeoverNotice(
                handoff.id,
                handoff.sender_id,
                handoff.language,
                takeover,
                agent_name=agent_name,
                skill=skill,
            )
        )

    async def _positioned(self, handoff_id: int) -> PositionedHandoff:
        async with self._sessions.begin() as session:
            handoff = await _get_handoff(session, handoff_id)
            return PositionedHandoff(handoff, await queue_position(session, handoff))


async def _claim_queued(changes: Changes, handoff: Handoff, agent: Agent) -> bool:
    """Whether this claim assigned the handoff (not when it was the agent's already)."""
    # The guarded move decides the race: whoever changes the row first wins,
    # on SQLite and PostgreSQL alike.
    now = utcnow()
    claimed = await changes.move(
        handoff.id,
        HandoffStatus.ASSIGNED,
        by=Actor.agent(agent.id),
        reason=TransitionReason.CLAIMED,
        values={
            "assigned_agent_id": agent.id,
            "assigned_at": now,
            "awaiting_agent_since": now,
            "flagged_at": None,
        },
    )
    if claimed is not None:
        return True
    await changes.session.refresh(handoff)
    if handoff.status is HandoffStatus.ASSIGNED:
        if handoff.assigned_agent_id == agent.id:
            return False
        raise AlreadyAssigned(
            f"handoff {handoff.id} is already assigned to another agent"
        )
    ensure_allowed(handoff.status, HandoffStatus.ASSIGNED)
    # It went back to the queue between the update and the read.
    raise AlreadyAssigned(f"handoff {handoff.id} changed meanwhile; try again")


async def _take_offline(changes: Changes, handoff: Handoff, agent: Agent) -> None:
    # An offline callback or ticket stays offline while someone works it: a
    # change of owner, not of status, still guarded so only one agent takes it.
    taken = await changes.reassign(
        handoff.id,
        by=Actor.agent(agent.id),
        reason=TransitionReason.CLAIMED,
        where=[
            Handoff.status == HandoffStatus.OFFLINE,
            Handoff.assigned_agent_id.is_(None),
        ],
        values={"assigned_agent_id": agent.id, "assigned_at": utcnow()},
    )
    await changes.session.refresh(handoff)
    if taken is not None:
        changes.announce(handoff_frame("handoff.updated", handoff, None))
    elif handoff.assigned_agent_id != agent.id:
        raise AlreadyAssigned(f"handoff {handoff.id} is already taken")


async def _close_offline(
    changes: Changes, handoff: Handoff, agent: Agent, resolution: Resolution
) -> None:
    # The customer is not waiting in a paused chat, so Rasa is not involved.
    if handoff.assigned_agent_id is None:
        raise InvalidTransition(
            f"take handoff {handoff.id} from the offline worklist first",
            handoff_status=handoff.status.value,
        )
    permissions.ensure_owner_or_supervisor(agent, handoff)
    closed = await changes.move(
        handoff.id,
        HandoffStatus.RESOLVED,
        by=Actor.agent(agent.id),
        reason=TransitionReason.CLOSED,
        source=HandoffStatus.OFFLINE,
        where=[Handoff.assigned_agent_id == handoff.assigned_agent_id],
        values={"resolved_at": utcnow(), "resolution": resolution},
    )
    if closed is None:
        await changes.session.refresh(handoff)
        raise InvalidTransition(
            f"handoff {handoff.id} changed meanwhile",
            handoff_status=handoff.status.value,
        )


async def _move_or_update(
    changes: Changes,
    handoff: Handoff,
    target: HandoffStatus,
    by: Actor,
    values: dict[str, Any],
) -> bool:
    """A transfer: a move when the status changes, else a change of owner or
    queue guarded the same way and recorded as a step of its own; False when
    the handoff changed meanwhile."""
    guard: list[ColumnElement[bool]] = [Handoff.assigned_agent_id.is_(None)]
    if handoff.assigned_agent_id is not None:
        guard = [Handoff.assigned_agent_id == handoff.assigned_agent_id]
    if handoff.status is not target:
        moved = await changes.move(
            handoff.id,
            target,
            by=by,
            reason=TransitionReason.TRANSFERRED,
            where=guard,
            values=values,
            announce_position=True,
        )
        return moved is not None
    updated = await changes.reassign(
        handoff.id,
        by=by,
        reason=TransitionReason.TRANSFERRED,
        where=[Handoff.status == target, *guard],
        values=values,
    )
    await changes.session.refresh(handoff)
    if updated is None:
        return False
    position = await queue_position(changes.session, handoff)
    changes.announce(handoff_frame("handoff.updated", handoff, position))
    return True


async def _get_handoff(
    session: AsyncSession, handoff_id: int, *, for_update: bool = False
) -> Handoff:
    # FOR NO KEY UPDATE: rows that refer to the handoff (its messages, its
    # steps) may still be written meanwhile.
    handoff = await session.get(
        Handoff, handoff_id, with_for_update={"key_share": True} if for_update else None
    )
    if handoff is None:
        raise NotFound(f"handoff {handoff_id} does not exist")
    return handoff


async def _agent_names(
    session: AsyncSession, agent_ids: set[int | None]
) -> dict[int, str]:
    wanted = sorted(agent_id for agent_id in agent_ids if agent_id is not None)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Agent.id, Agent.display_name).where(Agent.id.in_(wanted))
    )
    return {agent_id: name for agent_id, name in rows}


async def _attachments(
    session: AsyncSession, handoff_id: int, carried: set[str | None]
) -> dict[str, Attachment]:
    """The kept files of the handoff and those its messages carry, by id."""
    wanted = sorted(item for item in carried if item is not None)
    belongs = Attachment.handoff_id == handoff_id
    rows = await session.execute(
        select(*ATTACHMENT_METADATA).where(
            Attachment.erased_at.is_(None),
            or_(belongs, Attachment.id.in_(wanted)) if wanted else belongs,
        )
    )
    return {row.id: Attachment(**row._mapping) for row in rows}


async def _open_handoff(session: AsyncSession, sender_id: str) -> Handoff | None:
    return await session.scalar(
        select(Handoff).where(
            Handoff.sender_id == sender_id, Handoff.status.in_(OPEN_STATES)
        )
    )


def _ensure_assigned_to(
    handoff: Handoff, agent: Agent, *, supervisor_may: bool = False
) -> None:
    if handoff.status is not HandoffStatus.ASSIGNED:
        raise InvalidTransition(
            f"handoff {handoff.id} is {handoff.status.value}, not assigned",
            handoff_status=handoff.status.value,
        )
    if supervisor_may and permissions.is_supervisor(agent):
        return
    if handoff.assigned_agent_id != agent.id:
        raise Forbidden(f"handoff {handoff.id} is assigned to another agent")


async def _ensure_room_for(session: AsyncSession, agent_id: int) -> None:
    """Refuses a live conversation the agent has no capacity left for.

    The agent's row is locked (after the handoff's), so two claims or transfers
    to the same agent at once cannot both take the last place. FOR NO KEY
    UPDATE leaves rows that only refer to the agent free to be written.
    """
    capacity = await session.scalar(
        select(Agent.capacity)
        .where(Agent.id == agent_id)
        .with_for_update(key_share=True)
    )
    load = await session.scalar(select(load_of(agent_id)))
    if capacity is not None and load is not None and load >= capacity:
        raise AtCapacity(
            f"agent {agent_id} already has {load} of {capacity} conversations; "
            "a supervisor may assign more explicitly (override_capacity)",
            load=load,
            capacity=capacity,
        )


def _ensure_can_receive(target: Agent | None, target_id: int, handoff: Handoff) -> None:
    if target is None or not target.active:
        raise InvalidRequest(f"agent {target_id} does not exist or is deactivated")
    if target.id == handoff.assigned_agent_id:
        raise InvalidRequest(f"handoff {handoff.id} is already assigned to them")
    if target.status is AgentStatus.OFFLINE:
        raise AgentUnavailable(f"{target.display_name} is offline")
