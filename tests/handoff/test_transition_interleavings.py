"""Random interleavings of every kind of status change, run concurrently on two
service instances sharing one PostgreSQL database: whatever lands, each
handoff's recorded history is a path of the state machine that ends in its
current status, and no handoff has more than one owner."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, add_agent, handoff_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postgres_databases import fresh_postgres_database
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.validation import AgentChanges, RasaEvent, TransferRequest
from handoff.app import create_app
from handoff.app_keys import AGENTS, HANDOFFS, INGESTOR, SWEEPER
from handoff.errors import DomainError
from handoff.queue.states import HandoffStatus, is_allowed
from handoff.settings import Settings
from handoff.storage.models import Agent, AgentRole, Handoff, HandoffTransition, utcnow
from handoff.vocabulary import AgentStatus, Resolution, Skill

pytestmark = pytest.mark.postgres

Client = TestClient[web.Request, web.Application]
HANDOFFS_EACH = 4
AGENTS_EACH = 2
OPERATIONS = (
    "claim",
    "release",
    "transfer",
    "close",
    "cancel",
    "sweep",
    "deactivate",
)


@dataclass(frozen=True)
class Operation:
    kind: str
    handoff: int
    agent: int
    instance: int


operations = st.builds(
    Operation,
    kind=st.sampled_from(OPERATIONS),
    handoff=st.integers(0, HANDOFFS_EACH - 1),
    # The last index is the supervisor.
    agent=st.integers(0, AGENTS_EACH),
    instance=st.integers(0, 1),
)
rounds = st.lists(st.lists(operations, min_size=2, max_size=6), min_size=1, max_size=3)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def instances(aiohttp_client: AiohttpClient, settings: Settings) -> list[Client]:
    return [
        await aiohttp_client(create_app(settings, run_sweeper=False)) for _ in range(2)
    ]


_examples = itertools.count()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=rounds)
async def test_every_history_is_a_path_of_the_state_machine(
    plan: list[list[Operation]],
    instances: list[Client],
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
) -> None:
    example = next(_examples)
    async with sessions.begin() as session:
        await session.execute(text("TRUNCATE handoffs, agents CASCADE"))
    staff = [
        await add_agent(
            sessions, agent_password_hash, f"agent{example}x{index}", capacity=1
        )
        for index in range(AGENTS_EACH)
    ] + [
        await add_agent(
            sessions,
            agent_password_hash,
            f"supervisor{example}",
            status=AgentStatus.OFFLINE,
            role=AgentRole.SUPERVISOR,
        )
    ]
    senders = [f"customer{example}x{index}" for index in range(HANDOFFS_EACH)]
    created = await asyncio.gather(
        *(
            instances[index % 2].post(
                "/api/rasa/handoffs", json=handoff_body(sender), headers=BOT_HEADERS
            )
            for index, sender in enumerate(senders)
        )
    )
    handoff_ids = [(await response.json())["id"] for response in created]
    timestamps = itertools.count(1732290400)

    def run(operation: Operation) -> Awaitable[object]:
        app = instances[operation.instance].app
        handoff_id = handoff_ids[operation.handoff]
        agent = staff[operation.agent]
        other = staff[(operation.agent + 1) % AGENTS_EACH]
        match operation.kind:
            case "claim":
                return app[HANDOFFS].claim(handoff_id, agent)
            case "release":
                return app[HANDOFFS].transfer(
                    handoff_id, agent, TransferRequest(None, Skill.GENERAL, "later")
                )
            case "transfer":
                return app[HANDOFFS].transfer(
                    handoff_id, agent, TransferRequest(other.id, None, "yours")
                )
            case "close":
                return app[HANDOFFS].close(handoff_id, agent, Resolution.RESOLVED)
            case "cancel":
                event = RasaEvent(
                    "user", senders[operation.handoff], next(timestamps), "cancel", None
                )
                return app[INGESTOR].ingest([event])
            case "sweep":
                # Far enough ahead that every queued customer has gone silent.
                return app[SWEEPER].sweep(utcnow() + timedelta(days=1))
            case _:
                return app[AGENTS].update(other.id, AgentChanges(active=False))

    for operations_at_once in plan:
        outcomes = await asyncio.gather(
            *(run(operation) for operation in operations_at_once),
            return_exceptions=True,
        )
        for outcome in outcomes:
            # Refusals (taken meanwhile, not theirs, no longer open) are fine.
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, DomainError
            ):
                raise outcome

    async with sessions() as session:
        handoffs = {
            handoff.id: handoff
            for handoff in await session.scalars(
                select(Handoff).where(Handoff.id.in_(handoff_ids))
            )
        }
        steps = (
            await session.scalars(
                select(HandoffTransition)
                .where(HandoffTransition.handoff_id.in_(handoff_ids))
                .order_by(HandoffTransition.id)
            )
        ).all()
        agent_ids = set((await session.scalars(select(Agent.id))).all())
    for handoff_id, handoff in handoffs.items():
        history = [step for step in steps if step.handoff_id == handoff_id]
        first, *later = history
        assert (first.from_status, first.to_status) == (None, HandoffStatus.QUEUED)
        state = first.to_status
        owner = first.assigned_agent_id
        for step in later:
            assert step.from_status is state, history
            if step.to_status is state:
                # A transfer in the same state: from agent to agent, or a
                # queued handoff from queue to queue.
                if state is HandoffStatus.ASSIGNED:
                    assert step.assigned_agent_id not in (None, owner), history
                else:
                    assert state is HandoffStatus.QUEUED, history
                    assert step.assigned_agent_id is None, history
                owner = step.assigned_agent_id
                continue
            assert is_allowed(state, step.to_status), history
            if step.to_status is HandoffStatus.ASSIGNED:
                # Taking a handoff someone owns would make two owners.
                assert owner is None, history
                assert step.assigned_agent_id in agent_ids
            if step.to_status is HandoffStatus.QUEUED:
                assert step.assigned_agent_id is None
            state, owner = step.to_status, step.assigned_agent_id
        assert handoff.status is state
        if handoff.status is HandoffStatus.ASSIGNED:
            assert handoff.assigned_agent_id in agent_ids
        if handoff.status is HandoffStatus.QUEUED:
            assert handoff.assigned_agent_id is None
