"""The web chat page's counterparts, standing in for the handoff service and the
Rasa socket, for browser tests of the page alone.

One aiohttp app serves what the page loads (``/chat``, ``/static/``), the service's
routes it calls (``/api/public-config``, ``POST /api/chat/sessions``, ``POST
/api/chat/attachments`` and ``GET /files/{id}`` as the attachments contract describes
them) with the service's own security headers, and a socket.io server speaking as
the bot's signed channel does: ``session_request`` is confirmed, ``user_uttered`` is
recorded and answered, and the test can push a ``bot_uttered`` (an agent's file) into
the conversation.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from handoff.api.security_headers import security_headers
from tests.standins.handoff_attachments import FileStore, Stored, sniff

STATIC = Path(__file__).resolve().parents[2] / "handoff" / "static"
SESSION_HEADER = "X-Tandem-Chat-Session"
REPLY = {
    "text": "사진 잘 받았어요. 상담원을 연결해 드릴까요?",
    "quick_replies": [
        {"content_type": "text", "title": "네", "payload": "/affirm"},
        {"content_type": "text", "title": "아니요", "payload": "/deny"},
    ],
    "sender": {"kind": "bot"},
}


@dataclass
class ChatPageStandIn:
    max_bytes: int
    store: FileStore = field(default_factory=lambda: FileStore(secrets.token_hex(8)))
    sessions: set[str] = field(default_factory=set)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    uttered: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self.store.max_bytes = self.max_bytes
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_bytes * 4)
        self.sio.attach(app)
        app.router.add_get("/chat", self._page)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/public-config", self._config)
        app.router.add_post("/api/chat/sessions", self._new_session)
        app.router.add_post("/api/chat/attachments", self._upload)
        app.router.add_get("/files/{id}", self._file)
        return app

    async def push(self, session_id: str, payload: dict[str, Any]) -> None:
        """What the bot's channel emits for a bot event, into the conversation."""
        await self.sio.emit("bot_uttered", payload, room=session_id)

    def agent_file(self, content: bytes, filename: str) -> dict[str, Any]:
        """Stores a file as an agent's upload would; its description."""
        media_type = sniff(content)
        assert media_type is not None
        file_id = secrets.token_urlsafe(24)
        self.store.files[file_id] = Stored(
            file_id, "agent", media_type, filename, content
        )
        return self._described(self.store.files[file_id])

    # ------------------------------------------------------------ socket.io

    async def _session_request(self, sid: str, data: Any) -> None:
        session_id = data.get("session_id") if isinstance(data, dict) else None
        if session_id not in self.sessions:
            await self.sio.emit(
                "session_refused", {"reason": "session_not_issued"}, to=sid
            )
            return
        await self.sio.enter_room(sid, session_id)
        await self.sio.emit("session_confirm", session_id, to=sid)

    async def _user_uttered(self, sid: str, data: Any) -> None:
        self.uttered.append(dict(data))
        if str(data.get("message", "")).startswith("/share_attachment"):
            await self.sio.emit("bot_uttered", REPLY, to=sid)

    # ------------------------------------------------------------ service routes

    async def _page(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "chat.html")

    async def _config(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "rasa_socket_url": self.url,
                "time_zone": "Asia/Seoul",
                "attachment_max_bytes": self.max_bytes,
            }
        )

    async def _new_session(self, _: web.Request) -> web.Response:
        session_id = f"{secrets.token_urlsafe(24)}.{secrets.token_urlsafe(32)}"
        self.sessions.add(session_id)
        return web.json_response({"session_id": session_id}, status=201)

    async def _upload(self, request: web.Request) -> web.Response:
        session_id = request.headers.get(SESSION_HEADER, "")
        if session_id not in self.sessions:
            return _problem(401, "unauthorized")
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            return _problem(400, "invalid_request")
        content = part.file.read()
        self.uploads.append(
            {"session_id": session_id, "filename": part.filename, "size": len(content)}
        )
        if not content:
            return _problem(400, "attachment_empty")
        if len(content) > self.max_bytes:
            return _problem(413, "attachment_too_large")
        media_type = sniff(content)
        if media_type is None:
            return _problem(415, "attachment_type_not_allowed")
        file_id = secrets.token_urlsafe(24)
        stored = Stored(file_id, session_id, media_type, part.filename, content)
        self.store.files[file_id] = stored
        return web.json_response(self._described(stored), status=201)

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        expires = request.query.get("expires", "")
        if not expires.isdigit() or request.query.get(
            "signature"
        ) != self.store.signature(file_id, int(expires)):
            return _problem(403, "forbidden")
        stored = self.store.files.get(file_id)
        if stored is None:
            return _problem(404, "not_found")
        inline = stored.media_type.startswith("image/")
        return web.Response(
            body=stored.content,
            content_type=stored.media_type,
            headers={
                "Content-Disposition": "inline" if inline else "attachment",
                "Cache-Control": "private",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def _described(self, stored: Stored) -> dict[str, Any]:
        return {
            "id": stored.id,
            "media_type": stored.media_type,
            "size_bytes": len(stored.content),
            "filename": stored.filename,
            "url": self.store.link(stored.id),
        }


def _problem(status: int, error: str) -> web.Response:
    return web.json_response({"error": error, "message": error}, status=status)


@asynccontextmanager
async def running(stand_in: ChatPageStandIn, port: int) -> AsyncIterator[str]:
    """The stand-in on ``port`` of 127.0.0.1; yields its base URL."""
    stand_in.url = f"http://127.0.0.1:{port}"
    app = stand_in.app()
    app.on_response_prepare.append(security_headers(stand_in.url))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield stand_in.url
    finally:
        await runner.cleanup()
