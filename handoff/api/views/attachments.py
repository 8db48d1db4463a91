"""Files in conversations: uploads from the web chat, the bot and agents, and the
two ways to open one (staff with their token, customers with a signed link)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from handoff.api.log_context import about_conversation
from handoff.api.presenters import attachment_json
from handoff.api.uploads import read_upload
from handoff.api.validation import is_attachment_id
from handoff.api.views.common import current_agent, handoff_id, require_bot
from handoff.app_keys import ATTACHMENTS, SETTINGS
from handoff.conversation.attachments import NewFile, ServedFile
from handoff.conversation.chat_sessions import is_issued_session_id
from handoff.conversation.file_names import ascii_fallback
from handoff.conversation.file_types import is_image
from handoff.errors import InvalidRequest, NotFound, Unauthorized
from handoff.storage.models import Attachment, AttachmentUploader, utcnow

CHAT_SESSION_HEADER = "X-Tandem-Chat-Session"
SENDER_ID_FIELD = "sender_id"
MAX_SENDER_ID_LENGTH = 255
# A file is shown as it is and runs nothing: no scripts, styles or frames of its
# own, whatever it holds; the browser may not guess another type for it.
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private",
}


async def upload_from_chat(request: web.Request) -> web.Response:
    """The web chat's customer, known by the signed session id of their chat."""
    session_id = request.headers.get(CHAT_SESSION_HEADER, "")
    secret = request.app[SETTINGS].chat_session_secret
    if len(session_id) > MAX_SENDER_ID_LENGTH or not is_issued_session_id(
        secret, session_id
    ):
        raise Unauthorized(
            f"{CHAT_SESSION_HEADER} must hold a session id from POST /api/chat/sessions"
        )
    about_conversation(request, session_id)
    store = request.app[ATTACHMENTS]
    upload = await read_upload(request, store.max_bytes)
    attachment = await store.store(
        NewFile(
            session_id, upload.content, upload.filename, AttachmentUploader.CUSTOMER
        )
    )
    return _created(request, attachment)


async def upload_from_bot(request: web.Request) -> web.Response:
    """A file a messaging channel's customer sent, which the bot downloaded."""
    require_bot(request)
    store = request.app[ATTACHMENTS]
    upload = await read_upload(request, store.max_bytes, frozenset({SENDER_ID_FIELD}))
    sender_id = upload.fields[SENDER_ID_FIELD]
    if not sender_id.strip() or len(sender_id) > MAX_SENDER_ID_LENGTH:
        raise InvalidRequest(
            f"sender_id must be 1 to {MAX_SENDER_ID_LENGTH} characters"
        )
    about_conversation(request, sender_id)
    attachment = await store.store(
        NewFile(sender_id, upload.content, upload.filename, AttachmentUploader.CUSTOMER)
    )
    return _created(request, attachment)


async def upload_from_agent(request: web.Request) -> web.Response:
    """A file the agent attaches to their next reply in the handoff."""
    agent = await current_agent(request)
    target = handoff_id(request)
    store = request.app[ATTACHMENTS]
    # Checked before the body is read: nobody uploads to a handoff they may not
    # write in.
    sender_id = await store.agent_conversation(target, agent)
    about_conversation(request, sender_id)
    upload = await read_upload(request, store.max_bytes)
    attachment = await store.store(
        NewFile(
            sender_id,
            upload.content,
            upload.filename,
            AttachmentUploader.AGENT,
            handoff_id=target,
            agent_id=agent.id,
        )
    )
    return _created(request, attachment)


async def staff_file(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    served = await request.app[ATTACHMENTS].for_staff(agent, _attachment_id(request))
    return _file_response(served)


async def customer_file(request: web.Request) -> web.Response:
    """The customer's signed, expiring link."""
    attachment_id = _attachment_id(request)
    store = request.app[ATTACHMENTS]
    store.links.check(
        attachment_id,
        request.query.get("expires"),
        request.query.get("signature"),
        utcnow(),
    )
    return _file_response(await store.for_link(attachment_id))


def _attachment_id(request: web.Request) -> str:
    raw = request.match_info["id"]
    if not is_attachment_id(raw):
        raise NotFound(f"file {raw[:40]} does not exist")
    return raw


def _created(request: web.Request, attachment: Attachment) -> web.Response:
    url = request.app[ATTACHMENTS].links.customer_url(attachment.id, utcnow())
    return web.json_response(attachment_json(attachment, url), status=201)


def _file_response(served: ServedFile) -> web.Response:
    # Images open in the browser; documents are saved, never rendered here.
    disposition = "inline" if is_image(served.media_type) else "attachment"
    name = served.filename
    return web.Response(
        body=served.content,
        content_type=served.media_type,
        headers={
            **FILE_HEADERS,
            "Content-Disposition": f'{disposition}; filename="{ascii_fallback(name)}"'
            f"; filename*=UTF-8''{quote(name, safe='')}",
        },
    )
