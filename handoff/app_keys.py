"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.agents import AgentDirectory
from handoff.analytics.conversations import ConversationRecorder
from handoff.auth import AuthService
from handoff.canned_responses import CannedResponses
from handoff.handoffs import HandoffService
from handoff.ingest import EventIngestor
from handoff.live_feed import LiveFeed
from handoff.rasa_client import RasaGateway
from handoff.routing import Dispatcher
from handoff.settings import Settings
from handoff.sweeper import Sweeper

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey[async_sessionmaker[AsyncSession]]("sessions")
RASA = web.AppKey[RasaGateway]("rasa")
LIVE_FEED = web.AppKey("live_feed", LiveFeed)
AUTH = web.AppKey("auth", AuthService)
HANDOFFS = web.AppKey("handoffs", HandoffService)
INGESTOR = web.AppKey("ingestor", EventIngestor)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
AGENTS = web.AppKey("agents", AgentDirectory)
CANNED_RESPONSES = web.AppKey("canned_responses", CannedResponses)
SWEEPER = web.AppKey("sweeper", Sweeper)
CONVERSATIONS = web.AppKey("conversations", ConversationRecorder)
