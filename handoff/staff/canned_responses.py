"""Canned responses: ready-made replies per language, kept by supervisors.

Their text may hold the placeholders ``{name}`` (the customer's verified name)
and ``{agent_name}``; the console fills them in before the agent sends.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.validation import CannedResponseFields
from handoff.errors import AlreadyExists, InvalidRequest, NotFound
from handoff.storage.models import CannedResponse, utcnow


class CannedResponses:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list(self, language: str | None) -> list[CannedResponse]:
        query = select(CannedResponse).order_by(
            CannedResponse.language, CannedResponse.title
        )
        if language is not None:
            query = query.where(CannedResponse.language == language)
        async with self._sessions.begin() as session:
            return list((await session.scalars(query)).all())

    async def create(self, fields: CannedResponseFields) -> CannedResponse:
        if fields.language is None or fields.title is None or fields.text is None:
            raise InvalidRequest("language, title and text are required")
        now = utcnow()
        canned = CannedResponse(
            language=fields.language,
            title=fields.title,
            text=fields.text,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(canned)
        except IntegrityError:
            raise _title_taken(fields.language, fields.title) from None
        return canned

    async def update(
        self, canned_id: int, fields: CannedResponseFields
    ) -> CannedResponse:
        try:
            async with self._sessions.begin() as session:
                canned = await session.get(CannedResponse, canned_id)
                if canned is None:
                    raise NotFound(f"canned response {canned_id} does not exist")
                canned.language = fields.language or canned.language
                canned.title = fields.title or canned.title
                canned.text = fields.text or canned.text
                canned.updated_at = utcnow()
        except IntegrityError:
            raise _title_taken(fields.language, fields.title) from None
        return canned

    async def delete(self, canned_id: int) -> None:
        async with self._sessions.begin() as session:
            deleted = await session.scalar(
                delete(CannedResponse)
                .where(CannedResponse.id == canned_id)
                .returning(CannedResponse.id)
            )
        if deleted is None:
            raise NotFound(f"canned response {canned_id} does not exist")


def _title_taken(language: str | None, title: str | None) -> AlreadyExists:
    return AlreadyExists(f"a canned response titled {title!r} exists in {language}")
