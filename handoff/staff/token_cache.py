"""Sign-ins verified a moment ago, so a burst of an agent's requests costs one
database lookup.

An entry is trusted for at most ``VERIFIED_FOR_SECONDS`` and never past its
token's expiry. Revocations in this process (sign-out, deactivation, a new
password) and changes to the agent forget its entries at once; so does a
sign-out or deactivation on another instance, once the live feed's relay brings
it (PostgreSQL). Should that message be lost, the revocation still takes effect
here within ``VERIFIED_FOR_SECONDS``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from handoff.storage.models import utcnow

VERIFIED_FOR_SECONDS = 2.0
# About one entry per agent signed in; the oldest go first past this.
MAX_ENTRIES = 10_000


class Verified(Protocol):
    @property
    def agent_id(self) -> int: ...

    @property
    def expires_at(self) -> datetime: ...


V = TypeVar("V", bound=Verified)


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    verified_at: float


class VerifiedTokens(Generic[V]):
    def __init__(
        self,
        verified_for_seconds: float = VERIFIED_FOR_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verified_for = verified_for_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        # Counts forgetting; a lookup that overlapped one may have read a
        # sign-in that was being revoked, and is not kept.
        self.generation = 0

    def get(self, token_sha256: str) -> V | None:
        entry = self._entries.get(token_sha256)
        if entry is None:
            return None
        if (
            self._clock() - entry.verified_at >= self._verified_for
            or entry.value.expires_at <= utcnow()
        ):
            del self._entries[token_sha256]
            return None
        return entry.value

    def put(self, token_sha256: str, value: V, generation: int) -> None:
        """Keeps ``value``, read from the database at ``generation``."""
        if generation != self.generation:
            return
        self._entries[token_sha256] = _Entry(value, self._clock())
        self._entries.move_to_end(token_sha256)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget_token(self, token_sha256: str) -> None:
        self.generation += 1
        self._entries.pop(token_sha256, None)

    def forget_agent(self, agent_id: int) -> None:
        self.generation += 1
        for digest in [
            digest
            for digest, entry in self._entries.items()
            if entry.value.agent_id == agent_id
        ]:
            del self._entries[digest]
