"""A stand-in for Telegram's Bot API (https://core.telegram.org/bots/api).

Answers ``POST /bot<token>/<method>`` as Telegram does (``{"ok": true, "result": …}``;
errors as ``{"ok": false, "error_code", "description", "parameters"?}``), records
every call, answers 403 "bot was blocked by the user" for blocked chats, and keeps the
webhook set with ``setWebhook``: ``POST /_deliver {"update": …}`` posts an update to it
with the ``X-Telegram-Bot-Api-Secret-Token`` header, as Telegram delivers.

Files customers sent (``POST /_files {"file_id", "content_base64", "file_path"?}``, or
``add_file`` in the test's loop) are served as the Bot API documents: ``getFile``
answers the File object (``file_id``, ``file_unique_id``, ``file_size``,
``file_path``; "Bad Request: file is too big" over 20 MB) and ``GET
/file/bot<token>/<file_path>`` the bytes. ``sendPhoto`` and ``sendDocument`` take the
file as a URL or file id in JSON, or uploaded as multipart/form-data; an upload is
recorded by its name, type, size and SHA-256.

    python -m tests.standins.telegram_api --port 8443 --token 123:abc
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.standins.recording import (
    RECORD,
    Record,
    add_control_routes,
    failure_response,
    serve,
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# Bots may download files of up to 20 MB (getFile).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
FILE_FIELDS = {"sendPhoto": "photo", "sendDocument": "document"}


@dataclass
class StoredFile:
    file_path: str
    content: bytes
    # The size getFile reports; the real one unless a test says otherwise.
    file_size: int


@dataclass
class Bot:
    token: str
    webhook_url: str | None = None
    secret_token: str | None = None
    blocked_chats: set[int] = field(default_factory=set)
    message_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1)
    )
    files: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)


BOT: web.AppKey[Bot] = web.AppKey("bot", Bot)


def create_app(token: str) -> web.Application:
    app = web.Application()
    app[RECORD] = Record()
    app[BOT] = Bot(token)
    add_control_routes(app)
    app.router.add_post("/bot{token}/{method}", bot_method)
    app.router.add_get("/file/bot{token}/{file_path:.+}", download_file)
    app.router.add_post("/_blocked", block_chat)
    app.router.add_post("/_deliver", deliver)
    app.router.add_post("/_files", put_file)
    return app


def add_file(
    app: web.Application,
    file_id: str,
    content: bytes,
    *,
    file_path: str | None = None,
    file_size: int | None = None,
) -> None:
    """A file a customer sent, as Telegram keeps it for the bot."""
    app[BOT].files[file_id] = StoredFile(
        file_path or f"documents/{file_id}",
        content,
        len(content) if file_size is None else file_size,
    )


async def put_file(request: web.Request) -> web.Response:
    body = await request.json()
    add_file(
        request.app,
        str(body["file_id"]),
        base64.b64decode(body["content_base64"]),
        file_path=body.get("file_path"),
    )
    return web.json_response({"files": sorted(request.app[BOT].files)})


async def download_file(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    if request.match_info["token"] != bot.token:
        return web.Response(status=404, text="Not Found")
    path = request.match_info["file_path"]
    bot.downloads.append(path)
    for stored in bot.files.values():
        if stored.file_path == path:
            return web.Response(
                body=stored.content, content_type="application/octet-stream"
            )
    return web.Response(status=404, text="Not Found")


async def _payload(request: web.Request) -> dict[str, Any]:
    """A method's parameters: JSON, or a multipart form whose files are recorded
    by what they are rather than their bytes."""
    if not request.content_type.startswith("multipart/form-data"):
        parsed = await request.json()
        return parsed if isinstance(parsed, dict) else {}
    payload: dict[str, Any] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            content = value.file.read()
            payload[name] = {
                "filename": value.filename,
                "content_type": value.content_type,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        else:
            payload[name] = (
                int(value) if name == "chat_id" and value.isdigit() else value
            )
    return payload


async def bot_method(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    if request.match_info["token"] != bot.token:
        return error(401, "Unauthorized")
    method = request.match_info["method"]
    try:
        payload = await _payload(request)
    except ValueError:
        return error(400, "Bad Request: the body is not JSON")
    record = request.app[RECORD]
    record.take({"method": method, "payload": payload})
    failure = record.next_failure(method)
    if failure is not None:
        return failure_response(failure)
    if method == "setWebhook":
        bot.webhook_url = payload.get("url")
        bot.secret_token = payload.get("secret_token")
        return ok(True)
    if method == "answerCallbackQuery":
        return ok(True)
    if method == "getFile":
        stored = bot.files.get(str(payload.get("file_id")))
        if stored is None:
            return error(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            return error(400, "Bad Request: file is too big")
        return ok(
            {
                "file_id": payload["file_id"],
                "file_unique_id": f"u{payload['file_id']}",
                "file_size": stored.file_size,
                "file_path": stored.file_path,
            }
        )
    if method in FILE_FIELDS and not payload.get(FILE_FIELDS[method]):
        return error(
            400, f"Bad Request: there is no {FILE_FIELDS[method]} in the request"
        )
    if method in ("sendMessage", "sendPhoto", "sendDocument"):
        chat_id = payload.get("chat_id")
        if not isinstance(chat_id, int):
            return error(400, "Bad Request: chat not found")
        if chat_id in bot.blocked_chats:
            return error(403, "Forbidden: bot was blocked by the user")
        text = payload.get("text")
        if method == "sendMessage" and (not isinstance(text, str) or not text):
            return error(400, "Bad Request: message text is empty")
        if isinstance(text, str) and len(text.encode("utf-16-le")) // 2 > 4096:
            return error(400, "Bad Request: message is too long")
        caption = payload.get("caption")
        if isinstance(caption, str) and len(caption.encode("utf-16-le")) // 2 > 1024:
            return error(400, "Bad Request: message caption is too long")
        return ok(
            {
                "message_id": next(bot.message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                **({"text": text} if isinstance(text, str) else {}),
            }
        )
    return error(404, "Not Found")


async def block_chat(request: web.Request) -> web.Response:
    """``{"chat_id": …, "blocked": true|false}``: the user blocks or unblocks it."""
    body = await request.json()
    chat_id = int(body["chat_id"])
    if body.get("blocked", True):
        request.app[BOT].blocked_chats.add(chat_id)
    else:
        request.app[BOT].blocked_chats.discard(chat_id)
    return web.json_response({"blocked": sorted(request.app[BOT].blocked_chats)})


async def deliver(request: web.Request) -> web.Response:
    """Posts ``update`` to the webhook set with setWebhook, as Telegram would."""
    bot = request.app[BOT]
    if bot.webhook_url is None:
        return web.json_response({"error": "no webhook set"}, status=409)
    update = (await request.json())["update"]
    status, body = await post_update(bot.webhook_url, update, bot.secret_token)
    return web.json_response({"status": status, "body": body})


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def error(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


# ---------------------------------------------------------------- updates


def text_update(
    update_id: int, chat_id: int, text: str, *, language_code: str = "ko"
) -> dict[str, Any]:
    """A customer's text message in their private chat with the bot."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "from": {
                "id": chat_id,
                "is_bot": False,
                "first_name": "Customer",
                "language_code": language_code,
            },
            "chat": {"id": chat_id, "type": "private", "first_name": "Customer"},
            "text": text,
        },
    }


def button_update(
    update_id: int, chat_id: int, data: str, *, query_id: str | None = None
) -> dict[str, Any]:
    """A press on an inline keyboard button the bot sent to the chat."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"cq{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Customer"},
            "chat_instance": "1",
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "…",
            },
            "data": data,
        },
    }


async def post_update(
    url: str, update: dict[str, Any], secret_token: str | None
) -> tuple[int, Any]:
    """Posts an update the way Telegram does: JSON, with the secret token header."""
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers[SECRET_HEADER] = secret_token
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(update), headers=headers) as answer,
    ):
        text = await answer.text()
        try:
            return answer.status, json.loads(text)
        except ValueError:
            return answer.status, text


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", required=True, help="the bot token it accepts")


if __name__ == "__main__":
    serve(__doc__.splitlines()[0], lambda args: create_app(args.token), _arguments)
