"""Customers' satisfaction ratings, posted by the bot after a conversation.

A rating of a handoff must come from that handoff's customer, after it was
resolved, and only once; the agent who handled it is kept with the rating. A
rating without a handoff rates the bot and joins the customer's latest
conversation. The bot stores the score as soon as the customer gives it and asks
for an optional comment afterwards, which its customer may add once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.validation import MAX_DATABASE_ID
from handoff.errors import DomainError, Forbidden, InvalidRequest, NotFound
from handoff.queue.states import HandoffStatus
from handoff.storage.models import Conversation, CsatRating, Handoff

MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT_LENGTH = 1000
REQUIRED_FIELDS = frozenset({"sender_id", "score"})
OPTIONAL_FIELDS = frozenset({"comment", "handoff_id"})
COMMENT_FIELDS = frozenset({"sender_id", "comment"})


class AlreadyRated(DomainError):
    status = 409
    code = "already_rated"


class NotResolved(DomainError):
    status = 409
    code = "not_resolved"


class CommentExists(DomainError):
    status = 409
    code = "comment_exists"


@dataclass(frozen=True)
class CsatRequest:
    sender_id: str
    score: int
    comment: str | None
    handoff_id: int | None


@dataclass(frozen=True)
class CommentRequest:
    sender_id: str
    comment: str


def parse_csat_request(body: Mapping[str, Any]) -> CsatRequest:
    _check_fields(body, REQUIRED_FIELDS, OPTIONAL_FIELDS)
    score = body["score"]
    if (
        isinstance(score, bool)
        or not isinstance(score, int)
        or not MIN_SCORE <= score <= MAX_SCORE
    ):
        _invalid(f"score must be a whole number from {MIN_SCORE} to {MAX_SCORE}")
    comment = body.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            _invalid("comment must be a string or null")
        comment = _checked_comment(comment)
    handoff_id = body.get("handoff_id")
    if handoff_id is not None and (
        isinstance(handoff_id, bool)
        or not isinstance(handoff_id, int)
        or handoff_id < 1
    ):
        _invalid("handoff_id must be a handoff id or null")
    return CsatRequest(_sender_id(body), score, comment, handoff_id)


def parse_comment_request(body: Mapping[str, Any]) -> CommentRequest:
    _check_fields(body, COMMENT_FIELDS, frozenset())
    comment = body["comment"]
    if not isinstance(comment, str):
        _invalid("comment must be a string")
    checked = _checked_comment(comment)
    if checked is None:
        _invalid("comment must not be empty")
    return CommentRequest(_sender_id(body), checked)


def _check_fields(
    body: Mapping[str, Any], required: frozenset[str], optional: frozenset[str]
) -> None:
    missing = required - body.keys()
    if missing:
        _invalid(f"body: missing field(s): {', '.join(sorted(missing))}")
    unknown = body.keys() - required - optional
    if unknown:
        _invalid(f"body: unknown field(s): {', '.join(sorted(unknown))}")


def _sender_id(body: Mapping[str, Any]) -> str:
    sender_id = body["sender_id"]
    if not isinstance(sender_id, str) or not sender_id.strip():
        _invalid("sender_id must be a non-empty string")
    if len(sender_id) > 255:
        _invalid("sender_id must be at most 255 characters")
    return sender_id


def _checked_comment(comment: str) -> str | None:
    stripped = comment.strip() or None
    if stripped is not None and len(stripped) > MAX_COMMENT_LENGTH:
        _invalid(f"comment must be at most {MAX_COMMENT_LENGTH} characters")
    return stripped


async def record_rating(
    sessions: async_sessionmaker[AsyncSession], request: CsatRequest
) -> CsatRating:
    try:
        async with sessions.begin() as session:
            rating = await _new_rating(session, request)
            session.add(rating)
    except IntegrityError:
        # Two ratings of one handoff at once: the unique handoff_id refused one.
        raise AlreadyRated(f"handoff {request.handoff_id} is already rated") from None
    return rating


async def add_comment(
    sessions: async_sessionmaker[AsyncSession], rating_id: int, request: CommentRequest
) -> CsatRating:
    async with sessions.begin() as session:
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


def _invalid(message: str) -> NoReturn:
    raise InvalidRequest(message)
