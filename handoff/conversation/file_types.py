"""What kind of file an upload is, read from its first bytes.

A file's name and the type its sender declares are whatever the sender wants them
to be; a browser that trusted them could be made to run a page or a script from
this service's origin. So the service looks at the content itself and takes only
the few formats customers and agents need (photos, screenshots, PDFs), each
recognised by its magic number; everything else is refused.
"""

from __future__ import annotations

JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"

# How many leading bytes the longest signature needs.
SNIFF_BYTES = 12

# The extensions a file of each type may carry; the first is the one it is given.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    GIF: (".gif",),
    WEBP: (".webp",),
    PDF: (".pdf",),
}
ALLOWED_MEDIA_TYPES = frozenset(EXTENSIONS)


def sniff_media_type(head: bytes) -> str | None:
    """The allowed media type whose signature ``head`` starts with, if any."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= SNIFF_BYTES and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def is_image(media_type: str) -> bool:
    return media_type.startswith("image/")


def kind_of(media_type: str) -> str:
    """``image`` or ``document``: what the bot and the pages call a file."""
    return "image" if is_image(media_type) else "document"
