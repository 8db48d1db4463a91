"""Verified sign-ins kept for a moment: expiry, revocation, other instances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from conftest import Team
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.errors import Unauthorized
from handoff.staff.auth import AuthService, SignIn
from handoff.staff.token_cache import VerifiedTokens
from handoff.storage.models import AuthToken, utcnow


@dataclass(frozen=True)
class Verified:
    agent_id: int
    expires_at: datetime


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def later() -> datetime:
    return utcnow() + timedelta(hours=1)


def test_an_entry_is_trusted_for_its_window_only() -> None:
    clock = Clock()
    cache: VerifiedTokens[Verified] = VerifiedTokens(2.0, clock=clock)
    verified = Verified(1, later())
    cache.put("a", verified, cache.generation)

    clock.now += 1.9
    assert cache.get("a") == verified
    clock.now += 0.1
    assert cache.get("a") is None


def test_an_expired_token_is_never_answered_from_memory() -> None:
    cache: VerifiedTokens[Verified] = VerifiedTokens(60.0, clock=Clock())
    cache.put("a", Verified(1, utcnow() - timedelta(seconds=1)), cache.generation)

    assert cache.get("a") is None


def test_forgetting_a_token_or_an_agent() -> None:
    cache: VerifiedTokens[Verified] = VerifiedTokens(60.0, clock=Clock())
    for digest, agent_id in (("a", 1), ("b", 1), ("c", 2)):
        cache.put(digest, Verified(agent_id, later()), cache.generation)

    cache.forget_token("c")
    assert cache.get("c") is None
    assert cache.get("a") is not None
    cache.forget_agent(1)
    assert cache.get("a") is None and cache.get("b") is None


def test_a_lookup_that_overlapped_a_revocation_is_not_kept() -> None:
    cache: VerifiedTokens[Verified] = VerifiedTokens(60.0, clock=Clock())
    generation = cache.generation  # the lookup starts
    cache.forget_agent(1)  # a revocation commits meanwhile
    cache.put("a", Verified(1, later()), generation)

    assert cache.get("a") is None


def test_the_oldest_entries_go_first() -> None:
    cache: VerifiedTokens[Verified] = VerifiedTokens(60.0, max_entries=2, clock=Clock())
    for digest in "abc":
        cache.put(digest, Verified(1, later()), cache.generation)

    assert [cache.get(digest) is not None for digest in "abc"] == [False, True, True]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cached_auth(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> AuthService:
    verified: VerifiedTokens[SignIn] = VerifiedTokens(2.0, clock=clock)
    return AuthService(sessions, timedelta(hours=1), verified=verified)


async def test_sign_out_ends_the_token_at_once(
    cached_auth: AuthService, team: Team
) -> None:
    agent = team.mina
    issued = await cached_auth.issue_token(agent)
    assert (await cached_auth.agent_for_token(issued.token)).id == agent.id

    await cached_auth.logout(issued.token)

    with pytest.raises(Unauthorized):
        await cached_auth.agent_for_token(issued.token)


async def test_revoking_every_sign_in_ends_them_at_once(
    cached_auth: AuthService, team: Team
) -> None:
    agent = team.mina
    first = await cached_auth.issue_token(agent)
    second = await cached_auth.issue_token(agent)
    for issued in (first, second):
        await cached_auth.agent_for_token(issued.token)

    await cached_auth.revoke_all(agent.id)

    for issued in (first, second):
        with pytest.raises(Unauthorized):
            await cached_auth.agent_for_token(issued.token)


async def test_a_revocation_elsewhere_counts_once_the_window_passes(
    cached_auth: AuthService,
    team: Team,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    agent = team.mina
    issued = await cached_auth.issue_token(agent)
    await cached_auth.agent_for_token(issued.token)
    # Another instance of the service signs the agent out.
    async with sessions.begin() as session:
        await session.execute(delete(AuthToken).where(AuthToken.agent_id == agent.id))

    clock.now += 1.0
    assert (await cached_auth.agent_for_token(issued.token)).id == agent.id
    clock.now += 1.0
    with pytest.raises(Unauthorized):
        await cached_auth.agent_for_token(issued.token)
