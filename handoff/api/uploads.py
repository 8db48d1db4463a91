"""Reading an uploaded file from a multipart/form-data body, within a limit.

The app refuses JSON bodies over 64 KiB before a view sees them; a file may be much
larger, so its body is read here as a stream instead, part by part and chunk by
chunk, and refused the moment it passes the limit: nobody can make the service
hold more than the limit (and a few small text fields) in memory. A body whose
declared length is already too long is refused before any of it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from handoff.errors import AttachmentEmpty, AttachmentTooLarge, InvalidRequest

FILE_FIELD = "file"
CHUNK_BYTES = 64 * 1024
# Boundaries and part headers around the file, and the text fields beside it.
ENVELOPE_BYTES = 16 * 1024
MAX_FIELD_BYTES = 1024
MAX_PARTS = 4


@dataclass(frozen=True)
class Upload:
    content: bytes
    # As the sender's device named it: anything, to be made safe before use.
    filename: str | None
    fields: dict[str, str]


async def read_upload(
    request: web.Request,
    max_bytes: int,
    text_fields: frozenset[str] = frozenset(),
) -> Upload:
    """The one part named ``file`` and the named text fields of the body."""
    if request.content_type != "multipart/form-data":
        raise InvalidRequest(
            "the body must be multipart/form-data with the file in a part named file"
        )
    declared = request.content_length
    if declared is not None and declared > max_bytes + ENVELOPE_BYTES:
        raise _too_large(max_bytes)
    content: bytes | None = None
    filename: str | None = None
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS or not isinstance(part, BodyPartReader):
                raise InvalidRequest(f"the body may hold at most {MAX_PARTS} parts")
            if part.name == FILE_FIELD:
                if content is not None:
                    raise InvalidRequest("send one file per request")
                filename = _filename(part.filename)
                content = await _read(part, max_bytes, _too_large(max_bytes))
            elif part.name in text_fields and part.name not in fields:
                raw = await _read(
                    part,
                    MAX_FIELD_BYTES,
                    InvalidRequest(f"{part.name} is too long"),
                )
                fields[part.name] = _text(raw, part.name)
            else:
                raise InvalidRequest(f"unexpected part {str(part.name)[:40]!r}")
    except (ValueError, BadHttpMessage) as error:
        # aiohttp's words for a body that is not well-formed multipart.
        raise InvalidRequest(f"the multipart body is malformed: {error}") from None
    if content is None:
        raise InvalidRequest("the body has no part named file")
    if not content:
        raise AttachmentEmpty("the file is empty")
    missing = text_fields - fields.keys()
    if missing:
        raise InvalidRequest(f"missing part(s): {', '.join(sorted(missing))}")
    return Upload(content, filename, fields)


async def _read(
    part: BodyPartReader, limit: int, too_long: InvalidRequest | AttachmentTooLarge
) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := await part.read_chunk(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise too_long
        chunks.append(chunk)
    return b"".join(chunks)


def _filename(raw: str | None) -> str | None:
    # Browsers send the name as UTF-8; some HTTP clients (aiohttp's form data,
    # which the bot uses) percent-encode it instead.
    return None if raw is None else unquote(raw, errors="replace")


def _text(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(f"{name} must be UTF-8 text") from None
    if "\x00" in text:
        raise InvalidRequest(f"{name} must not contain a NUL character")
    return text


def _too_large(max_bytes: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        f"the file is larger than {max_bytes} bytes", max_bytes=max_bytes
    )
