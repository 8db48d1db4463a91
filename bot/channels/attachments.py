"""Files customers send on the messaging channels, on their way to the handoff service.

A channel that gets a photo or a PDF downloads it from its platform (Telegram's file
URL, Twilio's media URL, the image URL in a Kakao skill request), never more than
the service would keep (``TANDEM_ATTACHMENT_MAX_BYTES``, 10 MiB), and uploads it to
``POST /api/rasa/attachments`` with the service secret. The bot then gets the
customer's message as ``/share_attachment{"attachment_kind": …}`` with the stored
file in ``metadata.tandem_attachment`` (bot/message_attachments.py).

Whatever goes wrong — too big, a kind of file the service refuses, a platform or a
service that does not answer — ends in ``AttachmentRefused``: the channel tells the
customer in their language (``refusal_notice``) and the bot hears nothing of it.

The agent's files go the other way: a platform fetches one by the service's link
when the link is absolute (the service's TANDEM_PUBLIC_URL); otherwise a channel that
can upload (Telegram) fetches the file from the service itself
(``AttachmentService.fetch``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.channels.configuration import MissingChannelSetting
from bot.message_attachments import (
    ALLOWED_MEDIA_TYPES,
    METADATA_KEY,
    Attachment,
    attachment_from,
    is_absolute,
    share_text,
)

logger = logging.getLogger(__name__)

UPLOAD_PATH = "/api/rasa/attachments"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8080"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A download or an upload that takes longer is given up: the platform's webhook, and
# the customer, are waiting.
TRANSFER_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024

TOO_LARGE = "too_large"
TYPE_NOT_ALLOWED = "type_not_allowed"
RATE_LIMITED = "rate_limited"
FAILED = "failed"
REASONS = frozenset({TOO_LARGE, TYPE_NOT_ALLOWED, RATE_LIMITED, FAILED})

NOTICES = {
    TOO_LARGE: (
        "파일이 너무 커서 받지 못했어요. {limit} 이하의 사진이나 PDF를 보내 주세요.",
        "We couldn't receive that file: it is too large. Please send a photo or PDF"
        " of {limit} or less.",
    ),
    TYPE_NOT_ALLOWED: (
        "이 형식의 파일은 받을 수 없어요. 사진(JPEG, PNG, GIF, WebP)이나 PDF를"
        " 보내 주세요.",
        "We couldn't receive that file: we accept photos (JPEG, PNG, GIF, WebP)"
        " and PDF files only.",
    ),
    RATE_LIMITED: (
        "짧은 시간에 파일을 너무 많이 보내셨어요. 잠시 후 다시 보내 주세요.",
        "We couldn't receive that file: too many files in a short time. Please try"
        " again in a few minutes.",
    ),
    FAILED: (
        "죄송해요, 파일을 받지 못했어요. 잠시 후 다시 보내 주세요.",
        "Sorry, we couldn't receive that file. Please try again in a moment.",
    ),
}
# The service's refusals, by status.
_REFUSALS = {413: TOO_LARGE, 415: TYPE_NOT_ALLOWED, 429: RATE_LIMITED}

SessionSource = Callable[[], aiohttp.ClientSession]


class AttachmentRefused(Exception):
    """A customer's file did not reach the service; ``reason`` says why, for the
    customer, and ``detail`` for the log (never the file's address, which may hold
    a platform token)."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def refusal_notice(reason: str, korean: bool, max_bytes: int) -> str:
    korean_text, english_text = NOTICES[reason]
    return (korean_text if korean else english_text).format(limit=size_label(max_bytes))


def size_label(size: int) -> str:
    mebibytes = size / (1024 * 1024)
    if mebibytes >= 1:
        return f"{mebibytes:g} MB"
    return f"{max(1, size // 1024)} KB"


def check_declared_type(media_type: str | None) -> None:
    """Refuses at once a file its platform says is of a kind the service never
    keeps, without downloading it; the service sniffs what it gets anyway."""
    if media_type:
        declared = media_type.split(";")[0].strip().lower()
        if declared not in ALLOWED_MEDIA_TYPES:
            raise AttachmentRefused(TYPE_NOT_ALLOWED, f"declared as {declared}")


def check_declared_size(size: object, max_bytes: int) -> None:
    if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
        raise AttachmentRefused(TOO_LARGE, f"declared as {size} bytes")


async def read_limited(answer: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body of a download, refused as soon as it is known to be over
    ``max_bytes``: by its Content-Length before reading, or while reading."""
    check_declared_size(answer.content_length, max_bytes)
    body = bytearray()
    async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            raise AttachmentRefused(TOO_LARGE, f"over {max_bytes} bytes")
    if not body:
        raise AttachmentRefused(FAILED, "the download was empty")
    return bytes(body)


async def download(
    session: aiohttp.ClientSession,
    url: str,
    max_bytes: int,
    *,
    what: str,
    auth: aiohttp.BasicAuth | None = None,
    allow_redirects: bool = True,
) -> tuple[int, str, bytes, str | None]:
    """GETs ``url``: (status, content type, body, Location); only a 200's body is
    read, within ``max_bytes`` and ``TRANSFER_SECONDS``. ``what`` names the file in
    errors instead of the URL."""
    try:
        async with session.get(
            url,
            auth=auth,
            allow_redirects=allow_redirects,
            timeout=aiohttp.ClientTimeout(total=TRANSFER_SECONDS),
        ) as answer:
            location = answer.headers.get("Location")
            if answer.status != 200:
                return answer.status, "", b"", location
            body = await read_limited(answer, max_bytes)
            return answer.status, answer.content_type, body, location
    except asyncio.TimeoutError as error:
        raise AttachmentRefused(FAILED, f"{what}: no answer in time") from error
    except aiohttp.ClientError as error:
        raise AttachmentRefused(FAILED, f"{what}: {type(error).__name__}") from error


@dataclass(frozen=True)
class AttachmentSettings:
    service_url: str
    secret: str
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> AttachmentSettings | None:
        """The settings, or None without a service secret: then the channels pass
        files on as before, a label and the platform's reference."""
        secret = (environ.get("TANDEM_SERVICE_SECRET") or "").strip()
        if not secret:
            return None
        raw = (environ.get("TANDEM_ATTACHMENT_MAX_BYTES") or "").strip()
        if raw and (not raw.isdigit() or int(raw) < 1):
            raise MissingChannelSetting(
                "TANDEM_ATTACHMENT_MAX_BYTES must be a positive number of bytes"
            )
        url = (environ.get("TANDEM_HANDOFF_URL") or "").strip() or DEFAULT_SERVICE_URL
        if not url.startswith(("http://", "https://")):
            raise MissingChannelSetting(
                f"TANDEM_HANDOFF_URL must be an http(s) URL, not {url!r}"
            )
        return cls(
            service_url=url.rstrip("/"),
            secret=secret,
            max_bytes=int(raw) if raw else DEFAULT_MAX_BYTES,
        )


class AttachmentService:
    """The handoff service's side of files: uploads of what customers send on the
    messaging channels, and fetching an agent's file by its link."""

    def __init__(self, settings: AttachmentSettings, session: SessionSource) -> None:
        self.settings = settings
        self._session = session
        self._headers = {"Authorization": f"Bearer {settings.secret}"}

    @property
    def max_bytes(self) -> int:
        return self.settings.max_bytes

    async def upload(
        self, sender_id: str, content: bytes, filename: str, media_type: str
    ) -> Attachment:
        """Stores ``content`` as a file ``sender_id`` sent; the service's
        description of it, or ``AttachmentRefused``."""
        form = aiohttp.FormData()
        form.add_field("sender_id", sender_id)
        form.add_field(
            "file",
            content,
            filename=filename or "file",
            content_type=media_type or "application/octet-stream",
        )
        try:
            async with self._session().post(
                self.settings.service_url + UPLOAD_PATH,
                data=form,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=TRANSFER_SECONDS),
            ) as answer:
                status = answer.status
                body = await answer.content.read(MAX_ANSWER_BYTES)
        except asyncio.TimeoutError as error:
            raise AttachmentRefused(FAILED, "the service did not answer") from error
        except aiohttp.ClientError as error:
            raise AttachmentRefused(
                FAILED, f"the service could not be reached: {type(error).__name__}"
            ) from error
        return _stored(status, body)

    async def fetch(self, attachment: Attachment) -> bytes:
        """An agent's file, from the service, by its customer link."""
        parts = urlsplit(attachment.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not path.startswith("/") or path.startswith("//"):
            raise AttachmentRefused(FAILED, "the attachment's link has no path")
        status, _, body, _ = await download(
            self._session(),
            self.settings.service_url + path,
            self.max_bytes,
            what=f"attachment {attachment.id}",
        )
        if status != 200:
            raise AttachmentRefused(FAILED, f"the service answered {status}")
        return body


def _stored(status: int, body: bytes) -> Attachment:
    detail = body[:300].decode("utf-8", "replace")
    if status != 201:
        reason = _REFUSALS.get(status, FAILED)
        raise AttachmentRefused(reason, f"the service answered {status}: {detail}")
    try:
        answer: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    attachment = attachment_from(answer)
    if attachment is None:
        raise AttachmentRefused(FAILED, f"unexpected answer: {detail}")
    return attachment


@dataclass(frozen=True)
class SharedFile:
    """The customer's message that shares a stored file."""

    text: str
    metadata: dict[str, Any]


def shared(attachment: Attachment) -> SharedFile:
    return SharedFile(
        share_text(attachment.kind), {METADATA_KEY: attachment.as_metadata()}
    )


def public_link(attachment: Attachment) -> str | None:
    """The agent's file's address a platform can fetch itself: the service makes
    its links absolute with its public address (TANDEM_PUBLIC_URL); a relative
    link is only good on the service's own pages."""
    return attachment.url if is_absolute(attachment.url) else None
