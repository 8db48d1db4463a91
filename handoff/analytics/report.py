"""The numbers over a period, per day or per hour.

Rows are selected by SQL and aggregated here, so that averages, percentiles
and rates are computed the same way on SQLite and PostgreSQL. A handoff counts
in the bucket it was created in, a conversation in the bucket of the
customer's first message, a rating in the bucket it was given in.

Definitions (also in handoff/openapi.yaml, GET /api/metrics):

- containment: conversations the bot handled alone / all conversations;
- wait: from a queued handoff's creation to its claim by an agent;
- handle time: the time agents held a resolved queued handoff, from each
  claim or transfer to them to the next step (a transfer on, a release to a
  queue, the close), credited per agent to the one who held it
  (handoff.analytics.handle_time); time back in a queue is nobody's;
- service level: handoffs answered within the target wait / handoffs whose wait
  is over (answered or abandoned); abandonment rate: abandoned / the same;
- callbacks and tickets (out of hours) never queue, so they count as handoffs
  but not in waits, service level or abandonment;
- refusals: customers' requests refused by a limit (handoffs, ratings, one-time
  codes, phone numbers), in the period, by kind;
- channels: the conversations, containment, handoffs and ratings of each channel
  (from the sender id's prefix), and its agent replies that were not delivered,
  counted in the bucket the reply was written in.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from handoff.analytics.handle_time import Hold, held_seconds, resolved_holds
from handoff.analytics.periods import ReportPeriod
from handoff.analytics.statistics import mean, percentile, ratio
from handoff.conversation.channels import channel_of
from handoff.queue.states import HandoffStatus
from handoff.storage.models import (
    Agent,
    Conversation,
    CsatRating,
    Handoff,
    Message,
    Refusal,
)
from handoff.vocabulary import Channel, HandoffMode

WAIT_PERCENTILE = 0.9
# A score of 4 or 5 is a satisfied customer, the usual "CSAT %".
SATISFIED_SCORE = 4

METRICS = (
    "conversations",
    "contained",
    "handed_off",
    "containment_rate",
    "handoffs",
    "answered",
    "abandoned",
    "abandonment_rate",
    "service_level",
    "wait_avg_seconds",
    "wait_p90_seconds",
    "handle_avg_seconds",
    "handle_total_seconds",
    "csat_bot_count",
    "csat_bot_average",
    "csat_agent_count",
    "csat_agent_average",
    "csat_satisfied_rate",
)
# Each channel's share of the numbers, and its undelivered agent replies.
CHANNEL_METRICS = (
    "conversations",
    "contained",
    "containment_rate",
    "handoffs",
    "csat_bot_count",
    "csat_bot_average",
    "csat_agent_count",
    "csat_agent_average",
    "csat_satisfied_rate",
)


@dataclass(frozen=True)
class HandoffRow:
    id: int
    created_at: datetime
    assigned_at: datetime | None
    resolved_at: datetime | None
    status: HandoffStatus
    mode: HandoffMode
    reason: str
    skill: str
    agent_id: int | None
    channel: Channel
    # Seconds each agent held a resolved queued handoff; empty for the others.
    held: dict[int, float] = field(default_factory=dict)

    @property
    def handle_seconds(self) -> float | None:
        """The whole handle time of a resolved queued handoff, else None."""
        if not self.held:
            return None
        return math.fsum(self.held.values())


@dataclass(frozen=True)
class ConversationRow:
    first_message_at: datetime
    handed_off: bool
    channel: Channel


@dataclass(frozen=True)
class RatingRow:
    id: int
    created_at: datetime
    score: int
    comment: str | None
    handoff_id: int | None
    agent_id: int | None
    # The reason of the rated handoff; None for a rating of the bot.
    reason: str | None
    channel: Channel


@dataclass(frozen=True)
class FailedDelivery:
    channel: Channel
    reason: str


@dataclass
class Tally:
    """What one bucket (or the whole period) has seen."""

    conversations: list[ConversationRow] = field(default_factory=list)
    handoffs: list[HandoffRow] = field(default_factory=list)
    ratings: list[RatingRow] = field(default_factory=list)

    def metrics(self, service_level_seconds: int) -> dict[str, Any]:
        handed_off = sum(row.handed_off for row in self.conversations)
        queued = [row for row in self.handoffs if row.mode is HandoffMode.QUEUE]
        waits = [
            (row.assigned_at - row.created_at).total_seconds()
            for row in queued
            if row.assigned_at is not None
        ]
        abandoned = sum(row.status is HandoffStatus.ABANDONED for row in queued)
        waits_over = len(waits) + abandoned
        handles = [
            row.handle_seconds for row in queued if row.handle_seconds is not None
        ]
        bot_scores = [row.score for row in self.ratings if row.handoff_id is None]
        agent_scores = [row.score for row in self.ratings if row.handoff_id is not None]
        satisfied = sum(row.score >= SATISFIED_SCORE for row in self.ratings)
        return {
            "conversations": len(self.conversations),
            "contained": len(self.conversations) - handed_off,
            "handed_off": handed_off,
            "containment_rate": _rounded(
                ratio(len(self.conversations) - handed_off, len(self.conversations)),
                4,
            ),
            "handoffs": len(self.handoffs),
            "answered": len(waits),
            "abandoned": abandoned,
            "abandonment_rate": _rounded(ratio(abandoned, waits_over), 4),
            "service_level": _rounded(
                ratio(sum(wait <= service_level_seconds for wait in waits), waits_over),
                4,
            ),
            "wait_avg_seconds": _rounded(mean(waits), 1),
            "wait_p90_seconds": _rounded(percentile(waits, WAIT_PERCENTILE), 1),
            "handle_avg_seconds": _rounded(mean(handles), 1),
            "handle_total_seconds": round(math.fsum(handles), 1),
            "csat_bot_count": len(bot_scores),
            "csat_bot_average": _rounded(mean(bot_scores), 2),
            "csat_agent_count": len(agent_scores),
            "csat_agent_average": _rounded(mean(agent_scores), 2),
            "csat_satisfied_rate": _rounded(ratio(satisfied, len(self.ratings)), 4),
        }


@dataclass(frozen=True)
class AgentNumbers:
    agent_id: int
    username: str
    display_name: str
    # Handoffs this agent closed as their owner.
    handoffs_resolved: int
    # Resolved queued handoffs this agent held at some point, and for how long.
    handoffs_held: int
    held_seconds: float
    handle_avg_seconds: float | None
    csat_count: int
    csat_average: float | None


@dataclass(frozen=True)
class ChannelNumbers:
    channel: Channel
    metrics: dict[str, Any]
    # Undelivered agent replies, by reason.
    delivery_failures: Counter[str]


@dataclass(frozen=True)
class BucketNumbers:
    start: datetime
    metrics: dict[str, Any]
    reasons: Counter[str]
    skills: Counter[str]


@dataclass(frozen=True)
class Report:
    period: ReportPeriod
    service_level_seconds: int
    totals: dict[str, Any]
    buckets: list[BucketNumbers]
    reasons: Counter[str]
    skills: Counter[str]
    agents: list[AgentNumbers]
    # Every rating of the period, newest first, for the comments and their CSV.
    ratings: list[RatingRow]
    agent_names: dict[int, Agent]
    # Customers' requests refused by a limit, by kind.
    refusals: Counter[str]
    # Every channel, those without a conversation included.
    channels: list[ChannelNumbers]


async def build_report(
    sessions: async_sessionmaker[AsyncSession],
    period: ReportPeriod,
    service_level_seconds: int,
) -> Report:
    async with sessions() as session:
        handoffs = _with_holds(
            await _handoffs(session, period),
            await resolved_holds(session, period.start, period.end),
        )
        conversations = await _conversations(session, period)
        ratings = await _ratings(session, period)
        agents = await _agents(session, handoffs, ratings)
        refusals = await _refusals(session, period)
        failures = await _delivery_failures(session, period)

    totals = Tally(conversations, handoffs, ratings)
    by_bucket: dict[datetime, Tally] = defaultdict(Tally)
    for conversation in conversations:
        by_bucket[period.bucket_of(conversation.first_message_at)].conversations.append(
            conversation
        )
    for handoff in handoffs:
        by_bucket[period.bucket_of(handoff.created_at)].handoffs.append(handoff)
    for rating in ratings:
        by_bucket[period.bucket_of(rating.created_at)].ratings.append(rating)

    buckets = []
    for start in period.buckets():
        tally = by_bucket.get(start, Tally())
        buckets.append(
            BucketNumbers(
                start=start,
                metrics=tally.metrics(service_level_seconds),
                reasons=Counter(row.reason for row in tally.handoffs),
                skills=Counter(row.skill for row in tally.handoffs),
            )
        )
    return Report(
        period=period,
        service_level_seconds=service_level_seconds,
        totals=totals.metrics(service_level_seconds),
        buckets=buckets,
        reasons=Counter(row.reason for row in handoffs),
        skills=Counter(row.skill for row in handoffs),
        agents=_agent_numbers(agents, handoffs, ratings),
        ratings=sorted(ratings, key=lambda row: (row.created_at, row.id), reverse=True),
        agent_names={agent.id: agent for agent in agents},
        refusals=refusals,
        channels=_channel_numbers(
            conversations, handoffs, ratings, failures, service_level_seconds
        ),
    )


async def _handoffs(session: AsyncSession, period: ReportPeriod) -> list[HandoffRow]:
    rows = await session.execute(
        select(
            Handoff.id,
            Handoff.created_at,
            Handoff.assigned_at,
            Handoff.resolved_at,
            Handoff.status,
            Handoff.mode,
            Handoff.reason,
            Handoff.skill,
            Handoff.assigned_agent_id,
            Handoff.sender_id,
        ).where(Handoff.created_at >= period.start, Handoff.created_at < period.end)
    )
    return [
        HandoffRow(
            id=row.id,
            created_at=row.created_at,
            assigned_at=row.assigned_at,
            resolved_at=row.resolved_at,
            status=row.status,
            mode=row.mode,
            reason=row.reason,
            skill=row.skill.value,
            agent_id=row.assigned_agent_id,
            channel=channel_of(row.sender_id),
        )
        for row in rows
    ]


def _with_holds(
    handoffs: Sequence[HandoffRow], holds: Mapping[int, list[Hold]]
) -> list[HandoffRow]:
    """Each resolved queued handoff with the seconds each agent held it.

    One without a recorded hold (resolved before owners were recorded) is
    credited, claim to close, to the agent who closed it.
    """
    rows = []
    for row in handoffs:
        queued = row.mode is HandoffMode.QUEUE
        if not queued or row.status is not HandoffStatus.RESOLVED:
            rows.append(row)
        elif row.id in holds:
            rows.append(dataclasses.replace(row, held=held_seconds(holds[row.id])))
        elif (
            row.agent_id is not None
            and row.assigned_at is not None
            and row.resolved_at is not None
        ):
            hold = Hold(row.agent_id, row.assigned_at, row.resolved_at)
            rows.append(dataclasses.replace(row, held={row.agent_id: hold.seconds}))
        else:
            rows.append(row)
    return rows


async def _conversations(
    session: AsyncSession, period: ReportPeriod
) -> list[ConversationRow]:
    # Handed off: a handoff of the same customer created after the conversation
    # started and before the customer's next conversation started.
    later = aliased(Conversation)
    handed_off = exists().where(
        Handoff.sender_id == Conversation.sender_id,
        Handoff.created_at >= Conversation.started_at,
        # Two levels down, the outer tables must be named to be correlated.
        ~exists()
        .where(
            and_(
                later.sender_id == Conversation.sender_id,
                later.started_at > Conversation.started_at,
                later.started_at <= Handoff.created_at,
            )
        )
        .correlate(Conversation, Handoff),
    )
    rows = await session.execute(
        select(
            Conversation.first_message_at,
            handed_off.label("handed_off"),
            Conversation.sender_id,
        ).where(
            Conversation.first_message_at >= period.start,
            Conversation.first_message_at < period.end,
        )
    )
    return [
        ConversationRow(
            first_message_at=row.first_message_at,
            handed_off=row.handed_off,
            channel=channel_of(row.sender_id),
        )
        for row in rows
    ]


async def _ratings(session: AsyncSession, period: ReportPeriod) -> list[RatingRow]:
    rows = await session.execute(
        select(
            CsatRating.id,
            CsatRating.created_at,
            CsatRating.score,
            CsatRating.comment,
            CsatRating.handoff_id,
            CsatRating.agent_id,
            Handoff.reason,
            CsatRating.sender_id,
        )
        .outerjoin(Handoff, Handoff.id == CsatRating.handoff_id)
        .where(
            CsatRating.created_at >= period.start, CsatRating.created_at < period.end
        )
    )
    return [
        RatingRow(
            id=row.id,
            created_at=row.created_at,
            score=row.score,
            comment=row.comment,
            handoff_id=row.handoff_id,
            agent_id=row.agent_id,
            reason=row.reason,
            channel=channel_of(row.sender_id),
        )
        for row in rows
    ]


async def _refusals(session: AsyncSession, period: ReportPeriod) -> Counter[str]:
    rows = await session.execute(
        select(Refusal.kind, func.count())
        .where(Refusal.created_at >= period.start, Refusal.created_at < period.end)
        .group_by(Refusal.kind)
    )
    return Counter({kind: count for kind, count in rows})


async def _delivery_failures(
    session: AsyncSession, period: ReportPeriod
) -> list[FailedDelivery]:
    rows = await session.execute(
        select(Handoff.sender_id, Message.failure_reason)
        .join(Handoff, Handoff.id == Message.handoff_id)
        .where(
            Message.failure_reason.is_not(None),
            Message.created_at >= period.start,
            Message.created_at < period.end,
        )
    )
    return [
        FailedDelivery(channel_of(row.sender_id), row.failure_reason.value)
        for row in rows
    ]


def _channel_numbers(
    conversations: Sequence[ConversationRow],
    handoffs: Sequence[HandoffRow],
    ratings: Sequence[RatingRow],
    failures: Sequence[FailedDelivery],
    service_level_seconds: int,
) -> list[ChannelNumbers]:
    numbers = []
    for channel in Channel:
        tally = Tally(
            [row for row in conversations if row.channel is channel],
            [row for row in handoffs if row.channel is channel],
            [row for row in ratings if row.channel is channel],
        )
        metrics = tally.metrics(service_level_seconds)
        numbers.append(
            ChannelNumbers(
                channel=channel,
                metrics={name: metrics[name] for name in CHANNEL_METRICS},
                delivery_failures=Counter(
                    failure.reason for failure in failures if failure.channel is channel
                ),
            )
        )
    return numbers


async def _agents(
    session: AsyncSession,
    handoffs: Iterable[HandoffRow],
    ratings: Iterable[RatingRow],
) -> Sequence[Agent]:
    ids = (
        {row.agent_id for row in handoffs}
        | {agent_id for row in handoffs for agent_id in row.held}
        | {row.agent_id for row in ratings}
    )
    ids.discard(None)
    if not ids:
        return []
    return (
        await session.scalars(select(Agent).where(Agent.id.in_(ids)).order_by(Agent.id))
    ).all()


def _agent_numbers(
    agents: Sequence[Agent],
    handoffs: Sequence[HandoffRow],
    ratings: Sequence[RatingRow],
) -> list[AgentNumbers]:
    numbers = []
    for agent in agents:
        resolved = sum(
            row.agent_id == agent.id and row.status is HandoffStatus.RESOLVED
            for row in handoffs
        )
        holds = [row.held[agent.id] for row in handoffs if agent.id in row.held]
        scores = [
            row.score
            for row in ratings
            if row.agent_id == agent.id and row.handoff_id is not None
        ]
        numbers.append(
            AgentNumbers(
                agent_id=agent.id,
                username=agent.username,
                display_name=agent.display_name,
                handoffs_resolved=resolved,
                handoffs_held=len(holds),
                held_seconds=round(math.fsum(holds), 1),
                handle_avg_seconds=_rounded(mean(holds), 1),
                csat_count=len(scores),
                csat_average=_rounded(mean(scores), 2),
            )
        )
    return numbers


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
