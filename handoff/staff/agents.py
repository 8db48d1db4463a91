"""Agent accounts: the directory supervisors manage, agents' own status, and
the demo team seeded into an empty database."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.presenters import agent_frame
from handoff.api.validation import AgentChanges, NewAgent, OwnSettings
from handoff.errors import AlreadyExists, NotFound
from handoff.queue.assignment import Dispatcher, load_of
from handoff.queue.handoffs import HandoffService
from handoff.realtime.live_feed import EndedSignIns, LiveFeed
from handoff.staff.auth import AuthService, token_digest
from handoff.storage.models import Agent, AgentRole, AgentSkill, utcnow
from handoff.vocabulary import DEFAULT_STAFF_LANGUAGE, AgentStatus, Skill

logger = logging.getLogger(__name__)

DEMO_AGENTS = (
    ("mina", "Mina Kim", AgentRole.AGENT, (Skill.BILLING, Skill.GENERAL)),
    ("joon", "Joon Park", AgentRole.AGENT, (Skill.TECHNICAL, Skill.GENERAL)),
    ("sora", "Sora Lee", AgentRole.SUPERVISOR, tuple(Skill)),
)


@dataclass(frozen=True)
class AgentProfile:
    agent: Agent
    skills: frozenset[Skill]
    # Live conversations assigned now.
    load: int


class AgentDirectory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        auth: AuthService,
        handoffs: HandoffService,
        dispatcher: Dispatcher,
        feed: LiveFeed,
    ) -> None:
        self._sessions = sessions
        self._auth = auth
        self._handoffs = handoffs
        self._dispatcher = dispatcher
        self._feed = feed

    async def list_agents(self) -> list[AgentProfile]:
        async with self._sessions.begin() as session:
            return await _profiles(session, None)

    async def profile(self, agent_id: int) -> AgentProfile:
        async with self._sessions.begin() as session:
            profiles = await _profiles(session, agent_id)
        if not profiles:
            raise NotFound(f"agent {agent_id} does not exist")
        return profiles[0]

    async def create(self, request: NewAgent) -> AgentProfile:
        agent_id = await insert_agent(self._sessions, self._auth, request)
        return await self._announce(agent_id)

    async def update(self, agent_id: int, changes: AgentChanges) -> AgentProfile:
        password_hash = (
            None
            if changes.password is None
            else await self._auth.hash_password(changes.password)
        )
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id, with_for_update=True)
            if agent is None:
                raise NotFound(f"agent {agent_id} does not exist")
            if changes.display_name is not None:
                agent.display_name = changes.display_name
            if password_hash is not None:
                agent.password_hash = password_hash
            if changes.capacity is not None:
                agent.capacity = changes.capacity
            if changes.skills is not None:
                await _replace_skills(session, agent_id, changes.skills)
            if changes.active is not None:
                agent.active = changes.active
            if changes.language is not None:
                agent.language = changes.language
            status = changes.status if agent.active else AgentStatus.OFFLINE
            if status is not None and status is not agent.status:
                agent.status = status
                agent.status_changed_at = utcnow()
        self._auth.forget_agent(agent_id)
        if changes.active is False or password_hash is not None:
            await self._sign_out_everywhere(agent_id)
        if changes.active is False:
            await self._handoffs.requeue_agent_conversations(agent_id)
        await self._dispatcher.dispatch()
        return await self._announce(agent_id)

    async def set_status(self, agent: Agent, status: AgentStatus) -> AgentProfile:
        async with self._sessions.begin() as session:
            current = await session.get(Agent, agent.id, with_for_update=True)
            if current is None:
                raise NotFound(f"agent {agent.id} does not exist")
            changed = current.status is not status
            if changed:
                current.status = status
                current.status_changed_at = utcnow()
        if changed:
            # Told before the assignments below: a console told of them finds
            # the agent online in its team list already.
            await self._announce(agent.id)
        if status is AgentStatus.ONLINE:
            await self._dispatcher.dispatch()
        return await self.profile(agent.id)

    async def change_own_settings(
        self, agent: Agent, settings: OwnSettings
    ) -> AgentProfile:
        async with self._sessions.begin() as session:
            current = await session.get(Agent, agent.id, with_for_update=True)
            if current is None:
                raise NotFound(f"agent {agent.id} does not exist")
            current.language = settings.language
        # The verified-token cache holds the agent as signed in; the next call
        # must see the new language.
        self._auth.forget_agent(agent.id)
        return await self.profile(agent.id)

    async def sign_out(self, token: str) -> None:
        """Revoke one sign-in; with no sign-in left the agent is offline."""
        agent = await self._auth.logout(token)
        digest = token_digest(token)
        await self._feed.sign_out(EndedSignIns(token_sha256=digest))
        if not await self._auth.has_sign_in(agent.id):
            await self.set_status(agent, AgentStatus.OFFLINE)

    async def _announce(self, agent_id: int) -> AgentProfile:
        """The agent's profile, told to every console's team list."""
        profile = await self.profile(agent_id)
        await self._feed.publish(
            agent_frame(profile.agent, profile.skills, profile.load)
        )
        return profile

    async def _sign_out_everywhere(self, agent_id: int) -> None:
        await self._auth.revoke_all(agent_id)
        await self._feed.sign_out(EndedSignIns(agent_id=agent_id))


async def _profiles(session: AsyncSession, agent_id: int | None) -> list[AgentProfile]:
    query = select(Agent, load_of(Agent.id)).order_by(Agent.id)
    skill_query = select(AgentSkill.agent_id, AgentSkill.skill)
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
        skill_query = skill_query.where(AgentSkill.agent_id == agent_id)
    skills: dict[int, set[Skill]] = defaultdict(set)
    for owner, skill in await session.execute(skill_query):
        skills[owner].add(skill)
    return [
        AgentProfile(agent, frozenset(skills[agent.id]), load)
        for agent, load in await session.execute(query)
    ]


async def _replace_skills(
    session: AsyncSession, agent_id: int, skills: frozenset[Skill]
) -> None:
    await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
    session.add_all(AgentSkill(agent_id=agent_id, skill=skill) for skill in skills)


async def insert_agent(
    sessions: async_sessionmaker[AsyncSession], auth: AuthService, request: NewAgent
) -> int:
    """A new account, offline until its first sign-in; returns its id."""
    agent = Agent(
        username=request.username,
        display_name=request.display_name,
        role=AgentRole(request.role),
        password_hash=await auth.hash_password(request.password),
        status=AgentStatus.OFFLINE,
        capacity=request.capacity,
        active=True,
        status_changed_at=utcnow(),
        language=request.language,
    )
    try:
        async with sessions.begin() as session:
            session.add(agent)
            await session.flush()
            session.add_all(
                AgentSkill(agent_id=agent.id, skill=skill) for skill in request.skills
            )
    except IntegrityError:
        raise AlreadyExists(f"username {request.username} is taken") from None
    return agent.id


async def seed_demo_agents(
    sessions: async_sessionmaker[AsyncSession], auth: AuthService, password: str
) -> list[str]:
    """Create the demo agents if there are no agents at all; return who was added."""
    async with sessions.begin() as session:
        if await session.scalar(select(func.count()).select_from(Agent)):
            return []
    agents = [
        Agent(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=await auth.hash_password(password),
            status=AgentStatus.OFFLINE,
            status_changed_at=utcnow(),
            language=DEFAULT_STAFF_LANGUAGE,
        )
        for username, display_name, role, _ in DEMO_AGENTS
    ]
    try:
        async with sessions.begin() as session:
            # Another instance starting at the same time may have seeded already.
            if await session.scalar(select(func.count()).select_from(Agent)):
                return []
            session.add_all(agents)
            await session.flush()
            session.add_all(
                AgentSkill(agent_id=agent.id, skill=skill)
                for agent, (*_, skills) in zip(agents, DEMO_AGENTS, strict=True)
                for skill in skills
            )
    except IntegrityError:
        return []
    usernames = [agent.username for agent in agents]
    logger.info("seeded demo agents: %s", ", ".join(usernames))
    return usernames
