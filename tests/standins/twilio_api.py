"""A stand-in for Twilio's Messages API and its signed webhooks.

Answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (HTTP basic auth with the
account SID and auth token) as Twilio does: 201 with the message, or an error
``{"code", "message", "more_info", "status"}``; records every call; answers the
error code set for a recipient (``POST /_recipient_errors {"To": code}``).
``POST /_deliver {"url", "params"}`` posts an incoming-message webhook to ``url``
signed with ``X-Twilio-Signature`` as Twilio signs it
(https://www.twilio.com/docs/usage/webhooks/webhooks-security).
``POST /_status {"sid", "status", "error_code"}`` posts a signed status callback for
a message it created to that message's ``StatusCallback``, with the parameters
Twilio documents (MessageSid, MessageStatus, ErrorCode, AccountSid, From, To...);
``GET /_created`` lists the messages it created, by SID.

Media customers sent (``add_media`` in the test's loop, or ``POST /_media
{"content_base64", "content_type"}``, which answers the media URL) are served at
``/2010-04-01/Accounts/<sid>/Messages/<MM…>/Media/<ME…>`` as Twilio serves them:
HTTP basic auth with the account SID and auth token required (401 error 20003
without), then a 307 redirect to the stored file (``/_storage/<token>``), which
needs no auth; the storage records whether credentials came along anyway.

    python -m tests.standins.twilio_api --port 8444 --account-sid AC… --auth-token …
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.standins.recording import (
    RECORD,
    Record,
    add_control_routes,
    failure_response,
    serve,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
ERROR_MESSAGES = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    63016: (
        "Failed to send freeform message because you are outside the allowed window."
    ),
}


@dataclass
class StoredMedia:
    content: bytes
    content_type: str
    token: str


@dataclass
class Account:
    sid: str
    auth_token: str
    recipient_errors: dict[str, int] = field(default_factory=dict)
    # By the media URL's path.
    media: dict[str, StoredMedia] = field(default_factory=dict)
    # Each fetch of a stored file: whether it carried an Authorization header.
    storage_fetches: list[dict[str, Any]] = field(default_factory=list)
    # The messages created, by their SID.
    created: dict[str, dict[str, str]] = field(default_factory=dict)


ACCOUNT: web.AppKey[Account] = web.AppKey("account", Account)


def create_app(account_sid: str, auth_token: str) -> web.Application:
    app = web.Application()
    app[RECORD] = Record()
    app[ACCOUNT] = Account(account_sid, auth_token)
    add_control_routes(app)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create_message)
    app.router.add_get(
        "/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media/{media_sid}",
        fetch_media,
    )
    app.router.add_get("/_storage/{token}", fetch_storage)
    app.router.add_post("/_recipient_errors", recipient_errors)
    app.router.add_post("/_deliver", deliver)
    app.router.add_post("/_status", send_status)
    app.router.add_get("/_created", list_created)
    app.router.add_post("/_media", put_media)
    return app


def add_media(
    app: web.Application, base_url: str, content: bytes, content_type: str
) -> str:
    """Stores media a customer sent; its URL, as Twilio puts it in MediaUrl0."""
    account = app[ACCOUNT]
    path = (
        f"/2010-04-01/Accounts/{account.sid}/Messages/MM{secrets.token_hex(16)}"
        f"/Media/ME{secrets.token_hex(16)}"
    )
    account.media[path] = StoredMedia(content, content_type, secrets.token_hex(16))
    return base_url.rstrip("/") + path


async def put_media(request: web.Request) -> web.Response:
    body = await request.json()
    origin = f"{request.scheme}://{request.host}"
    url = add_media(
        request.app,
        origin,
        base64.b64decode(body["content_base64"]),
        str(body["content_type"]),
    )
    return web.json_response({"url": url})


async def fetch_media(request: web.Request) -> web.Response:
    account = request.app[ACCOUNT]
    expected = aiohttp.BasicAuth(account.sid, account.auth_token).encode()
    if request.headers.get("Authorization") != expected:
        return twilio_error(401, 20003, "Authenticate")
    stored = account.media.get(request.path)
    if stored is None:
        return twilio_error(404, 20404, "The requested resource was not found")
    # The Host header, not request.url: see tests/standins/kakao_api.py.
    location = f"{request.scheme}://{request.host}/_storage/{stored.token}"
    raise web.HTTPTemporaryRedirect(location)


async def fetch_storage(request: web.Request) -> web.Response:
    account = request.app[ACCOUNT]
    token = request.match_info["token"]
    account.storage_fetches.append(
        {"token": token, "authorization": "Authorization" in request.headers}
    )
    for stored in account.media.values():
        if stored.token == token:
            return web.Response(body=stored.content, content_type=stored.content_type)
    return web.Response(status=404)


async def create_message(request: web.Request) -> web.Response:
    account = request.app[ACCOUNT]
    expected = aiohttp.BasicAuth(account.sid, account.auth_token).encode()
    if (
        request.headers.get("Authorization") != expected
        or request.match_info["sid"] != account.sid
    ):
        return twilio_error(401, 20003, "Authenticate")
    form = dict(await request.post())
    record = request.app[RECORD]
    record.take({"method": "Messages.create", "form": form})
    failure = record.next_failure("Messages.create")
    if failure is not None:
        return failure_response(failure)
    to = str(form.get("To", ""))
    if not form.get("From") or not to:
        return twilio_error(400, 21604, "A 'To' and a 'From' are required.")
    if not form.get("Body") and not form.get("MediaUrl"):
        return twilio_error(400, 21602, "Message body is required.")
    code = account.recipient_errors.get(to)
    if code is not None:
        return twilio_error(400, code, ERROR_MESSAGES.get(code, "Error"))
    sid = "SM" + secrets.token_hex(16)
    account.created[sid] = {name: str(value) for name, value in form.items()}
    return web.json_response(
        {
            "sid": sid,
            "account_sid": account.sid,
            "from": form["From"],
            "to": to,
            "body": form.get("Body", ""),
            "status": "queued",
        },
        status=201,
    )


async def recipient_errors(request: web.Request) -> web.Response:
    """``{"<To>": code}`` sets the error Twilio answers for that recipient;
    ``{"<To>": null}`` clears it."""
    errors = request.app[ACCOUNT].recipient_errors
    for to, code in (await request.json()).items():
        if code is None:
            errors.pop(str(to), None)
        else:
            errors[str(to)] = int(code)
    return web.json_response(errors)


async def deliver(request: web.Request) -> web.Response:
    """Posts an incoming-message webhook to ``url``, signed as Twilio signs it."""
    body = await request.json()
    params = [(str(name), str(value)) for name, value in body["params"].items()]
    status, text = await post_webhook(
        body["url"], params, request.app[ACCOUNT].auth_token
    )
    return web.json_response({"status": status, "body": text})


def status_params(
    account_sid: str,
    message_sid: str,
    status: str,
    *,
    sender: str,
    to: str,
    error_code: int | None = None,
) -> dict[str, str]:
    """A status callback as Twilio posts it for an outbound message."""
    params = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": account_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": sender,
        "To": to,
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


async def list_created(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].created)


async def send_status(request: web.Request) -> web.Response:
    """Posts a signed status callback for a created message to its
    StatusCallback; 404 for a message without one."""
    body = await request.json()
    account = request.app[ACCOUNT]
    form = account.created.get(str(body["sid"]))
    if form is None or not form.get("StatusCallback"):
        return web.json_response({"error": "no status callback"}, status=404)
    params = status_params(
        account.sid,
        str(body["sid"]),
        str(body["status"]),
        sender=form["From"],
        to=form["To"],
        error_code=body.get("error_code"),
    )
    status, text = await post_webhook(
        form["StatusCallback"], params.items(), account.auth_token
    )
    return web.json_response({"status": status, "body": text})


def twilio_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


# ---------------------------------------------------------------- webhooks


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's documented algorithm: the URL, then each parameter's name and value
    in the order of the names, HMAC-SHA1 with the auth token, base64."""
    data = url
    for name, value in sorted(params, key=lambda pair: pair[0]):
        data += name + value
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def inbound_params(
    account_sid: str,
    sender: str,
    to: str,
    body: str,
    *,
    message_sid: str | None = None,
    media: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """An incoming SMS or WhatsApp message as Twilio posts it (``sender`` and ``to``
    begin with ``whatsapp:`` for WhatsApp)."""
    media = list(media)
    params = {
        "MessageSid": message_sid or "SM" + secrets.token_hex(16),
        "SmsMessageSid": message_sid or "",
        "AccountSid": account_sid,
        "MessagingServiceSid": "",
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params["SmsMessageSid"] = params["MessageSid"]
    if sender.startswith("whatsapp:"):
        params["WaId"] = sender.removeprefix("whatsapp:+")
        params["ProfileName"] = "Customer"
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return params


async def post_webhook(
    url: str,
    params: Iterable[tuple[str, str]],
    auth_token: str,
    *,
    signed: str | None = None,
) -> tuple[int, str]:
    """Posts ``params`` form-encoded to ``url`` with Twilio's signature (or
    ``signed``, to send another; an empty string sends none)."""
    pairs = list(params)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    value = signature(auth_token, url, pairs) if signed is None else signed
    if value:
        headers[SIGNATURE_HEADER] = value
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=urlencode(pairs), headers=headers) as answer,
    ):
        return answer.status, await answer.text()


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)


def _build(arguments: Any) -> web.Application:
    return create_app(arguments.account_sid, arguments.auth_token)


if __name__ == "__main__":
    serve(__doc__.splitlines()[0], _build, _arguments)
