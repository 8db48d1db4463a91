"""Customers' satisfaction ratings, posted by the bot after a conversation.

A rating of a handoff must come from that handoff's customer, after it was
resolved, and only once; the agent who handled it is kept with the rating. A
rating without a handoff rates the bot and joins the customer's latest
conversation, which takes only so many of them (the bot would otherwise store
every "5" a customer types). Refused ratings are counted in the supervisors'
numbers. The bot stores the score as soon as the customer gives it and asks
for an optional comment afterwards, which its customer may add once.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.validation import MAX_DATABASE_ID, CommentRequest, CsatRequest
from handoff.conversation.refusals import RefusalLog
from handoff.errors import DomainError, Forbidden, NotFound
from handoff.queue.states import HandoffStatus
from handoff.storage.models import Conversation, CsatRating, Handoff
from handoff.vocabulary import RefusalKind


class AlreadyRated(DomainError):
    status = 409
    code = "already_rated"


class NotResolved(DomainError):
    status = 409
    code = "not_resolved"


class RatingLimitReached(DomainError):
    status = 409
    code = "rating_limit"


class CommentExists(DomainError):
    status = 409
    code = "comment_exists"


class RatingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot_ratings_per_conversation: int,
        refusals: RefusalLog,
    ) -> None:
        self._sessions = sessions
        self._bot_ratings_per_conversation = bot_ratings_per_conversation
        self._refusals = refusals

    async def record(self, request: CsatRequest) -> CsatRating:
        try:
            return await self._record(request)
        except (AlreadyRated, RatingLimitReached):
            await self._refusals.record(request.sender_id, RefusalKind.RATINGS)
            raise

    async def _record(self, request: CsatRequest) -> CsatRating:
        try:
            async with self._sessions.begin() as session:
                rating = await _new_rating(session, request)
                if rating.handoff_id is None:
                    await self._refuse_over_limit(session, rating)
                session.add(rating)
        except IntegrityError:
            # Two ratings of one handoff at once: the unique handoff_id refused one.
            raise AlreadyRated(
                f"handoff {request.handoff_id} is already rated"
            ) from None
        return rating

    async def _refuse_over_limit(
        self, session: AsyncSession, rating: CsatRating
    ) -> None:
        conversation = (
            CsatRating.conversation_id.is_(None)
            if rating.conversation_id is None
            else CsatRating.conversation_id == rating.conversation_id
        )
        count = await session.scalar(
            select(func.count()).where(
                CsatRating.sender_id == rating.sender_id,
                CsatRating.handoff_id.is_(None),
                conversation,
            )
        )
        if (count or 0) >= self._bot_ratings_per_conversation:
            raise RatingLimitReached(
                f"this conversation has rated the bot {count} time(s), the most it may"
            )

    async def add_comment(self, rating_id: int, request: CommentRequest) -> CsatRating:
        async with self._sessions.begin() as session:
            # Locked: the same comment posted twice at once is stored once.
            rating = await session.get(CsatRating, rating_id, with_for_update=True)
            if rating is None:
                raise NotFound(f"rating {rating_id} does not exist")
            if rating.sender_id != request.sender_id:
                raise Forbidden(f"rating {rating_id} is another customer's")
            if rating.comment is not None:
                raise CommentExists(f"rating {rating_id} has a comment already")
            rating.comment = request.comment
        return rating


async def _new_rating(session: AsyncSession, request: CsatRequest) -> CsatRating:
    rating = CsatRating(
        sender_id=request.sender_id,
        score=request.score,
        comment=request.comment,
        handoff_id=request.handoff_id,
    )
    if request.handoff_id is None:
        rating.conversation_id = await session.scalar(
            select(Conversation.id)
            .where(Conversation.sender_id == request.sender_id)
            .order_by(Conversation.started_at.desc())
            .limit(1)
        )
        return rating
    handoff = (
        await session.get(Handoff, request.handoff_id)
        if request.handoff_id <= MAX_DATABASE_ID
        else None
    )
    if handoff is None:
        raise NotFound(f"handoff {request.handoff_id} does not exist")
    if handoff.sender_id != request.sender_id:
        raise Forbidden(f"handoff {handoff.id} is another customer's")
    if handoff.status is not HandoffStatus.RESOLVED:
        raise NotResolved(
            f"handoff {handoff.id} is {handoff.status.value}; "
            "only a resolved handoff can be rated",
            handoff_status=handoff.status.value,
        )
    if await session.scalar(
        select(CsatRating.id).where(CsatRating.handoff_id == handoff.id)
    ):
        raise AlreadyRated(f"handoff {handoff.id} is already rated")
    rating.agent_id = handoff.assigned_agent_id
    return rating
