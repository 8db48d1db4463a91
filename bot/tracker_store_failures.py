"""A conversation the database cannot give or keep is an error, not a new one.

Rasa 3.6's agent wraps every tracker store in ``FailSafeTrackerStore``, which
swallows the store's errors: a conversation that cannot be read is handled as a new
one (a paused conversation with an agent wakes up as a fresh chat with the bot), and
one that cannot be saved is kept in that server's memory and handed to the event
broker from there, while the database never has it and the other Rasa servers never
see it. So while PostgreSQL is down a customer would be answered as a stranger and
told nothing was wrong, and the turn would be lost once the database is back.

``install`` makes the wrapper raise the store's error instead (its
``on_tracker_store_error`` callback re-raises it), so the turn fails as a whole: the
web chat answers with the trouble notice and the page sends the message again
(bot/web_chat_turns.py), and an API call from the handoff service fails and is
recorded as such. It wraps ``Agent._create_tracker_store`` once, from the server's
entry point (bot/server.py); ``uninstall`` puts it back (tests).
"""

from __future__ import annotations

from typing import Any, NoReturn

from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain

_original: list[Any] = []


def raise_it(error: Exception) -> NoReturn:
    """The wrapper's error callback: the store's error goes on up."""
    raise error


def loud(store: TrackerStore) -> FailSafeTrackerStore:
    """Rasa's wrapper of ``store``, raising the store's errors."""
    return FailSafeTrackerStore(store, on_tracker_store_error=raise_it)


def install() -> None:
    """Makes every agent's tracker store raise its errors; a second call changes
    nothing."""
    if _original:
        return
    _original.append(Agent.__dict__["_create_tracker_store"])
    create = _original[0].__func__

    def _create_tracker_store(
        store: TrackerStore | None, domain: Domain
    ) -> TrackerStore:
        wrapped = create(store, domain)
        if isinstance(wrapped, FailSafeTrackerStore):
            # The wrapped store (or Rasa's in-memory one), raising its errors.
            return loud(wrapped._tracker_store)
        return wrapped

    Agent._create_tracker_store = staticmethod(_create_tracker_store)


def uninstall() -> None:
    if _original:
        Agent._create_tracker_store = _original.pop()
