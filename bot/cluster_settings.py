"""What several Rasa servers on one tracker database need, checked before they start.

The tracker store can keep the latest conversations in memory
(``cached_conversations``, bot/conversation_cache.py), so that a turn does not read
its conversation back. That is right only while this process is the only writer of
the database: a conversation's next message may reach another Rasa server, whose turn
this process's memory would not have, and the next turn here would start from a stale
conversation and write its events after the wrong count. Conversely, several servers
need one lock per conversation that all of them see, which the in-memory lock store
is not.

The rule, from what the configuration says about the number of writers:

- ``TANDEM_RASA_INSTANCES`` is how many Rasa servers share the tracker database
  (1 when unset), and Rasa's ``SANIC_WORKERS`` how many processes each runs.
- With more than one writer, ``cached_conversations`` must be 0 and the lock store
  must not be in memory.
- A lock store that is not in memory is how Rasa itself recognises a set-up for
  several processes (it allows ``SANIC_WORKERS`` > 1 only then), so it also rules
  the cache out, whatever ``TANDEM_RASA_INSTANCES`` says.

The tracker store checks the first two when it is created, under whatever command
started Rasa; ``bot/server.py`` (the entry point of every Tandem launcher) checks the
whole rule against the endpoints file before Rasa loads anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasa.shared.exceptions import RasaException

INSTANCES_VARIABLE = "TANDEM_RASA_INSTANCES"
WORKERS_VARIABLE = "SANIC_WORKERS"
IN_MEMORY_LOCK_STORES = (None, "", "in_memory")


class ClusterSettingsError(RasaException):
    """A configuration that would serve stale conversations or interleave turns."""


def writers(environ: Mapping[str, str]) -> int:
    """How many Rasa processes write the tracker database, by the settings."""
    return _count(environ, INSTANCES_VARIABLE) * _count(environ, WORKERS_VARIABLE)


def check_cache(cached_conversations: int, environ: Mapping[str, str]) -> None:
    """Refuses a conversation cache when more than one process writes."""
    if cached_conversations and writers(environ) > 1:
        raise ClusterSettingsError(
            f"cached_conversations is {cached_conversations}, but "
            f"{INSTANCES_VARIABLE}={environ.get(INSTANCES_VARIABLE, '1')} and "
            f"{WORKERS_VARIABLE}={environ.get(WORKERS_VARIABLE, '1')} make more "
            "than one Rasa process write the tracker database: each would serve "
            "conversations from its own memory without the others' turns. Set "
            "cached_conversations: 0 in the endpoints file's tracker_store."
        )


def check_endpoints(endpoints: Any, environ: Mapping[str, str]) -> None:
    """The whole rule, on Rasa's ``AvailableEndpoints`` read from the endpoints
    file."""
    tracker_store = endpoints.tracker_store
    cached = tracker_store.kwargs.get("cached_conversations", 0) if tracker_store else 0
    if not isinstance(cached, int) or isinstance(cached, bool):
        raise ClusterSettingsError(
            f"cached_conversations must be a whole number, not {cached!r}"
        )
    check_cache(cached, environ)
    lock_store = endpoints.lock_store
    lock_type = lock_store.type if lock_store else None
    in_memory = lock_type in IN_MEMORY_LOCK_STORES
    if in_memory and writers(environ) > 1:
        raise ClusterSettingsError(
            f"{INSTANCES_VARIABLE} and {WORKERS_VARIABLE} make more than one Rasa "
            "process, but the lock store is in memory: each process would lock "
            "conversations only against itself. Configure a shared lock store "
            "(lock_store: type: bot.lock_store.RedisTicketLockStore)."
        )
    if cached and not in_memory:
        raise ClusterSettingsError(
            f"cached_conversations is {cached}, but the lock store ({lock_type}) is "
            "one for several Rasa processes: with another server writing the same "
            "conversations, this one would serve them from its memory without the "
            "other's turns. Set cached_conversations: 0 in the endpoints file's "
            "tracker_store."
        )


def _count(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ClusterSettingsError(f"{name} must be a whole number >= 1, not {raw!r}")
    return value
