"""The channels' client of the handoff service's file endpoints, against a stand-in
that follows the attachments contract, and the bounded download every channel uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.channels.attachments import (
    DEFAULT_MAX_BYTES,
    FAILED,
    RATE_LIMITED,
    TOO_LARGE,
    TYPE_NOT_ALLOWED,
    AttachmentRefused,
    AttachmentService,
    AttachmentSettings,
    download,
    refusal_notice,
    shared,
)
from bot.channels.configuration import MissingChannelSetting
from bot.message_attachments import attachment_from
from tests.bot.channel_testing import queue_failures, recorded, standin
from tests.standins import handoff_attachments
from tests.standins.handoff_attachments import JPEG, PDF, PNG, put_file

SECRET = "shared"
MAX_BYTES = 2048


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def service() -> AsyncIterator[tuple[str, web.Application]]:
    app = handoff_attachments.create_app(SECRET, max_bytes=MAX_BYTES)
    async with standin(app) as url:
        yield url, app


def client(
    url: str, session: aiohttp.ClientSession, secret: str = SECRET
) -> AttachmentService:
    return AttachmentService(
        AttachmentSettings(url, secret, MAX_BYTES), lambda: session
    )


async def test_an_upload_is_stored_for_the_conversation_and_described(
    service: tuple[str, web.Application], session: aiohttp.ClientSession
) -> None:
    url, _ = service

    attachment = await client(url, session).upload(
        "whatsapp:+821012345678", PNG, "meter.png", "image/png"
    )

    assert (attachment.media_type, attachment.filename) == ("image/png", "meter.png")
    assert attachment.size_bytes == len(PNG)
    assert attachment.kind == "image"
    assert await recorded(url) == [
        {
            "method": "upload",
            "sender_id": "whatsapp:+821012345678",
            "filename": "meter.png",
            "declared_type": "image/png",
            "size": len(PNG),
        }
    ]
    message = shared(attachment)
    assert message.text == '/share_attachment{"attachment_kind":"image"}'
    assert message.metadata == {"tandem_attachment": attachment.as_metadata()}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", FAILED),
        (b"MZ\x90\x00", TYPE_NOT_ALLOWED),
        (PDF + bytes(MAX_BYTES), TOO_LARGE),
    ],
    ids=["empty", "not-allowed", "too-large"],
)
async def test_the_services_refusals_have_their_reasons(
    service: tuple[str, web.Application],
    session: aiohttp.ClientSession,
    content: bytes,
    reason: str,
) -> None:
    url, _ = service

    with pytest.raises(AttachmentRefused) as refused:
        await client(url, session).upload("telegram:1", content, "x", "image/png")

    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, RATE_LIMITED), (503, FAILED), (401, FAILED), (201, FAILED)],
    ids=["rate-limited", "down", "unauthorized", "garbled"],
)
async def test_other_answers_are_refusals_too(
    service: tuple[str, web.Application],
    session: aiohttp.ClientSession,
    status: int,
    reason: str,
) -> None:
    url, _ = service
    # A 201 whose body is not an attachment is no success either.
    await queue_failures(
        url, [{"status": status, "body": {"id": 5}, "method": "upload"}]
    )

    with pytest.raises(AttachmentRefused) as refused:
        await client(url, session).upload("telegram:1", JPEG, "a.jpg", "image/jpeg")

    assert refused.value.reason == reason


async def test_the_wrong_secret_is_refused(
    service: tuple[str, web.Application], session: aiohttp.ClientSession
) -> None:
    url, _ = service

    with pytest.raises(AttachmentRefused) as refused:
        await client(url, session, "wrong").upload("sms:+82101", JPEG, "a", "x")

    assert "401" in refused.value.detail


async def test_a_service_that_is_not_there_is_a_failure(
    session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(AttachmentRefused) as refused:
        await client("http://127.0.0.1:9", session).upload("sms:+1", JPEG, "a", "b")

    assert refused.value.reason == FAILED


async def test_an_agents_file_is_fetched_by_its_link(
    service: tuple[str, web.Application], session: aiohttp.ClientSession
) -> None:
    url, app = service
    attachment = attachment_from(put_file(app, PDF, "application/pdf", "a.pdf"))
    assert attachment is not None

    assert await client(url, session).fetch(attachment) == PDF

    forged = attachment_from(
        {**attachment.as_metadata(), "url": f"/files/{attachment.id}?expires=9"}
    )
    assert forged is not None
    with pytest.raises(AttachmentRefused):
        await client(url, session).fetch(forged)


# ---------------------------------------------------------------- bounded downloads


@pytest.fixture
async def streaming() -> AsyncIterator[str]:
    """Serves ``/stream/<n>``: n bytes, chunked, without a Content-Length, and
    ``/slow``, which never finishes."""

    async def stream(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse()
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        left = int(request.match_info["size"])
        while left > 0:
            await answer.write(b"x" * min(1000, left))
            left -= 1000
        await answer.write_eof()
        return answer

    released = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await released.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/stream/{size}", stream)
    app.router.add_get("/slow", slow)
    async with standin(app) as url:
        yield url
        released.set()


async def test_a_download_without_a_length_is_cut_off_past_the_limit(
    streaming: str, session: aiohttp.ClientSession
) -> None:
    status, _, body, _ = await download(
        session, f"{streaming}/stream/2000", 2000, what="a file"
    )
    assert (status, len(body)) == (200, 2000)

    with pytest.raises(AttachmentRefused) as refused:
        await download(session, f"{streaming}/stream/50000", 2000, what="a file")
    assert refused.value.reason == TOO_LARGE


async def test_a_download_that_does_not_finish_is_given_up(
    streaming: str, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.channels.attachments.TRANSFER_SECONDS", 0.2)

    with pytest.raises(AttachmentRefused) as refused:
        await download(session, f"{streaming}/slow", 2000, what="the slow file")

    assert refused.value.reason == FAILED
    assert refused.value.detail == "the slow file: no answer in time"


# ---------------------------------------------------------------- settings, words


def test_settings_come_from_the_environment() -> None:
    assert AttachmentSettings.from_environment({}) is None
    settings = AttachmentSettings.from_environment({"TANDEM_SERVICE_SECRET": "s"})
    assert settings == AttachmentSettings(
        "http://127.0.0.1:8080", "s", DEFAULT_MAX_BYTES
    )
    assert AttachmentSettings.from_environment(
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_HANDOFF_URL": "http://handoff:8080/",
            "TANDEM_ATTACHMENT_MAX_BYTES": "5000",
        }
    ) == AttachmentSettings("http://handoff:8080", "s", 5000)
    for bad in ({"TANDEM_ATTACHMENT_MAX_BYTES": "ten"}, {"TANDEM_HANDOFF_URL": "x"}):
        with pytest.raises(MissingChannelSetting):
            AttachmentSettings.from_environment({"TANDEM_SERVICE_SECRET": "s", **bad})


@pytest.mark.parametrize("reason", [TOO_LARGE, TYPE_NOT_ALLOWED, RATE_LIMITED, FAILED])
def test_every_refusal_has_words_in_both_languages(reason: str) -> None:
    korean = refusal_notice(reason, True, DEFAULT_MAX_BYTES)
    english = refusal_notice(reason, False, DEFAULT_MAX_BYTES)

    assert any("\uac00" <= char <= "\ud7a3" for char in korean)
    assert english.isascii() and "{" not in english
    if reason == TOO_LARGE:
        assert "10 MB" in korean and "10 MB" in english
