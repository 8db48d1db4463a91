"""Typed keys for what the application holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.analytics.conversations import ConversationRecorder
from handoff.analytics.service import Analytics
from handoff.conversation.attachments import AttachmentStore
from handoff.conversation.chat_session_limits import ChatSessionIssuer
from handoff.conversation.customer_data import CustomerData
from handoff.conversation.dead_letters import DeadLetters
from handoff.conversation.ingest import EventIngestor
from handoff.conversation.late_deliveries import LateDeliveries
from handoff.conversation.rasa_client import RasaGateway
from handoff.conversation.ratings import RatingService
from handoff.conversation.refusals import RefusalLog
from handoff.conversation.takeover_notices import TakeoverNotices
from handoff.observability.metrics import ServiceMetrics
from handoff.observability.scrape import ScrapeTimeGauges
from handoff.queue.assignment import Dispatcher
from handoff.queue.handoffs import HandoffService
from handoff.queue.sweeper import Sweeper
from handoff.realtime.live_feed import LiveFeed
from handoff.settings import Settings
from handoff.staff.agents import AgentDirectory
from handoff.staff.auth import AuthService
from handoff.staff.canned_responses import CannedResponses

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey[Callable[[], datetime]]("clock")
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey[async_sessionmaker[AsyncSession]]("sessions")
RASA = web.AppKey[RasaGateway]("rasa")
LIVE_FEED = web.AppKey("live_feed", LiveFeed)
AUTH = web.AppKey("auth", AuthService)
HANDOFFS = web.AppKey("handoffs", HandoffService)
INGESTOR = web.AppKey("ingestor", EventIngestor)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
TAKEOVER_NOTICES = web.AppKey("takeover_notices", TakeoverNotices)
AGENTS = web.AppKey("agents", AgentDirectory)
CANNED_RESPONSES = web.AppKey("canned_responses", CannedResponses)
SWEEPER = web.AppKey("sweeper", Sweeper)
CONVERSATIONS = web.AppKey("conversations", ConversationRecorder)
RATINGS = web.AppKey("ratings", RatingService)
REFUSALS = web.AppKey("refusals", RefusalLog)
CUSTOMER_DATA = web.AppKey("customer_data", CustomerData)
ANALYTICS = web.AppKey("analytics", Analytics)
DEAD_LETTERS = web.AppKey("dead_letters", DeadLetters)
CHAT_SESSIONS = web.AppKey("chat_sessions", ChatSessionIssuer)
METRICS = web.AppKey("metrics", ServiceMetrics)
SCRAPE_GAUGES = web.AppKey("scrape_gauges", ScrapeTimeGauges)
ATTACHMENTS = web.AppKey("attachments", AttachmentStore)
LATE_DELIVERIES = web.AppKey("late_deliveries", LateDeliveries)
