"""What a file is (from its content), what it is called (made safe), and the
customer's signed, expiring link to it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from handoff_testing import CHAT_SESSION_SECRET

from handoff.api.validation import parse_agent_message, parse_event_batch
from handoff.conversation.chat_sessions import is_issued_session_id, issue_session_id
from handoff.conversation.file_links import FileLinks, link_signature
from handoff.conversation.file_names import (
    MAX_FILENAME_CHARS,
    ascii_fallback,
    display_filename,
)
from handoff.conversation.file_types import kind_of, sniff_media_type
from handoff.errors import Forbidden, InvalidRequest

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP_HEAD = b"RIFF\x24\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (JPEG_HEAD, "image/jpeg"),
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (PNG_HEAD, "image/png"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (WEBP_HEAD, "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
    ],
)
def test_allowed_types_are_read_from_their_magic_numbers(
    head: bytes, media_type: str
) -> None:
    assert sniff_media_type(head) == media_type


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<!DOCTYPE html><script>alert(1)</script>",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
        b"PK\x03\x04\x14\x00",  # a zip, or a .docx
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but sound
        b"RIFF\x24\x00\x00",  # too short to be WebP
        b"\xff\xd8",  # the start of a JPEG signature only
        b"\x89PNG\r\n",
        b"GIF88a",
        b"%PDF",
        b"hello, this is text",
        b" %PDF-1.7",  # not at the start
    ],
)
def test_anything_else_is_not_an_allowed_type(head: bytes) -> None:
    assert sniff_media_type(head) is None


def test_images_and_documents_are_told_apart() -> None:
    assert kind_of("image/png") == "image"
    assert kind_of("application/pdf") == "document"


@pytest.mark.parametrize(
    ("raw", "media_type", "shown"),
    [
        ("modem.jpg", "image/jpeg", "modem.jpg"),
        ("MODEM.JPEG", "image/jpeg", "MODEM.jpeg"),
        ("bill.pdf", "application/pdf", "bill.pdf"),
        ("청구서 11월.pdf", "application/pdf", "청구서 11월.pdf"),
        # Paths of any system are dropped.
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("C:\\Users\\kim\\Desktop\\bill.pdf", "application/pdf", "bill.pdf"),
        # The extension says what the content is, not what the sender claimed.
        ("invoice.exe", "application/pdf", "invoice.exe.pdf"),
        ("page.html", "image/png", "page.html.png"),
        ("photo.png", "image/jpeg", "photo.png.jpg"),
        # Control and bidirectional characters are invisible tricks.
        ("bill\u202efdp.exe", "application/pdf", "billfdp.exe.pdf"),
        ("a\x00b\r\nc.png", "image/png", "ab c.png"),
        ("tab\there.png", "image/png", "tab here.png"),
        # Hidden or empty names get a plain one.
        (".htaccess", "image/png", "htaccess.png"),
        ("", "image/png", "photo.png"),
        (None, "application/pdf", "document.pdf"),
        ("...", "image/gif", "photo.gif"),
        ("  .pdf ", "application/pdf", "pdf.pdf"),
    ],
)
def test_names_are_made_safe(raw: str | None, media_type: str, shown: str) -> None:
    assert display_filename(raw, media_type) == shown


def test_long_names_are_cut_but_keep_their_extension() -> None:
    shown = display_filename("가" * 500 + ".pdf", "application/pdf")

    assert len(shown) == MAX_FILENAME_CHARS
    assert shown.endswith("가.pdf")


def test_the_plain_filename_parameter_is_ascii() -> None:
    assert ascii_fallback('청구서 "11월".pdf') == "___ _11__.pdf"
    assert ascii_fallback("모뎀") == "__"
    assert ascii_fallback("") == "file"


NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
LINKS = FileLinks("service-secret", 7 * 24 * 3600)


def link_parts(url: str) -> tuple[str, str, str]:
    parsed = urlsplit(url)
    query = parse_qs(parsed.query)
    return parsed.path, query["expires"][0], query["signature"][0]


def test_a_link_opens_its_file_until_it_expires() -> None:
    path, expires, signature = link_parts(LINKS.customer_url("abc_DEF-123", NOW))

    assert path == "/files/abc_DEF-123"
    assert int(expires) == int(NOW.timestamp()) + 7 * 24 * 3600
    LINKS.check("abc_DEF-123", expires, signature, NOW + timedelta(days=6))
    with pytest.raises(Forbidden, match="expired"):
        LINKS.check("abc_DEF-123", expires, signature, NOW + timedelta(days=7))


def test_a_link_opens_no_other_file_and_cannot_be_extended() -> None:
    _, expires, signature = link_parts(LINKS.customer_url("abc", NOW))

    with pytest.raises(Forbidden):
        LINKS.check("abd", expires, signature, NOW)
    with pytest.raises(Forbidden):
        LINKS.check("abc", str(int(expires) + 86400), signature, NOW)


@pytest.mark.parametrize(
    ("expires", "signature"),
    [
        (None, None),
        ("1", None),
        (None, "x"),
        ("-5", "x"),
        ("1e9", "x"),
        ("١٢٣", "x"),  # digits, but not ASCII ones
        ("9" * 40, "x"),
        ("1899999999", "forged"),
        ("1899999999", "ü"),
    ],
)
def test_malformed_or_forged_links_are_refused(
    expires: str | None, signature: str | None
) -> None:
    with pytest.raises(Forbidden):
        LINKS.check("abc", expires, signature, NOW)


def test_links_are_signed_for_their_purpose_and_secret() -> None:
    # Not the same MAC as a web chat session id's over the same text.
    assert link_signature("s", "abc", 1) != link_signature("t", "abc", 1)
    assert link_signature("s", "abc", 1) != link_signature("s", "abc", 2)
    _, _, signature = link_parts(FileLinks("other", 60).customer_url("abc", NOW))
    with pytest.raises(Forbidden):
        FileLinks("s", 60).check("abc", str(int(NOW.timestamp()) + 60), signature, NOW)


def test_links_are_absolute_with_the_public_address() -> None:
    url = FileLinks("s", 60, "https://chat.example").customer_url("abc", NOW)

    assert url.startswith("https://chat.example/files/abc?expires=")


def test_only_issued_chat_session_ids_prove_a_conversation() -> None:
    session_id = issue_session_id(CHAT_SESSION_SECRET)

    assert is_issued_session_id(CHAT_SESSION_SECRET, session_id)
    assert not is_issued_session_id("another-secret", session_id)
    assert not is_issued_session_id(CHAT_SESSION_SECRET, session_id + "x")
    assert not is_issued_session_id(CHAT_SESSION_SECRET, "no-signature")
    assert not is_issued_session_id(CHAT_SESSION_SECRET, "")


def test_a_reply_may_be_a_file_alone() -> None:
    assert parse_agent_message({"attachment_id": "abc"}).text == ""
    assert parse_agent_message({"text": "  ", "attachment_id": "abc"}).text == ""
    both = parse_agent_message({"text": " 보세요 ", "attachment_id": "abc"})
    assert (both.text, both.attachment_id) == ("보세요", "abc")
    assert parse_agent_message({"text": "안녕하세요"}).attachment_id is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": "  "},
        {"attachment_id": None},
        {"attachment_id": ""},
        {"attachment_id": "../etc"},
        {"attachment_id": 7},
        {"attachment_id": "a" * 33},
        {"text": "x" * 2001, "attachment_id": "abc"},
        {"text": "hi", "file": "abc"},
    ],
)
def test_replies_without_text_or_file_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        parse_agent_message(body)


def user_event(metadata: object) -> dict[str, object]:
    return {
        "event": "user",
        "sender_id": "c0ffee",
        "timestamp": 1.0,
        "text": '/share_attachment{"attachment_kind":"image"}',
        "metadata": metadata,
    }


@pytest.mark.parametrize(
    ("metadata", "attachment_id"),
    [
        ({"tandem_attachment": {"id": "abc_DEF-1", "url": "/files/x"}}, "abc_DEF-1"),
        ({"tandem_attachment": {"id": "../x"}}, None),
        ({"tandem_attachment": {"id": 5}}, None),
        ({"tandem_attachment": "abc"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_a_customer_message_names_its_file_in_its_metadata(
    metadata: object, attachment_id: str | None
) -> None:
    batch = parse_event_batch({"events": [user_event(metadata)]})

    assert [event.attachment_id for event in batch.events] == [attachment_id]
    assert batch.refused == []
