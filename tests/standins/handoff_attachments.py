"""A stand-in for the handoff service's file endpoints, as the attachments contract
describes them, for the bot's tests.

- ``POST /api/rasa/attachments``: ``Authorization: Bearer <service secret>``,
  multipart with a ``file`` part and a ``sender_id`` text part; the type is sniffed
  from the first bytes (JPEG, PNG, GIF, WebP, PDF; else 415
  ``attachment_type_not_allowed``), over the limit is 413 ``attachment_too_large``,
  empty is 400 ``attachment_empty``; 201 ``{"id", "media_type", "size_bytes",
  "filename", "url"}`` with ``url`` the customer link ``/files/{id}?expires=…&
  signature=…`` (absolute when ``public_url`` is set);
- ``GET /files/{id}?expires&signature``: the stored bytes, 403 on a bad signature;
- ``POST /api/rasa/deliveries``: a late delivery failure, recorded; 200 (or a queued
  failure for ``"method": "deliveries"``).

It records each upload (``GET /_recorded``) and answers queued failures
(``POST /_failures``) like the platforms' stand-ins.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.standins.recording import (
    RECORD,
    Record,
    add_control_routes,
    failure_response,
)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
LINK_SECONDS = 7 * 24 * 3600
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
# Small files of each kind the service keeps, for the tests.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60) + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def sniff(content: bytes) -> str | None:
    for prefix, media_type in SIGNATURES:
        if content.startswith(prefix):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class Stored:
    id: str
    sender_id: str
    media_type: str
    filename: str
    content: bytes


@dataclass
class FileStore:
    secret: str
    max_bytes: int = DEFAULT_MAX_BYTES
    public_url: str = ""
    files: dict[str, Stored] = field(default_factory=dict)

    def link(self, file_id: str) -> str:
        expires = int(time.time()) + LINK_SECONDS
        signature = self.signature(file_id, expires)
        path = f"/files/{file_id}?expires={expires}&signature={signature}"
        return f"{self.public_url}{path}" if self.public_url else path

    def signature(self, file_id: str, expires: int) -> str:
        message = f"tandem attachment link\n{file_id}\n{expires}".encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()


STORE: web.AppKey[FileStore] = web.AppKey("store", FileStore)


def create_app(
    secret: str, *, max_bytes: int = DEFAULT_MAX_BYTES, public_url: str = ""
) -> web.Application:
    # Bigger bodies than the limit reach the handler, which answers as the
    # service does; aiohttp's own limit is only a backstop.
    app = web.Application(client_max_size=max_bytes * 2 + 64 * 1024)
    app[RECORD] = Record()
    app[STORE] = FileStore(secret, max_bytes, public_url.rstrip("/"))
    add_control_routes(app)
    app.router.add_post("/api/rasa/attachments", upload)
    app.router.add_get("/files/{id}", serve_file)
    app.router.add_post("/api/rasa/deliveries", delivery_failed)
    return app


def problem(status: int, error: str) -> web.Response:
    return web.json_response({"error": error, "message": error}, status=status)


async def upload(request: web.Request) -> web.Response:
    store = request.app[STORE]
    if request.headers.get("Authorization") != f"Bearer {store.secret}":
        return problem(401, "unauthorized")
    record = request.app[RECORD]
    if not request.content_type.startswith("multipart/form-data"):
        return problem(400, "invalid_request")
    form = await request.post()
    file_part, sender_id = form.get("file"), form.get("sender_id")
    if not isinstance(file_part, web.FileField) or not isinstance(sender_id, str):
        return problem(400, "invalid_request")
    content = file_part.file.read()
    record.calls.append(
        {
            "method": "upload",
            "sender_id": sender_id,
            "filename": file_part.filename,
            "declared_type": file_part.content_type,
            "size": len(content),
        }
    )
    failure = record.next_failure("upload")
    if failure is not None:
        return failure_response(failure)
    if not content:
        return problem(400, "attachment_empty")
    if len(content) > store.max_bytes:
        return problem(413, "attachment_too_large")
    media_type = sniff(content)
    if media_type is None:
        return problem(415, "attachment_type_not_allowed")
    file_id = secrets.token_urlsafe(24)
    filename = (file_part.filename or "file").replace("/", "_")[:255]
    store.files[file_id] = Stored(file_id, sender_id, media_type, filename, content)
    return web.json_response(
        {
            "id": file_id,
            "media_type": media_type,
            "size_bytes": len(content),
            "filename": filename,
            "url": store.link(file_id),
        },
        status=201,
    )


async def serve_file(request: web.Request) -> web.Response:
    store = request.app[STORE]
    file_id = request.match_info["id"]
    expires = request.query.get("expires", "")
    signature = request.query.get("signature", "")
    if not expires.isdigit() or int(expires) < time.time():
        return problem(403, "forbidden")
    if not hmac.compare_digest(signature, store.signature(file_id, int(expires))):
        return problem(403, "forbidden")
    stored = store.files.get(file_id)
    if stored is None:
        return problem(404, "not_found")
    return web.Response(body=stored.content, content_type=stored.media_type)


def put_file(
    app: web.Application,
    content: bytes,
    media_type: str,
    filename: str,
    sender_id: str = "agent",
) -> dict[str, object]:
    """Stores a file as an agent's upload would; its description, as the service
    puts it in ``metadata.tandem_attachment``."""
    store = app[STORE]
    file_id = secrets.token_urlsafe(24)
    store.files[file_id] = Stored(file_id, sender_id, media_type, filename, content)
    return {
        "id": file_id,
        "media_type": media_type,
        "filename": filename,
        "size_bytes": len(content),
        "url": store.link(file_id),
    }


async def delivery_failed(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {request.app[STORE].secret}":
        return problem(401, "unauthorized")
    failure = request.app[RECORD].next_failure("deliveries")
    if failure is not None:
        return failure_response(failure)
    body = await request.json()
    request.app[RECORD].take({"method": "deliveries", "body": body})
    message = {"id": body.get("tandem_message_id")}
    return web.json_response({"changed": True, "message": message})
