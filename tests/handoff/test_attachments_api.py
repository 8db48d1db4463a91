"""Files in conversations over HTTP, on SQLite and PostgreSQL: customers' uploads
from the web chat and the bot, agents' files on their replies, who may open which
file, the customer's signed link, and a customer's files exported and erased."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientResponse, FormData, web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    BOT_HEADERS,
    SERVICE_SECRET,
    assert_refused,
    expect_ready,
    handoff_body,
)
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.conversation.chat_sessions import issue_session_id
from handoff.conversation.customer_data import CustomerData
from handoff.conversation.file_links import FileLinks
from handoff.settings import Settings
from handoff.storage.models import Attachment, utcnow
from tests.sample_files import JPEG, PDF, png

Client = TestClient[web.Request, web.Application]

MAX_BYTES = 4096
PER_CONVERSATION = 3
PUBLIC_URL = "https://chat.example"
PHOTO = png()


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> Client:
    """The service with small limits and a public address."""
    return await aiohttp_client(
        create_app(
            replace(
                settings,
                attachment_max_bytes=MAX_BYTES,
                attachments_per_conversation=PER_CONVERSATION,
                public_url=PUBLIC_URL,
            ),
            run_sweeper=False,
        )
    )


def file_form(
    content: bytes,
    filename: str = "modem.png",
    content_type: str = "application/octet-stream",
    **fields: str,
) -> FormData:
    form = FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", content, filename=filename, content_type=content_type)
    return form


async def chat_session(client: Client) -> str:
    response = await client.post("/api/chat/sessions")
    assert response.status == 201, await response.text()
    return str((await response.json())["session_id"])


async def upload_from_chat(
    client: Client,
    session_id: str,
    content: bytes = PHOTO,
    filename: str = "modem.png",
) -> ClientResponse:
    return await client.post(
        "/api/chat/attachments",
        data=file_form(content, filename),
        headers={"X-Tandem-Chat-Session": session_id},
    )


async def uploaded(response: ClientResponse) -> dict[str, Any]:
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def local(url: str) -> str:
    """The public link as this test client asks for it."""
    assert url.startswith(PUBLIC_URL + "/files/"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def open_handoff(client: Client, sender_id: str) -> int:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    assert created.status == 201, await created.text()
    return int((await created.json())["id"])


async def assigned_handoff(
    client: Client, tokens: Any, sender_id: str, agent: str = "mina"
) -> int:
    handoff_id = await open_handoff(client, sender_id)
    claimed = await client.post(
        f"/api/handoffs/{handoff_id}/claim", headers=tokens[agent]
    )
    assert claimed.status == 200, await claimed.text()
    return handoff_id


def share(sender_id: str, attachment: dict[str, Any]) -> dict[str, Any]:
    """The bot's event for a customer's message that carries a file."""
    return {
        "event": "user",
        "sender_id": sender_id,
        "timestamp": time.time(),
        "text": '/share_attachment{"attachment_kind":"image"}',
        "parse_data": {},
        "input_channel": "socketio",
        "metadata": {"tandem_attachment": attachment},
    }


async def ingest(client: Client, *events: dict[str, Any]) -> None:
    response = await client.post(
        "/api/rasa/events", json={"events": list(events)}, headers=BOT_HEADERS
    )
    assert response.status == 202, await response.text()


async def messages_of(client: Client, handoff_id: int, token: Any) -> Any:
    response = await client.get(f"/api/handoffs/{handoff_id}", headers=token)
    assert response.status == 200, await response.text()
    return await response.json()


class AnyTimestamp:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and "T" in other


ANY_TIME = AnyTimestamp()


def as_staff_see_it(attachment: dict[str, Any], uploaded_by: str) -> dict[str, Any]:
    return {
        **attachment,
        "url": f"/api/attachments/{attachment['id']}",
        "uploaded_by": uploaded_by,
        "created_at": ANY_TIME,
    }


# ------------------------------------------------------------------ the customer


async def test_the_web_chat_customer_uploads_a_photo_and_opens_it_by_its_link(
    client: Client,
) -> None:
    session_id = await chat_session(client)

    attachment = await uploaded(await upload_from_chat(client, session_id))

    assert attachment == {
        "id": attachment["id"],
        "media_type": "image/png",
        "filename": "modem.png",
        "size_bytes": len(PHOTO),
        "url": attachment["url"],
    }
    assert len(attachment["id"]) == 32
    opened = await client.get(local(attachment["url"]))
    assert opened.status == 200
    assert await opened.read() == PHOTO
    assert opened.headers["Content-Type"] == "image/png"
    assert opened.headers["Content-Disposition"] == (
        "inline; filename=\"modem.png\"; filename*=UTF-8''modem.png"
    )
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Cache-Control"] == "private"
    assert opened.headers["Content-Security-Policy"] == "default-src 'none'"


async def test_a_document_from_a_messaging_channel_is_served_as_a_download(
    client: Client,
) -> None:
    attachment = await uploaded(
        await client.post(
            "/api/rasa/attachments",
            data=file_form(PDF, "청구서.pdf", sender_id="telegram:42"),
            headers=BOT_HEADERS,
        )
    )

    assert (attachment["media_type"], attachment["filename"]) == (
        "application/pdf",
        "청구서.pdf",
    )
    opened = await client.get(local(attachment["url"]))
    assert opened.status == 200
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.headers["Content-Disposition"] == (
        'attachment; filename="___.pdf"; '
        "filename*=UTF-8''%EC%B2%AD%EA%B5%AC%EC%84%9C.pdf"
    )


async def test_the_type_is_the_contents_whatever_the_name_says(client: Client) -> None:
    session_id = await chat_session(client)

    attachment = await uploaded(
        await upload_from_chat(client, session_id, JPEG, "../../page.html")
    )

    assert (attachment["media_type"], attachment["filename"]) == (
        "image/jpeg",
        "page.html.jpg",
    )


@pytest.mark.parametrize(
    "session_id",
    [None, "", "made-up", "abc.def", issue_session_id("another secret")],
)
async def test_only_a_chat_session_the_service_issued_may_upload(
    client: Client, session_id: str | None
) -> None:
    headers = {} if session_id is None else {"X-Tandem-Chat-Session": session_id}

    response = await client.post(
        "/api/chat/attachments", data=file_form(PHOTO), headers=headers
    )

    await assert_refused(response, 401, "unauthorized", "X-Tandem-Chat-Session")


async def test_the_bot_uploads_with_the_service_secret_for_a_sender(
    client: Client,
) -> None:
    refused = await client.post(
        "/api/rasa/attachments",
        data=file_form(PHOTO, sender_id="telegram:42"),
        headers={"Authorization": "Bearer wrong"},
    )
    await assert_refused(refused, 401, "unauthorized", "")
    without_sender = await client.post(
        "/api/rasa/attachments", data=file_form(PHOTO), headers=BOT_HEADERS
    )
    await assert_refused(without_sender, 400, "invalid_request", "sender_id")
    blank_sender = await client.post(
        "/api/rasa/attachments",
        data=file_form(PHOTO, sender_id=" "),
        headers=BOT_HEADERS,
    )
    await assert_refused(blank_sender, 400, "invalid_request", "sender_id")


def multipart(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, str]:
    """A multipart body of (name, content, filename) parts, and its content type."""
    boundary = "tandem-test-boundary"
    body = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("parts", "status", "error", "message"),
    [
        ([("file", b"", "empty.png")], 400, "attachment_empty", "empty"),
        (
            [("file", b"<html><script>alert(1)</script>", "photo.png")],
            415,
            "attachment_type_not_allowed",
            "PDF",
        ),
        (
            [("file", b"GIF89a" + bytes(MAX_BYTES), "big.gif")],
            413,
            "attachment_too_large",
            "4096",
        ),
        ([("photo", PHOTO, "modem.png")], 400, "invalid_request", "photo"),
        ([("note", b"hi", None)], 400, "invalid_request", "note"),
        (
            [("file", PHOTO, "a.png"), ("file", PHOTO, "b.png")],
            400,
            "invalid_request",
            "one file",
        ),
        ([], 400, "invalid_request", "no part named file"),
    ],
)
async def test_bad_uploads_are_refused_with_their_reason(
    client: Client,
    parts: list[tuple[str, bytes, str | None]],
    status: int,
    error: str,
    message: str,
) -> None:
    session_id = await chat_session(client)
    body, content_type = multipart(*parts)

    response = await client.post(
        "/api/chat/attachments",
        data=body,
        headers={"X-Tandem-Chat-Session": session_id, "Content-Type": content_type},
    )

    await assert_refused(response, status, error, message)


async def test_a_body_that_is_not_multipart_is_refused(client: Client) -> None:
    session_id = await chat_session(client)

    response = await client.post(
        "/api/chat/attachments",
        json={"file": "aGVsbG8="},
        headers={"X-Tandem-Chat-Session": session_id},
    )

    await assert_refused(response, 400, "invalid_request", "multipart/form-data")


async def test_a_file_over_the_limit_is_refused_while_it_streams(
    client: Client,
) -> None:
    """Without a declared length (chunked), the service counts as it reads."""
    session_id = await chat_session(client)
    body, content_type = multipart(("file", b"%PDF-" + bytes(MAX_BYTES * 8), "a.pdf"))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    response = await client.post(
        "/api/chat/attachments",
        data=chunks(),
        headers={"X-Tandem-Chat-Session": session_id, "Content-Type": content_type},
    )

    assert "Content-Length" not in response.request_info.headers
    await assert_refused(response, 413, "attachment_too_large", "larger than 4096")


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: Client,
) -> None:
    session_id = await chat_session(client)
    body, content_type = multipart(("file", b"%PDF-" + bytes(MAX_BYTES * 8), "a.pdf"))

    response = await client.post(
        "/api/chat/attachments",
        data=body,
        headers={"X-Tandem-Chat-Session": session_id, "Content-Type": content_type},
    )

    await assert_refused(response, 413, "attachment_too_large", "larger than 4096")


async def test_a_conversation_may_send_a_few_files_at_a_time(
    client: Client, tokens: Any
) -> None:
    session_id = await chat_session(client)
    for _ in range(PER_CONVERSATION):
        await uploaded(await upload_from_chat(client, session_id))

    refused = await upload_from_chat(client, session_id)

    await assert_refused(refused, 429, "attachment_rate_limited", "at most 3 files")
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    # Another conversation, and the agent's side of this one, are not limited.
    await uploaded(await upload_from_chat(client, await chat_session(client)))
    handoff_id = await assigned_handoff(client, tokens, session_id)
    await uploaded(
        await client.post(
            f"/api/handoffs/{handoff_id}/attachments",
            data=file_form(PDF, "guide.pdf"),
            headers=tokens["mina"],
        )
    )


# ------------------------------------------------------------------ agents


async def test_an_agent_attaches_a_file_and_rasa_sends_its_link(
    client: Client, tokens: Any, rasa: Any
) -> None:
    handoff_id = await assigned_handoff(client, tokens, "telegram:42")
    attachment = await uploaded(
        await client.post(
            f"/api/handoffs/{handoff_id}/attachments",
            data=file_form(PDF, "요금 안내.pdf"),
            headers=tokens["mina"],
        )
    )
    rasa.requests.clear()

    reply = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"attachment_id": attachment["id"]},
        headers=tokens["mina"],
    )

    assert reply.status == 201, await reply.text()
    message = await reply.json()
    assert message["text"] == "요금 안내.pdf"
    assert message["delivery"] == "delivered"
    assert message["attachment"] == as_staff_see_it(attachment, "agent")
    [sent] = rasa.without_notices
    assert sent.body["text"] == "요금 안내.pdf"
    link = sent.body["metadata"]["tandem_attachment"]
    assert link == {
        "id": attachment["id"],
        "media_type": "application/pdf",
        "filename": "요금 안내.pdf",
        "size_bytes": len(PDF),
        "url": link["url"],
    }
    assert sent.body["metadata"]["tandem_message_id"] == message["id"]
    opened = await client.get(local(link["url"]))
    assert opened.status == 200
    assert await opened.read() == PDF
    detail = await messages_of(client, handoff_id, tokens["mina"])
    assert detail["messages"][-1]["attachment"] == message["attachment"]
    assert detail["attachments"] == [message["attachment"]]


async def test_an_agents_words_go_with_the_file(
    client: Client, tokens: Any, rasa: Any
) -> None:
    handoff_id = await assigned_handoff(client, tokens, "c0ffee")
    attachment = await uploaded(
        await client.post(
            f"/api/handoffs/{handoff_id}/attachments",
            data=file_form(PHOTO, "router-lights.png"),
            headers=tokens["mina"],
        )
    )
    rasa.requests.clear()

    reply = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "이 불빛을 확인해 주세요.", "attachment_id": attachment["id"]},
        headers=tokens["mina"],
    )

    assert reply.status == 201, await reply.text()
    [sent] = rasa.without_notices
    assert sent.body["text"] == "이 불빛을 확인해 주세요."
    assert sent.body["metadata"]["tandem_attachment"]["id"] == attachment["id"]


async def test_only_the_agent_who_may_reply_uploads_to_a_handoff(
    client: Client, tokens: Any
) -> None:
    queued = await open_handoff(client, "queued-customer")
    assigned = await assigned_handoff(client, tokens, "c0ffee")

    for who, handoff_id, status, error in [
        ("joon", assigned, 403, "forbidden"),
        ("sora", assigned, 403, "forbidden"),
        ("mina", queued, 409, "invalid_transition"),
        ("mina", 999999, 404, "not_found"),
    ]:
        response = await client.post(
            f"/api/handoffs/{handoff_id}/attachments",
            data=file_form(PHOTO),
            headers=tokens[who],
        )
        assert (response.status, (await response.json())["error"]) == (
            status,
            error,
        ), who
    anonymous = await client.post(
        f"/api/handoffs/{assigned}/attachments", data=file_form(PHOTO)
    )
    await assert_refused(anonymous, 401, "unauthorized", "")


async def test_a_reply_carries_only_a_file_of_its_own_handoff(
    client: Client, tokens: Any, rasa: Any
) -> None:
    first = await assigned_handoff(client, tokens, "first")
    second = await assigned_handoff(client, tokens, "second")
    elsewhere = await uploaded(
        await client.post(
            f"/api/handoffs/{first}/attachments",
            data=file_form(PHOTO),
            headers=tokens["mina"],
        )
    )
    rasa.requests.clear()

    for attachment_id in (elsewhere["id"], "A" * 32):
        response = await client.post(
            f"/api/handoffs/{second}/messages",
            json={"attachment_id": attachment_id},
            headers=tokens["mina"],
        )
        await assert_refused(response, 400, "invalid_request", "attachment_id")
    assert rasa.without_notices == []


# ------------------------------------------------------------------ customer to agent


async def test_a_customers_photo_reaches_the_agent_with_its_message(
    client: Client, tokens: Any
) -> None:
    session_id = await chat_session(client)
    handoff_id = await assigned_handoff(client, tokens, session_id)
    attachment = await uploaded(await upload_from_chat(client, session_id))
    token = tokens["mina"]["Authorization"].removeprefix("Bearer ")

    async with client.ws_connect(f"/api/ws?token={token}") as feed:
        await expect_ready(feed)
        await ingest(client, share(session_id, attachment))
        frame = await feed.receive_json(timeout=5)

    assert frame["type"] == "message.created"
    assert frame["message"]["text"] == "[photo: modem.png]"
    assert frame["message"]["attachment"] == as_staff_see_it(attachment, "customer")
    detail = await messages_of(client, handoff_id, tokens["mina"])
    assert detail["messages"][-1]["attachment"] == frame["message"]["attachment"]
    assert detail["attachments"] == [frame["message"]["attachment"]]
    opened = await client.get(
        f"/api/attachments/{attachment['id']}", headers=tokens["mina"]
    )
    assert opened.status == 200
    assert await opened.read() == PHOTO
    assert opened.headers["Content-Security-Policy"] == "default-src 'none'"


async def test_another_customers_file_is_not_carried_into_a_conversation(
    client: Client, tokens: Any
) -> None:
    victim = await chat_session(client)
    theirs = await uploaded(await upload_from_chat(client, victim))
    intruder = await chat_session(client)
    handoff_id = await assigned_handoff(client, tokens, intruder)

    await ingest(client, share(intruder, theirs))

    detail = await messages_of(client, handoff_id, tokens["mina"])
    assert detail["messages"][-1]["attachment"] is None
    assert detail["messages"][-1]["text"].startswith("/share_attachment")
    assert detail["attachments"] == []
    # Nor may the intruder's agent open it.
    refused = await client.get(
        f"/api/attachments/{theirs['id']}", headers=tokens["mina"]
    )
    await assert_refused(refused, 404, "not_found", "does not exist")


async def test_a_file_shared_with_the_bot_before_the_handoff_reaches_the_agent(
    client: Client, tokens: Any
) -> None:
    session_id = await chat_session(client)
    attachment = await uploaded(await upload_from_chat(client, session_id))

    handoff_id = await assigned_handoff(client, tokens, session_id)

    detail = await messages_of(client, handoff_id, tokens["mina"])
    assert detail["attachments"] == [as_staff_see_it(attachment, "customer")]
    opened = await client.get(
        f"/api/attachments/{attachment['id']}", headers=tokens["mina"]
    )
    assert opened.status == 200


async def test_staff_open_a_file_only_while_they_may_see_its_conversation(
    client: Client, tokens: Any
) -> None:
    session_id = await chat_session(client)
    attachment = await uploaded(await upload_from_chat(client, session_id))
    handoff_id = await open_handoff(client, session_id)
    path = f"/api/attachments/{attachment['id']}"

    # Queued: every agent may look at it.
    assert (await client.get(path, headers=tokens["joon"])).status == 200
    claimed = await client.post(
        f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"]
    )
    assert claimed.status == 200
    assert (await client.get(path, headers=tokens["mina"])).status == 200
    assert (await client.get(path, headers=tokens["sora"])).status == 200
    await assert_refused(
        await client.get(path, headers=tokens["joon"]), 404, "not_found", ""
    )
    await assert_refused(await client.get(path), 401, "unauthorized", "")
    for unknown in ("B" * 32, "no.such-id", "x" * 40):
        response = await client.get(
            f"/api/attachments/{unknown}", headers=tokens["sora"]
        )
        await assert_refused(response, 404, "not_found", "does not exist")


# ------------------------------------------------------------------ the link


async def test_an_expired_or_tampered_link_is_refused(client: Client) -> None:
    session_id = await chat_session(client)
    attachment = await uploaded(await upload_from_chat(client, session_id))
    attachment_id = attachment["id"]
    path = urlsplit(attachment["url"]).path
    links = FileLinks(SERVICE_SECRET, 60, PUBLIC_URL)
    expired = links.customer_url(attachment_id, utcnow() - timedelta(minutes=2))
    elsewhere = links.customer_url("C" * 32, utcnow())
    expires = urlsplit(attachment["url"]).query.split("&")[0]

    await assert_refused(await client.get(local(expired)), 403, "forbidden", "expired")
    for query in (
        "",
        f"?{expires}",
        f"?{expires}&signature=forged",
        f"?expires=99999999999&signature={attachment['url'].rsplit('=', 1)[1]}",
    ):
        response = await client.get(path + query)
        await assert_refused(response, 403, "forbidden", "not valid")
    await assert_refused(
        await client.get(local(elsewhere)), 404, "not_found", "does not exist"
    )


# ------------------------------------------------------------------ personal data


async def test_a_customers_files_are_exported_and_erased(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await chat_session(client)
    handoff_id = await assigned_handoff(client, tokens, session_id)
    photo = await uploaded(await upload_from_chat(client, session_id))
    await ingest(client, share(session_id, photo))
    guide = await uploaded(
        await client.post(
            f"/api/handoffs/{handoff_id}/attachments",
            data=file_form(PDF, "guide.pdf"),
            headers=tokens["mina"],
        )
    )
    someone_else = await uploaded(
        await upload_from_chat(client, await chat_session(client))
    )
    closed = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )
    assert closed.status == 200, await closed.text()

    exported = await client.get(
        f"/api/customers/{session_id}/data", headers=tokens["sora"]
    )
    assert exported.status == 200, await exported.text()
    files = (await exported.json())["attachments"]
    assert [(item["id"], item["uploaded_by"]) for item in files] == [
        (photo["id"], "customer"),
        (guide["id"], "agent"),
    ]
    assert (await client.get(local(files[0]["url"]))).status == 200

    erased = await client.delete(
        f"/api/customers/{session_id}/data", headers=tokens["sora"]
    )

    assert erased.status == 200, await erased.text()
    assert (await erased.json())["attachments"] == 2
    for attachment in (photo, guide):
        await assert_refused(
            await client.get(local(attachment["url"])), 404, "not_found", ""
        )
        await assert_refused(
            await client.get(
                f"/api/attachments/{attachment['id']}", headers=tokens["sora"]
            ),
            404,
            "not_found",
            "",
        )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    Attachment.content, Attachment.filename, Attachment.erased_at
                ).where(Attachment.sender_id == session_id)
            )
        ).all()
    assert [(content, name) for content, name, _ in rows] == [(None, ""), (None, "")]
    assert all(erased_at is not None for _, _, erased_at in rows)
    gone = await client.get(f"/api/customers/{session_id}/data", headers=tokens["sora"])
    assert gone.status == 404
    assert (await client.get(local(someone_else["url"]))).status == 200


async def test_files_older_than_the_retention_are_erased_with_the_transcripts(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await chat_session(client)
    old = await uploaded(await upload_from_chat(client, session_id))
    data = CustomerData(sessions, FileLinks(SERVICE_SECRET, 60))

    purged = await data.purge_transcripts(utcnow() + timedelta(seconds=1))

    assert purged.attachments == 1
    await assert_refused(await client.get(local(old["url"])), 404, "not_found", "")
    assert (await data.purge_transcripts(utcnow())).attachments == 0
