"""Fencing: a turn whose conversation lock lapsed cannot overwrite a later turn.

The lock store (bot/lock_store.py) numbers each hold of a conversation's lock with a
ticket that only grows. While a turn holds the lock, ``holding`` makes its ticket
known to everything the turn runs (a context variable, which asyncio tasks the turn
starts inherit). The tracker store (bot/tracker_store.py) writes the ticket beside
the conversation's events, in the same transaction, and only when no later ticket
has written already (``advance``): a server whose event loop stalled for longer than
its lease, while another server took the conversation and handled the next turn, has
its save refused with ``StaleTurn`` instead of writing events computed from a
conversation that has moved on. The refused turn fails as a whole, as when the
database is unreachable (bot/tracker_store_failures.py).

Saves made without the lock (none of Rasa's turns or API calls) are not fenced.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.observability.logs import log_id_for

_HELD: ContextVar[Mapping[str, int]] = ContextVar(
    "tandem_held_tickets", default=MappingProxyType({})
)

metadata = sa.MetaData()
fences = sa.Table(
    "tandem_conversation_fences",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("ticket", sa.BigInteger, nullable=False),
)


class StaleTurn(RuntimeError):
    """The turn's lock lapsed and a later turn of the conversation has been saved."""


@contextmanager
def holding(conversation_id: str, ticket: int) -> Iterator[None]:
    """Within the block, the conversation's lock is held with ``ticket``."""
    token = _HELD.set(MappingProxyType({**_HELD.get(), conversation_id: ticket}))
    try:
        yield
    finally:
        _HELD.reset(token)


def held_ticket(conversation_id: str) -> int | None:
    """The ticket this turn holds the conversation's lock with, if it holds it."""
    return _HELD.get().get(conversation_id)


def create_table(engine: sa.engine.Engine) -> None:
    """Creates the fence table if it is missing; several servers may start at once."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except sa.exc.DatabaseError:
        # Another server created it between the check and the creation.
        if not sa.inspect(engine).has_table(fences.name):
            raise


def advance(session: Session, sender_id: str, ticket: int) -> None:
    """Records ``ticket`` as the conversation's latest in the session's transaction;
    raises ``StaleTurn`` when a later ticket is recorded already."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
            fences
        ).values(sender_id=sender_id, ticket=ticket)
        upsert = insert.on_conflict_do_update(
            index_elements=[fences.c.sender_id],
            set_={"ticket": insert.excluded.ticket},
            where=fences.c.ticket <= insert.excluded.ticket,
        )
        if session.execute(upsert).rowcount == 0:
            _refuse(session, sender_id, ticket)
        return
    latest = session.execute(
        sa.select(fences.c.ticket)
        .where(fences.c.sender_id == sender_id)
        .with_for_update()
    ).scalar()
    if latest is None:
        session.execute(sa.insert(fences).values(sender_id=sender_id, ticket=ticket))
    elif latest > ticket:
        _refuse(session, sender_id, ticket)
    else:
        session.execute(
            sa.update(fences)
            .where(fences.c.sender_id == sender_id)
            .values(ticket=ticket)
        )


def _refuse(session: Session, sender_id: str, ticket: int) -> None:
    session.rollback()
    raise StaleTurn(
        f"Not saved: the lock of conversation {log_id_for(sender_id)} (ticket"
        f" {ticket}) lapsed during the turn and a later turn has been saved"
    )
