"""The name a file is shown and saved under, made safe.

The name comes from the sender's device and is for display only: it may hold a
path, control characters, a right-to-left override (which shows an ``.exe`` name
backwards as something harmless), or be thousands of characters long. What is
kept is the last path segment without invisible characters, capped in length and
ending in an extension of the type the content really is, so a saved file opens
as what it is.
"""

from __future__ import annotations

import unicodedata

from handoff.conversation.file_types import EXTENSIONS, kind_of

MAX_FILENAME_CHARS = 100
# Stands in for whatever a name does not survive of.
FALLBACK_STEMS = {"image": "photo", "document": "document"}


def display_filename(raw: str | None, media_type: str) -> str:
    """``raw`` made safe to show and to offer as a download name."""
    extensions = EXTENSIONS[media_type]
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Line breaks and tabs are spaces; other control, format (bidirectional
    # overrides), private and unassigned characters go.
    name = "".join(
        " " if character.isspace() else character
        for character in name
        if character.isspace() or not unicodedata.category(character).startswith("C")
    )
    name = " ".join(name.split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if f".{extension.lower()}" in extensions and stem.strip(". "):
        stem, suffix = stem.rstrip(". "), f".{extension.lower()}"
    else:
        stem, suffix = name, extensions[0]
    if not stem:
        stem = FALLBACK_STEMS[kind_of(media_type)]
    return stem[: MAX_FILENAME_CHARS - len(suffix)].rstrip(". ") + suffix


def ascii_fallback(filename: str) -> str:
    """The name for clients that read only the plain ``filename=`` parameter."""
    kept = "".join(
        character
        if character.isascii() and (character.isalnum() or character in "._- ")
        else "_"
        for character in filename
    )
    return kept or "file"
