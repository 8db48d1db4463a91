"""Agent login, bearer tokens and the bot's shared secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.errors import Unauthorized
from handoff.realtime.live_feed import EndedSignIns
from handoff.staff.login_limits import LoginLimits
from handoff.staff.token_cache import VerifiedTokens
from handoff.storage.models import Agent, AuthToken, utcnow

TOKEN_BYTES = 32
WRONG_CREDENTIALS = "wrong username or password"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    agent: Agent


@dataclass(frozen=True)
class SignIn:
    """The agent behind a presented token, and that token's lifetime."""

    agent: Agent
    token_sha256: str
    expires_at: datetime

    @property
    def agent_id(self) -> int:
        return self.agent.id


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        token_ttl: timedelta,
        hasher: PasswordHasher | None = None,
        verified: VerifiedTokens[SignIn] | None = None,
    ) -> None:
        self._sessions = sessions
        self._limits = LoginLimits(sessions)
        self._token_ttl = token_ttl
        self._hasher = hasher or PasswordHasher()
        self._decoy_hash: str | None = None
        self._verified: VerifiedTokens[SignIn] = verified or VerifiedTokens()

    async def hash_password(self, password: str) -> str:
        # Argon2 is deliberately slow; keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def login(
        self, username: str, password: str, client_address: str
    ) -> IssuedToken:
        attempt = await self._limits.take_attempt(username, client_address)
        async with self._sessions.begin() as session:
            agent = await session.scalar(
                select(Agent).where(Agent.username == username, Agent.active)
            )
        if agent is None:
            # Spend the same time as for a real account, so the answer's delay
            # does not tell which usernames exist.
            await self._verify(await self._decoy(), password)
            raise Unauthorized(WRONG_CREDENTIALS)
        if not await self._verify(agent.password_hash, password):
            raise Unauthorized(WRONG_CREDENTIALS)
        await self._limits.give_back(attempt)

        rehashed = None
        if self._hasher.check_needs_rehash(agent.password_hash):
            rehashed = await self.hash_password(password)
        async with self._sessions.begin() as session:
            if rehashed is not None:
                await session.execute(
                    update(Agent)
                    .where(Agent.id == agent.id)
                    .values(password_hash=rehashed)
                )
            await session.execute(
                delete(AuthToken).where(AuthToken.expires_at <= utcnow())
            )
            return await self._issue(session, agent)

    async def logout(self, token: str) -> Agent:
        """Revoke the token; the agent goes offline unless signed in elsewhere."""
        sign_in = await self.sign_in_for_token(token)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AuthToken).where(AuthToken.token_sha256 == sign_in.token_sha256)
            )
        self._verified.forget_token(sign_in.token_sha256)
        return sign_in.agent

    async def has_sign_in(self, agent_id: int) -> bool:
        async with self._sessions.begin() as session:
            token_id = await session.scalar(
                select(AuthToken.id)
                .where(AuthToken.agent_id == agent_id, AuthToken.expires_at > utcnow())
                .limit(1)
            )
        return token_id is not None

    async def revoke_all(self, agent_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(AuthToken).where(AuthToken.agent_id == agent_id)
            )
        self._verified.forget_agent(agent_id)

    def forget_agent(self, agent_id: int) -> None:
        """The agent changed: its next request reads it from the database again."""
        self._verified.forget_agent(agent_id)

    def forget_sign_ins(self, ended: EndedSignIns) -> None:
        """Sign-ins another instance ended are checked in the database again."""
        if ended.token_sha256 is not None:
            self._verified.forget_token(ended.token_sha256)
        if ended.agent_id is not None:
            self._verified.forget_agent(ended.agent_id)

    async def issue_token(self, agent: Agent) -> IssuedToken:
        async with self._sessions.begin() as session:
            return await self._issue(session, agent)

    async def agent_for_token(self, token: str) -> Agent:
        return (await self.sign_in_for_token(token)).agent

    async def sign_in_for_token(self, token: str) -> SignIn:
        digest = token_digest(token)
        verified = self._verified.get(digest)
        if verified is not None:
            return verified
        generation = self._verified.generation
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    select(Agent, AuthToken.expires_at)
                    .join(AuthToken, AuthToken.agent_id == Agent.id)
                    .where(
                        AuthToken.token_sha256 == digest,
                        AuthToken.expires_at > utcnow(),
                        Agent.active,
                    )
                )
            ).one_or_none()
        if row is None:
            raise Unauthorized("the token is unknown or has expired")
        agent, expires_at = row
        sign_in = SignIn(agent=agent, token_sha256=digest, expires_at=expires_at)
        self._verified.put(digest, sign_in, generation)
        return sign_in

    async def _issue(self, session: AsyncSession, agent: Agent) -> IssuedToken:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = utcnow() + self._token_ttl
        session.add(
            AuthToken(
                token_sha256=token_digest(token),
                agent_id=agent.id,
                expires_at=expires_at,
            )
        )
        await session.flush()
        return IssuedToken(token=token, expires_at=expires_at, agent=agent)

    async def usernames_with_password(self, password: str) -> list[str]:
        """Active accounts whose password is ``password``, checked one by one."""
        async with self._sessions() as session:
            agents = (
                await session.execute(
                    select(Agent.username, Agent.password_hash)
                    .where(Agent.active.is_(True))
                    .order_by(Agent.id)
                )
            ).all()
        return [
            username
            for username, password_hash in agents
            if await self._verify(password_hash, password)
        ]

    async def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash_password(secrets.token_urlsafe(16))
        return self._decoy_hash


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer token is required")
    return token.strip()


def check_service_secret(request: web.Request, secret: str) -> None:
    presented = bearer_token(request)
    if not hmac.compare_digest(presented.encode("utf-8"), secret.encode("utf-8")):
        raise Unauthorized("wrong service secret")
