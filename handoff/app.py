"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from handoff.analytics.conversations import ConversationRecorder
from handoff.analytics.service import Analytics
from handoff.api.error_middleware import error_middleware
from handoff.api.log_context import conversation_scope
from handoff.api.routes import setup_routes
from handoff.api.security_headers import security_headers
from handoff.app_keys import (
    AGENTS,
    ANALYTICS,
    ATTACHMENTS,
    AUTH,
    CANNED_RESPONSES,
    CHAT_SESSIONS,
    CLOCK,
    CONVERSATIONS,
    CUSTOMER_DATA,
    DEAD_LETTERS,
    DISPATCHER,
    ENGINE,
    HANDOFFS,
    INGESTOR,
    LATE_DELIVERIES,
    LIVE_FEED,
    METRICS,
    RASA,
    RATINGS,
    REFUSALS,
    SCRAPE_GAUGES,
    SESSIONS,
    SETTINGS,
    SWEEPER,
    TAKEOVER_NOTICES,
)
from handoff.conversation.attachments import AttachmentStore
from handoff.conversation.chat_session_limits import MIN_RETENTION, ChatSessionIssuer
from handoff.conversation.customer_data import CustomerData
from handoff.conversation.dead_letters import DeadLetters
from handoff.conversation.file_links import FileLinks
from handoff.conversation.ingest import EventIngestor
from handoff.conversation.late_deliveries import LateDeliveries
from handoff.conversation.rasa_client import RasaGateway, RasaHttpClient
from handoff.conversation.ratings import RatingService
from handoff.conversation.refusals import RefusalLog
from handoff.conversation.takeover_notices import TakeoverNotices
from handoff.observability.metrics import ServiceMetrics
from handoff.observability.scrape import ScrapeTimeGauges
from handoff.queue.assignment import Dispatcher
from handoff.queue.handoff_limits import HandoffLimits
from handoff.queue.handoffs import HandoffService
from handoff.queue.sweeper import Sweeper, SweepTimings
from handoff.realtime.feed_relay import PostgresFeedRelay
from handoff.realtime.group_commit import GroupCommitter
from handoff.realtime.live_feed import LiveFeed
from handoff.settings import Settings
from handoff.staff.agents import AgentDirectory
from handoff.staff.auth import AuthService
from handoff.staff.canned_responses import CannedResponses
from handoff.storage.db import create_engine, create_session_factory, is_sqlite
from handoff.storage.models import utcnow

MAX_BODY_BYTES = 64 * 1024
# Groups of relay writes committing at once on PostgreSQL, within the pool's five.
POSTGRES_GROUPS_AT_ONCE = 4


def create_app(
    settings: Settings,
    *,
    rasa_client: RasaGateway | None = None,
    run_sweeper: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> web.Application:
    """The service; ``run_sweeper=False`` leaves the timers to explicit sweeps,
    and ``clock`` is the time the relay of customer messages goes by."""
    app = web.Application(
        middlewares=[conversation_scope, error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[LIVE_FEED] = LiveFeed()
    app[METRICS] = ServiceMetrics()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_feed_relay)
    app.cleanup_ctx.append(_rasa_gateway(rasa_client))
    app.cleanup_ctx.append(_services)
    if run_sweeper:
        app.cleanup_ctx.append(_sweeper)
    app.on_shutdown.append(_close_live_feed)
    app.on_response_prepare.append(security_headers(settings.rasa_socket_url))
    setup_routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[SESSIONS] = create_session_factory(engine)
    app[SCRAPE_GAUGES] = ScrapeTimeGauges(app[SESSIONS], engine, app[LIVE_FEED])
    app[METRICS].register(app[SCRAPE_GAUGES])
    yield
    await engine.dispose()


async def _feed_relay(app: web.Application) -> AsyncIterator[None]:
    # The embedded SQLite database serves one instance, whose feed is enough.
    if is_sqlite(app[SETTINGS].database_url):
        yield
        return
    feed = app[LIVE_FEED]
    relay = PostgresFeedRelay(feed, app[ENGINE])
    async with relay.running():
        feed.relay = relay
        yield
        feed.relay = None


def _rasa_gateway(
    injected: RasaGateway | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def rasa_gateway(app: web.Application) -> AsyncIterator[None]:
        if injected is not None:
            app[RASA] = injected
            yield
            return
        settings = app[SETTINGS]
        async with aiohttp.ClientSession() as http:
            app[RASA] = RasaHttpClient(
                http,
                settings.rasa_url,
                settings.rasa_token,
                log_secret=settings.service_secret,
            )
            yield

    return rasa_gateway


async def _services(app: web.Application) -> AsyncIterator[None]:
    sessions = app[SESSIONS]
    app[AUTH] = AuthService(
        sessions, timedelta(seconds=app[SETTINGS].token_ttl_seconds)
    )
    feed = app[LIVE_FEED]
    feed.sign_out_listeners.append(app[AUTH].forget_sign_ins)
    settings = app[SETTINGS]
    metrics = app[METRICS]
    notices = TakeoverNotices(app[RASA])
    app[TAKEOVER_NOTICES] = notices
    app[DISPATCHER] = Dispatcher(sessions, feed, metrics, notices)
    # The relay's short writes (customer messages, agent replies) share it.
    committer = GroupCommitter(
        sessions,
        concurrency=1 if is_sqlite(settings.database_url) else POSTGRES_GROUPS_AT_ONCE,
    )
    refusals = RefusalLog(sessions)
    app[REFUSALS] = refusals
    app[LATE_DELIVERIES] = LateDeliveries(sessions, feed)
    app[CHAT_SESSIONS] = ChatSessionIssuer(
        sessions,
        settings.chat_session_secret,
        settings.chat_sessions_per_address,
        refusals,
    )
    handoff_window = timedelta(seconds=settings.handoff_window_seconds)
    links = FileLinks(
        settings.service_secret,
        settings.attachment_link_seconds,
        settings.public_url,
    )
    app[ATTACHMENTS] = AttachmentStore(
        sessions,
        links,
        max_bytes=settings.attachment_max_bytes,
        per_conversation=settings.attachments_per_conversation,
    )
    app[HANDOFFS] = HandoffService(
        sessions,
        app[RASA],
        feed,
        app[DISPATCHER],
        committer,
        HandoffLimits(
            per_customer=settings.handoffs_per_customer,
            per_address=settings.handoffs_per_address,
            window=handoff_window,
        ),
        refusals,
        metrics,
        notices,
        links,
    )
    app[INGESTOR] = EventIngestor(committer, feed, app[RASA], metrics, app[CLOCK])
    app[CONVERSATIONS] = ConversationRecorder(sessions)
    app[DEAD_LETTERS] = DeadLetters(sessions)
    app[AGENTS] = AgentDirectory(
        sessions, app[AUTH], app[HANDOFFS], app[DISPATCHER], feed
    )
    app[CANNED_RESPONSES] = CannedResponses(sessions)
    app[RATINGS] = RatingService(
        sessions, settings.bot_ratings_per_conversation, refusals
    )
    app[CUSTOMER_DATA] = CustomerData(sessions, links)
    app[ANALYTICS] = Analytics(
        sessions, ZoneInfo(settings.time_zone), settings.service_level_seconds
    )
    app[SWEEPER] = Sweeper(
        sessions,
        app[RASA],
        feed,
        app[DISPATCHER],
        SweepTimings(
            interval_seconds=settings.sweep_interval_seconds,
            abandon_after=timedelta(seconds=settings.queue_abandon_seconds),
            flag_after=timedelta(seconds=settings.no_reply_flag_seconds),
            transcript_retention=timedelta(days=settings.transcript_retention_days),
            chat_session_retention=max(MIN_RETENTION, handoff_window),
        ),
        app[CUSTOMER_DATA],
    )
    yield
    # Notices still on their way go out while the client to Rasa is open.
    await notices.all_delivered()


async def _sweeper(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SWEEPER].run_forever(), name="handoff-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _close_live_feed(app: web.Application) -> None:
    await app[LIVE_FEED].close_all()
