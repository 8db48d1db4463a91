"""The live feed across service instances that share one PostgreSQL database.

Each instance delivers what it publishes to its own sockets (live_feed.py) and
sends it, after the change committed, as a NOTIFY on one channel; every
instance LISTENs on a connection of its own and delivers what the others sent
to its sockets, applying the same audience rules. Notifications carry the
sending instance's id, so an instance skips its own.

PostgreSQL refuses payloads of 8000 bytes or more, so a larger envelope is sent
as several numbered pieces in one statement. PostgreSQL delivers a
transaction's notifications in the order they were sent, and transactions in
commit order, so nothing comes between the pieces, and an instance's frames
arrive in the order it published them.

While the listening connection is down, frames from other instances are
missed; once it listens again, every console here gets a ``feed.resync`` frame
and reloads what it shows. The same happens when this instance could not send
a frame: the next envelope it manages to send starts with a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff.realtime.live_feed import EVERYONE, Audience, EndedSignIns, LiveFeed

logger = logging.getLogger(__name__)

CHANNEL = "tandem_live_feed"
# What PostgreSQL shows for the listening connection in pg_stat_activity.
APPLICATION_NAME = "tandem live feed"
RESYNC_FRAME: dict[str, Any] = {"type": "feed.resync"}
# PostgreSQL's limit is 8000 bytes; the pieces' header fits in the rest.
MAX_PAYLOAD_BYTES = 7800
RECONNECT_FIRST_DELAY_SECONDS = 0.5
RECONNECT_MAX_DELAY_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
# A connection that went away without a word (a dead network path) is noticed
# by a query this often.
HEALTH_CHECK_SECONDS = 15.0
HEALTH_CHECK_TIMEOUT_SECONDS = 5.0
# Startup waits this long for the first LISTEN, then goes on retrying behind.
STARTUP_WAIT_SECONDS = 10.0
# Notifications received but not yet delivered; beyond this the backlog is
# dropped and the consoles here resync instead.
INBOX_LIMIT = 10_000

# One statement for all of an envelope's pieces: it commits them together
# without a BEGIN and COMMIT of its own. ORDER BY makes PostgreSQL call the
# volatile pg_notify row by row after sorting, so the pieces go in order.
NOTIFY = text(
    "SELECT pg_notify(:channel, piece)"
    " FROM unnest(CAST(:payloads AS text[])) WITH ORDINALITY AS p(piece, n)"
    " ORDER BY n"
)
# Connection options SQLAlchemy's asyncpg dialect takes itself.
_DIALECT_ONLY_OPTIONS = (
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
)
_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class PostgresFeedRelay:
    """NOTIFY what this instance publishes; LISTEN for what the others do."""

    def __init__(self, feed: LiveFeed, engine: AsyncEngine) -> None:
        self._feed = feed
        self._engine = engine
        self.instance_id = uuid.uuid4().hex
        self._own_prefix = f"{self.instance_id} "
        self._serials = itertools.count()
        # Sends that failed, and how many of those a resync has covered since.
        self._failed_sends = 0
        self._covered_failures = 0
        # None in the inbox means "frames were missed here: resync".
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue(INBOX_LIMIT)
        self._assembler = PieceAssembler()
        self._listening = asyncio.Event()

    # ------------------------------------------------------------ sending

    async def forward(self, frame: dict[str, Any], audience: Audience) -> None:
        await self._send({"frame": frame, "audience": _encode_audience(audience)})

    async def forward_sign_out(self, ended: EndedSignIns) -> None:
        await self._send(
            {
                "sign_out": {
                    "token_sha256": ended.token_sha256,
                    "agent_id": ended.agent_id,
                }
            }
        )

    async def _send(self, envelope: dict[str, Any]) -> None:
        failures = self._failed_sends
        payloads = []
        if failures > self._covered_failures:
            payloads += self._pieces({"resync": True})
        payloads += self._pieces(envelope)
        try:
            async with self._engine.connect() as connection:
                autocommit = await connection.execution_options(
                    isolation_level="AUTOCOMMIT"
                )
                await autocommit.execute(
                    NOTIFY, {"channel": CHANNEL, "payloads": payloads}
                )
        except (SQLAlchemyError, *_CONNECTION_ERRORS) as error:
            # The change itself is committed: its request must not fail now.
            self._failed_sends += 1
            logger.warning(
                "live feed frame not passed to the other instances: %s", error
            )
            return
        self._covered_failures = max(self._covered_failures, failures)

    def _pieces(self, envelope: dict[str, Any]) -> list[str]:
        serial = next(self._serials)
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        pieces = split_utf8(body, MAX_PAYLOAD_BYTES)
        return [
            f"{self.instance_id} {serial} {index} {len(pieces)} {piece}"
            for index, piece in enumerate(pieces)
        ]

    # ------------------------------------------------------------ receiving

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Listen and deliver while the context lasts."""
        tasks = [
            asyncio.create_task(self._listen_forever(), name="live-feed-listener"),
            asyncio.create_task(self._deliver_forever(), name="live-feed-delivery"),
        ]
        try:
            try:
                await asyncio.wait_for(self._listening.wait(), STARTUP_WAIT_SECONDS)
            except TimeoutError:
                logger.error(
                    "live feed: not listening to other instances yet; still trying"
                )
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _listen_forever(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RECONNECT_FIRST_DELAY_SECONDS
        while True:
            try:
                connection = await asyncpg.connect(
                    **self._connect_options(),
                    timeout=CONNECT_TIMEOUT_SECONDS,
                    server_settings={"application_name": APPLICATION_NAME},
                )
            except _CONNECTION_ERRORS as error:
                logger.warning(
                    "live feed: cannot reach PostgreSQL (%s); retrying in about %.1f s",
                    error,
                    delay,
                )
            else:
                connected_at = loop.time()
                try:
                    await self._listen_on(connection)
                except _CONNECTION_ERRORS as error:
                    logger.warning("live feed: listening connection lost (%s)", error)
                except Exception:
                    # Whatever went wrong, the feed listens again rather than
                    # staying deaf for the rest of the app's life.
                    logger.exception("live feed: the listener failed")
                finally:
                    self._listening.clear()
                    await _close(connection)
                # A connection that held for a while starts the back-off over;
                # one that keeps dropping at once backs off like a refused one.
                if loop.time() - connected_at > RECONNECT_MAX_DELAY_SECONDS:
                    delay = RECONNECT_FIRST_DELAY_SECONDS
            await asyncio.sleep(delay * random.uniform(0.75, 1.25))
            delay = min(RECONNECT_MAX_DELAY_SECONDS, delay * 2)

    async def _listen_on(self, connection: asyncpg.Connection) -> None:
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _connection: closed.set())
        await connection.add_listener(CHANNEL, self._on_notification)
        self._listening.set()
        logger.info("live feed: listening for the other instances' frames")
        # Whatever the others sent before now was missed (nothing on the first
        # start, when no console is connected yet).
        self._enqueue(None)
        while not closed.is_set():
            try:
                await asyncio.wait_for(closed.wait(), HEALTH_CHECK_SECONDS)
            except TimeoutError:
                await connection.fetchval(
                    "SELECT 1", timeout=HEALTH_CHECK_TIMEOUT_SECONDS
                )
        logger.warning("live feed: the listening connection was closed")

    def _connect_options(self) -> dict[str, Any]:
        _, connect_args = self._engine.dialect.create_connect_args(self._engine.url)
        options = dict(connect_args)
        for name in _DIALECT_ONLY_OPTIONS:
            options.pop(name, None)
        return options

    def _on_notification(
        self, _connection: object, _pid: int, _channel: str, payload: str
    ) -> None:
        # This instance delivered its own frames when it published them.
        if not payload.startswith(self._own_prefix):
            self._enqueue(payload)

    def _enqueue(self, item: str | None) -> None:
        try:
            self._inbox.put_nowait(item)
        except asyncio.QueueFull:
            logger.error("live feed: %d frames behind; consoles resync", INBOX_LIMIT)
            while not self._inbox.empty():
                self._inbox.get_nowait()
            self._inbox.put_nowait(None)

    async def _deliver_forever(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._deliver(item)
            except Exception:
                # One notification that cannot be read or delivered must not
                # end delivery for the rest of the app's life.
                logger.exception("live feed: a notification was not delivered")

    async def _deliver(self, item: str | None) -> None:
        if item is None:
            self._assembler.reset()
            await self._feed.deliver(RESYNC_FRAME, EVERYONE)
            return
        try:
            body = self._assembler.add(Piece.parse(item))
        except MissingPieces as missing:
            logger.error("live feed: %s; consoles resync", missing)
            await self._feed.deliver(RESYNC_FRAME, EVERYONE)
            return
        if body is None:
            return
        envelope = json.loads(body)
        if "frame" in envelope:
            await self._feed.deliver(
                envelope["frame"], _decode_audience(envelope["audience"])
            )
        elif "sign_out" in envelope:
            ended = envelope["sign_out"]
            await self._feed.signed_out_elsewhere(
                EndedSignIns(
                    token_sha256=ended["token_sha256"], agent_id=ended["agent_id"]
                )
            )
        elif envelope.get("resync"):
            await self._feed.deliver(RESYNC_FRAME, EVERYONE)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await connection.close(timeout=HEALTH_CHECK_TIMEOUT_SECONDS)
    except _CONNECTION_ERRORS:
        connection.terminate()


@dataclass(frozen=True)
class Piece:
    """One notification: piece ``index`` of ``count`` of an envelope."""

    instance_id: str
    serial: int
    index: int
    count: int
    text: str

    @classmethod
    def parse(cls, payload: str) -> Piece:
        instance_id, serial, index, count, piece = payload.split(" ", 4)
        parsed = cls(instance_id, int(serial), int(index), int(count), piece)
        if not 0 <= parsed.index < parsed.count:
            raise ValueError(f"piece {parsed.index} of {parsed.count}")
        return parsed


class MissingPieces(Exception):
    """An envelope's pieces did not arrive one after another."""


class PieceAssembler:
    """Joins the pieces of an envelope, which arrive consecutively."""

    def __init__(self) -> None:
        self._pending: list[Piece] = []

    def reset(self) -> None:
        self._pending = []

    def add(self, piece: Piece) -> str | None:
        """The whole envelope once its last piece is in, else None."""
        pending, self._pending = self._pending, []
        if pending and not _continues(pending[-1], piece):
            raise MissingPieces(
                f"envelope {pending[-1].serial} of {pending[-1].instance_id} "
                f"broke off after {len(pending)} of {pending[-1].count} pieces"
            )
        if not pending and piece.index != 0:
            raise MissingPieces(
                f"envelope {piece.serial} of {piece.instance_id} began at "
                f"piece {piece.index}"
            )
        pending.append(piece)
        if len(pending) < piece.count:
            self._pending = pending
            return None
        return "".join(part.text for part in pending)


def _continues(previous: Piece, piece: Piece) -> bool:
    return (
        piece.instance_id == previous.instance_id
        and piece.serial == previous.serial
        and piece.count == previous.count
        and piece.index == previous.index + 1
    )


def split_utf8(body: str, max_bytes: int) -> list[str]:
    """``body`` in pieces of at most ``max_bytes`` UTF-8 bytes, whole characters."""
    encoded = body.encode()
    pieces = []
    start = 0
    while start < len(encoded):
        end = min(start + max_bytes, len(encoded))
        # Never cut a character: back up to the start of the one at the cut.
        while end < len(encoded) and encoded[end] & 0xC0 == 0x80:
            end -= 1
        pieces.append(encoded[start:end].decode())
        start = end
    return pieces or [""]


def _encode_audience(audience: Audience) -> dict[str, Any]:
    return {
        "agent_ids": None if audience.agent_ids is None else sorted(audience.agent_ids),
        "supervisors_only": audience.supervisors_only,
    }


def _decode_audience(encoded: dict[str, Any]) -> Audience:
    agent_ids = encoded["agent_ids"]
    return Audience(
        agent_ids=None if agent_ids is None else frozenset(agent_ids),
        supervisors_only=bool(encoded["supervisors_only"]),
    )
