"""A file that travels with a message: ``metadata.tandem_attachment``.

The handoff service stores every file a customer or an agent sends and describes it
as ``{"id", "media_type", "filename", "size_bytes", "url"}``, where ``url`` is the
customer's signed link (``/files/{id}?expires=…&signature=…``, absolute when the
service knows its public address). The same object rides in the metadata of the
customer's message that shared the file (text ``/share_attachment{"attachment_kind":
…}``) and of the bot event that carries an agent's file to the customer.

Metadata can come from a browser, so nothing here trusts its shape: an object with
a field missing or of the wrong type is no attachment at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

METADATA_KEY = "tandem_attachment"
SHARE_INTENT = "share_attachment"
KIND_ENTITY = "attachment_kind"
IMAGE = "image"
DOCUMENT = "document"
# What the service accepts, sniffed from the content (handoff side).
ALLOWED_MEDIA_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
)
MAX_FILENAME_CHARS = 255
MAX_URL_CHARS = 2048
MAX_ID_CHARS = 64


@dataclass(frozen=True)
class Attachment:
    id: str
    media_type: str
    filename: str
    size_bytes: int
    url: str

    @property
    def kind(self) -> str:
        """``image`` for any image, ``document`` for the rest (PDF)."""
        return IMAGE if self.media_type.startswith("image/") else DOCUMENT

    def as_metadata(self) -> dict[str, Any]:
        return asdict(self)


def attachment_from(value: object) -> Attachment | None:
    """The attachment ``value`` describes, or None when it is not one."""
    if not isinstance(value, Mapping):
        return None
    ident, media_type = value.get("id"), value.get("media_type")
    filename, size, url = (
        value.get("filename"),
        value.get("size_bytes"),
        value.get("url"),
    )
    if not (isinstance(ident, str) and 0 < len(ident) <= MAX_ID_CHARS):
        return None
    if not (isinstance(media_type, str) and media_type in ALLOWED_MEDIA_TYPES):
        return None
    if not isinstance(filename, str) or len(filename) > MAX_FILENAME_CHARS:
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return None
    if not (isinstance(url, str) and 0 < len(url) <= MAX_URL_CHARS):
        return None
    if not url.startswith(("https://", "http://", "/")) or url.startswith("//"):
        return None
    return Attachment(ident, media_type, filename, size, url)


def attachment_of(metadata: Mapping[str, Any] | None) -> Attachment | None:
    """The attachment a message's metadata carries, if any."""
    if not metadata:
        return None
    return attachment_from(metadata.get(METADATA_KEY))


def attachment_fields(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What a web chat message carries of its file: ``{"tandem_attachment": …}``."""
    attachment = attachment_of(metadata)
    return {} if attachment is None else {METADATA_KEY: attachment.as_metadata()}


def share_text(kind: str) -> str:
    """The customer's message that shares a file, as the bot reads it."""
    if kind not in (IMAGE, DOCUMENT):
        raise ValueError(f"unknown attachment kind {kind!r}")
    # Written as the contract writes it, without spaces, like the web chat's page.
    return f"/{SHARE_INTENT}{json.dumps({KIND_ENTITY: kind}, separators=(',', ':'))}"


def transcript_label(attachment: Attachment) -> str:
    """How the message stands in a transcript for the agent."""
    word = "photo" if attachment.kind == IMAGE else "file"
    return f"[{word}: {attachment.filename}]"


def is_absolute(url: str) -> bool:
    return url.startswith(("https://", "http://"))
