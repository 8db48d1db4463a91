"""Telegram, through the Bot API with aiohttp.

Rasa 3.6's own Telegram connector cannot serve here: its output channel calls
``asyncio.run`` inside the running loop, so a push from the handoff service (an agent's
reply) fails; it does not check Telegram's secret token; and edited messages, stickers,
member changes or a button press without text make it fail. This channel:

- answers ``POST /webhooks/telegram/webhook`` only with the secret token given to
  ``setWebhook`` (header ``X-Telegram-Bot-Api-Secret-Token``; 401 missing, 403 wrong),
  bodies up to 64 KiB (413), one JSON object (400), and each ``update_id`` once;
- takes text, captions, media (as "[사진]"/"[photo]", the file ids in the metadata)
  and button presses of private chats; other updates are acknowledged and ignored;
- with the handoff service's secret set, a photo or a document goes to the service
  (``getFile``, then the file from ``<api url>/file/bot<token>/<path>``, at most
  ``TANDEM_ATTACHMENT_MAX_BYTES``; bot/channels/attachments.py) and reaches the
  bot as ``/share_attachment``, after its caption; a file that cannot be received
  is answered with a notice in the customer's language;
- sends an agent's file with ``sendPhoto``/``sendDocument``: by its link when the
  service's link is absolute, else uploaded from the service's copy;
- sends with ``sendMessage``, long texts in pieces of at most 4096 characters,
  buttons as an inline keyboard whose presses are checked against the buttons last
  sent to that chat and answered with ``answerCallbackQuery``;
- retries 429 (``retry_after``) and 5xx; a blocked bot (403) is a permanent
  ``DeliveryFailed`` (``bot/channels/delivery.py``).

Settings: TANDEM_TELEGRAM_TOKEN, TANDEM_TELEGRAM_SECRET_TOKEN, TANDEM_TELEGRAM_API_URL.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.attachments import (
    FAILED,
    TOO_LARGE,
    AttachmentRefused,
    AttachmentService,
    AttachmentSettings,
    check_declared_size,
    check_declared_type,
    download,
    public_link,
    refusal_notice,
)
from bot.channels.channel_state import ChannelState, ReplyOption
from bot.channels.configuration import api_url, required
from bot.channels.delivery import (
    DeliveryFailed,
    Retries,
    TransientFailure,
    customer_text,
    report_failures,
    send_with_retry,
)
from bot.channels.delivery_ledger import DeliveryLedger
from bot.channels.incoming import (
    MEDIA_KEY,
    Incoming,
    media_label,
    reply_options,
    typed_text,
)
from bot.channels.limits import (
    WebhookRefused,
    check_body_size,
    json_object,
    problem,
)
from bot.channels.platform_input import PlatformInput
from bot.channels.sender_ids import channel_of, platform_user, sender_id
from bot.channels.text_parts import split_text, utf16_units
from bot.channels.trouble_notices import WILL_ANSWER, TroubleNotices
from bot.channels.webhook_deliveries import (
    claim_delivery,
    finish_delivery,
    release_delivery,
)
from bot.message_attachments import Attachment, attachment_of
from bot.message_rate import CustomerRate

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT_UNITS = 4096
MAX_CAPTION_UNITS = 1024
MAX_CALLBACK_DATA_BYTES = 64
# One attempt; send_with_retry makes up to three, all within the service's wait.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=3)
# What Telegram answers is small; anything bigger is not Telegram.
MAX_ANSWER_BYTES = 256 * 1024
# Message kinds without text, each with the label the agent sees.
MEDIA_FIELDS = (
    ("photo", "photo"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "video"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("sticker", "sticker"),
    ("document", "file"),
    ("location", "location"),
    ("venue", "location"),
    ("contact", "contact"),
)
# Media the service keeps: photos, and documents (of the kinds it accepts).
UPLOADABLE_KINDS = ("photo", "file")
# Telegram sends every photo as a JPEG.
PHOTO_TYPE = "image/jpeg"
# Sent as photos; other images (GIF) and PDFs as documents.
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
EXPIRED_CHOICE = "이 선택지는 지났어요. / This choice has expired."
START_COMMAND = "/start"
GREETINGS = {"ko": "안녕하세요", "en": "hello"}


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    secret_token: str
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TelegramSettings:
        return cls(
            token=required(environ, "TANDEM_TELEGRAM_TOKEN", CHANNEL),
            secret_token=required(environ, "TANDEM_TELEGRAM_SECRET_TOKEN", CHANNEL),
            api_url=api_url(environ, "TANDEM_TELEGRAM_API_URL", DEFAULT_API_URL),
        )


class TelegramApi:
    """The Bot API methods the channel calls, with retries and Telegram's errors
    turned into ``DeliveryFailed``."""

    def __init__(
        self,
        settings: TelegramSettings,
        session: Callable[[], aiohttp.ClientSession],
        retries: Retries,
    ) -> None:
        # The token is part of every URL: never log one.
        self._base = f"{settings.api_url}/bot{settings.token}/"
        self._files = f"{settings.api_url}/file/bot{settings.token}/"
        self._session = session
        self._retries = retries

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        return await self._post(method, lambda: {"json": payload})

    async def call_with_file(
        self,
        method: str,
        fields: dict[str, Any],
        file_field: str,
        upload: FileUpload,
    ) -> Any:
        """``method`` with a file uploaded as multipart/form-data, as the Bot API
        takes new files."""

        def body() -> dict[str, Any]:
            # A form is spent once sent: each attempt builds its own.
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, str(value))
            form.add_field(
                file_field,
                upload.content,
                filename=upload.filename,
                content_type=upload.media_type,
            )
            return {"data": form}

        return await self._post(method, body)

    async def _post(self, method: str, body: Callable[[], dict[str, Any]]) -> Any:
        async def attempt() -> Any:
            try:
                async with self._session().post(
                    self._base + method, timeout=REQUEST_TIMEOUT, **body()
                ) as answer:
                    raw = await answer.content.read(MAX_ANSWER_BYTES)
                    return telegram_result(method, answer.status, raw)
            except asyncio.TimeoutError as error:
                raise TransientFailure(
                    CHANNEL, "timeout", f"{method}: no answer in time"
                ) from error
            except aiohttp.ClientError as error:
                raise TransientFailure(
                    CHANNEL, "platform_error", f"{method}: {type(error).__name__}"
                ) from error

        return await send_with_retry(
            attempt,
            attempts=self._retries.attempts,
            base_delay=self._retries.base_delay,
            sleep=self._retries.sleep,
        )

    async def download_file(self, file_id: str, max_bytes: int) -> tuple[bytes, str]:
        """A file a customer sent, and its path at Telegram: ``getFile``, then the
        file itself, refused when Telegram says it is over ``max_bytes``."""
        try:
            found = await self.call("getFile", {"file_id": file_id})
        except DeliveryFailed as failure:
            # Bots may fetch files of up to 20 MB; Telegram refuses bigger ones.
            too_big = "file is too big" in failure.detail.lower()
            raise AttachmentRefused(
                TOO_LARGE if too_big else FAILED, failure.detail
            ) from failure
        if not isinstance(found, dict) or not isinstance(found.get("file_path"), str):
            raise AttachmentRefused(FAILED, "getFile: no file_path")
        check_declared_size(found.get("file_size"), max_bytes)
        path = found["file_path"]
        if path.startswith("/") or ".." in PurePosixPath(path).parts:
            raise AttachmentRefused(FAILED, "getFile: an unusable file_path")
        status, _, content, _ = await download(
            self._session(), self._files + path, max_bytes, what="the Telegram file"
        )
        if status != 200:
            raise AttachmentRefused(FAILED, f"the Telegram file: {status}")
        return content, path


@dataclass(frozen=True)
class FileUpload:
    content: bytes
    filename: str
    media_type: str


def telegram_result(method: str, status: int, body: bytes) -> Any:
    """The ``result`` of a Bot API answer, or the failure it reports."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if status == 200 and answer.get("ok") is True:
        return answer.get("result")
    code = answer.get("error_code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else status
    description = answer.get("description")
    detail = f"{method}: {description if isinstance(description, str) else status}"
    if code == 429:
        parameters = answer.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        retry_after = float(wait) if isinstance(wait, int | float) else None
        raise TransientFailure(CHANNEL, "platform_error", detail, retry_after)
    if code >= 500:
        raise TransientFailure(CHANNEL, "platform_error", detail)
    if code == 403:
        # Blocked by the user, or the user's account is gone.
        raise DeliveryFailed(CHANNEL, "blocked", permanent=True, detail=detail)
    if code == 400 and "chat not found" in detail.lower():
        raise DeliveryFailed(
            CHANNEL, "invalid_recipient", permanent=True, detail=detail
        )
    raise DeliveryFailed(CHANNEL, "platform_error", permanent=True, detail=detail)


def inline_keyboard(options: list[ReplyOption]) -> dict[str, Any]:
    """One button a row. Callback data holds the payload when it fits Telegram's 64
    bytes, else the button's number."""
    rows = []
    for number, option in enumerate(options, start=1):
        data = option.payload
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            data = f"#{number}"
        rows.append([{"text": option.title, "callback_data": data}])
    return {"inline_keyboard": rows}


def pressed_option(data: str, options: list[ReplyOption]) -> ReplyOption | None:
    """The button whose callback data this is, among those last sent to the chat."""
    if data.startswith("#") and data[1:].isdigit():
        number = int(data[1:])
        if 1 <= number <= len(options):
            return options[number - 1]
    for option in options:
        if option.payload == data:
            return option
    return None


class TelegramOutput(OutputChannel):
    """Sends to one Telegram chat per conversation (``telegram:<chat id>``)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def __init__(
        self,
        api: TelegramApi,
        state: ChannelState,
        clock: Callable[[], float],
        attachments: AttachmentService | None = None,
    ) -> None:
        self._api = api
        self._state = state
        self._clock = clock
        self._attachments = attachments

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await report_failures(lambda: self._send(recipient_id, message), message)

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {**kwargs, "text": text})

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await self.send_response(
            recipient_id, {**kwargs, "text": text, "buttons": buttons}
        )

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {**kwargs, "image": image})

    async def _send(self, recipient_id: str, message: dict[str, Any]) -> None:
        chat_id = _chat_id(recipient_id)
        text = customer_text(message)
        options = reply_options(message)
        attachment = attachment_of(message)
        if attachment is not None:
            # The file is checked before anything goes out, so a failure leaves
            # the customer with nothing half sent.
            source = await self._file_source(attachment)
            if text and not options and utf16_units(text) <= MAX_CAPTION_UNITS:
                await self._send_file(chat_id, attachment, source, caption=text)
                return
        if options and not text:
            text = "⬇"
        pieces = split_text(text, MAX_TEXT_UNITS, utf16_units)
        for index, piece in enumerate(pieces, start=1):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if options and index == len(pieces):
                payload["reply_markup"] = inline_keyboard(options)
            await self._api.call("sendMessage", payload)
        if options:
            await self._state.remember_options(recipient_id, options, self._clock())
        image = message.get("image")
        if isinstance(image, str) and image:
            await self._api.call("sendPhoto", {"chat_id": chat_id, "photo": image})
        if attachment is not None:
            await self._send_file(chat_id, attachment, source, caption=None)

    async def _file_source(self, attachment: Attachment) -> str | FileUpload:
        """Where Telegram gets the agent's file: the service's public link, or
        the file itself, fetched from the service."""
        link = public_link(attachment)
        if link is not None:
            return link
        if self._attachments is None:
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=True,
                detail="the attachment has no public link to send",
            )
        try:
            content = await self._attachments.fetch(attachment)
        except AttachmentRefused as refused:
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=True,
                detail=f"the attachment could not be fetched: {refused.detail}",
            ) from refused
        return FileUpload(content, attachment.filename, attachment.media_type)

    async def _send_file(
        self,
        chat_id: int,
        attachment: Attachment,
        source: str | FileUpload,
        caption: str | None,
    ) -> None:
        photo = attachment.media_type in PHOTO_TYPES
        method, field_name = (
            ("sendPhoto", "photo") if photo else ("sendDocument", "document")
        )
        fields: dict[str, Any] = {"chat_id": chat_id}
        if caption:
            fields["caption"] = caption
        if isinstance(source, str):
            await self._api.call(method, {**fields, field_name: source})
        else:
            await self._api.call_with_file(method, fields, field_name, source)


def _chat_id(recipient_id: str) -> int:
    try:
        if channel_of(recipient_id) != CHANNEL:
            raise ValueError(recipient_id)
        return int(platform_user(recipient_id))
    except ValueError as error:
        raise DeliveryFailed(
            CHANNEL,
            "invalid_recipient",
            permanent=True,
            detail=f"{recipient_id!r} is not a Telegram conversation",
        ) from error


@dataclass(frozen=True)
class ButtonPress:
    callback_query_id: str
    sender_id: str
    data: str


class TelegramInput(PlatformInput):
    """``/webhooks/telegram/webhook``, for the updates Telegram posts."""

    PLATFORM = "Telegram"

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def settings_from_environment(
        cls, environment: Mapping[str, str]
    ) -> TelegramSettings:
        return TelegramSettings.from_environment(environment)

    def __init__(
        self,
        settings: TelegramSettings,
        state: ChannelState,
        *,
        ledger: DeliveryLedger | None = None,
        rate: CustomerRate | None = None,
        retries: Retries | None = None,
        clock: Callable[[], float] = time.time,
        attachments: AttachmentSettings | None = None,
    ) -> None:
        super().__init__(
            state,
            TroubleNotices(WILL_ANSWER),
            ledger=ledger,
            rate=rate,
            clock=clock,
            attachments=attachments,
        )
        self._settings = settings
        self.api = TelegramApi(settings, self._session.get, retries or Retries())

    def get_output_channel(self) -> TelegramOutput:
        return TelegramOutput(self.api, self._state, self._clock, self.attachments)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("tandem_telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                self._check_secret(request)
                update = json_object(check_body_size(request))
                update_id = update.get("update_id")
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    raise WebhookRefused(
                        400, "invalid_request", "update_id must be an integer"
                    )
                understood = self._read(update)
            except WebhookRefused as refused:
                return refused.response()
            claimed = await claim_delivery(self._ledger, CHANNEL, str(update_id))
            if claimed is not None:
                return claimed
            try:
                if isinstance(understood, ButtonPress):
                    # A button press does not say the customer's language.
                    if not await self._within_rate(understood.sender_id, "ko"):
                        await finish_delivery(self._ledger, CHANNEL, str(update_id))
                        return response.json({"status": "rate_limited"})
                    pressed = await self._press(understood)
                    messages = [pressed] if pressed is not None else []
                elif understood is not None:
                    language = "ko" if understood.korean else "en"
                    if not await self._within_rate(understood.sender_id, language):
                        await finish_delivery(self._ledger, CHANNEL, str(update_id))
                        return response.json({"status": "rate_limited"})
                    messages = await self._messages(understood)
                else:
                    messages = []
                if not messages:
                    await finish_delivery(self._ledger, CHANNEL, str(update_id))
                    return response.json({"status": "ignored"})
                for incoming in messages:
                    await on_new_message(
                        UserMessage(
                            incoming.text,
                            self.get_output_channel(),
                            incoming.sender_id,
                            input_channel=CHANNEL,
                            metadata=incoming.metadata or None,
                        )
                    )
            except Exception:
                # Telegram delivers the update again; let it be processed then.
                await release_delivery(self._ledger, CHANNEL, str(update_id))
                logger.exception("Telegram update %s could not be processed", update_id)
                if understood is not None:
                    await self.trouble.tell(
                        self.get_output_channel(),
                        understood.sender_id,
                        _language_of(understood),
                        str(update_id),
                    )
                return problem(
                    500, "processing_failed", "the update could not be processed"
                )
            await finish_delivery(self._ledger, CHANNEL, str(update_id))
            return response.json({"status": "processed"})

        @webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await self.close()

        return webhook

    def _check_secret(self, request: Request) -> None:
        sent = request.headers.get(SECRET_HEADER)
        if not sent:
            raise WebhookRefused(
                401, "unauthorized", f"the {SECRET_HEADER} header is missing"
            )
        if not hmac.compare_digest(
            sent.encode("utf-8"), self._settings.secret_token.encode("utf-8")
        ):
            raise WebhookRefused(403, "forbidden", f"the {SECRET_HEADER} is wrong")

    def _read(self, update: dict[str, Any]) -> TelegramMessage | ButtonPress | None:
        """What the update asks of the bot, without acting on it; None for updates
        the bot has nothing to do with (edits, member changes, group chats...)."""
        if "message" in update:
            return _message(_object(update, "message"))
        if "callback_query" in update:
            return _button_press(_object(update, "callback_query"))
        return None

    async def _messages(self, message: TelegramMessage) -> list[Incoming]:
        """What the bot gets of a customer's message: the message itself, or, for
        a photo or document the service can keep, its caption (if any) and then
        the file as ``/share_attachment``."""
        files = [
            media
            for media in message.media
            if media["kind"] in UPLOADABLE_KINDS
            and isinstance(media.get("file_id"), str)
        ]
        if self.attachments is None or not files:
            whole = message.incoming()
            return [whole] if whole is not None else []
        rest = TelegramMessage(
            message.sender_id,
            message.korean,
            message.text,
            [media for media in message.media if media not in files],
        ).incoming()
        messages = [rest] if rest is not None else []
        return messages + await self._shared_files(
            message.sender_id,
            files,
            partial(self._receive_file, message.sender_id),
            partial(self._tell, message),
        )

    async def _receive_file(self, sender: str, media: dict[str, Any]) -> Attachment:
        assert self.attachments is not None
        max_bytes = self.attachments.max_bytes
        photo = media["kind"] == "photo"
        declared = PHOTO_TYPE if photo else media.get("mime_type")
        check_declared_type(declared)
        check_declared_size(media.get("file_size"), max_bytes)
        content, path = await self.api.download_file(media["file_id"], max_bytes)
        filename = media.get("file_name") or PurePosixPath(path).name
        return await self.attachments.upload(
            sender, content, filename, declared or "application/octet-stream"
        )

    async def _tell(self, message: TelegramMessage, reason: str) -> None:
        """Tells the customer their file was not received; a notice that does not
        go out either is only logged."""
        assert self.attachments is not None
        notice = refusal_notice(reason, message.korean, self.attachments.max_bytes)
        try:
            await self.api.call(
                "sendMessage", {"chat_id": _chat_id(message.sender_id), "text": notice}
            )
        except DeliveryFailed as failure:
            logger.warning("The file notice was not delivered: %s", failure)

    async def _press(self, press: ButtonPress) -> Incoming | None:
        options = await self._state.options(press.sender_id)
        chosen = pressed_option(press.data, options)
        answer: dict[str, Any] = {"callback_query_id": press.callback_query_id}
        if chosen is None:
            answer["text"] = EXPIRED_CHOICE
        try:
            # Stops the button's spinner; the customer's choice does not depend on it.
            await self.api.call("answerCallbackQuery", answer)
        except DeliveryFailed as failure:
            logger.warning("answerCallbackQuery failed: %s", failure)
        if chosen is None:
            return None
        return Incoming(press.sender_id, chosen.payload)


def _object(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise WebhookRefused(400, "invalid_request", f"{key} must be an object")
    return value


def _private_chat_sender(message: Mapping[str, Any]) -> str | None:
    chat = _object(message, "chat")
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise WebhookRefused(400, "invalid_request", "chat.id must be an integer")
    # A customer's own chat with the bot; groups and channels are not conversations.
    if chat.get("type") != "private":
        return None
    return sender_id(CHANNEL, str(chat_id))


def _language_of(understood: TelegramMessage | ButtonPress) -> str:
    """The customer's language as far as the update says: Korean unless a message
    in another language shows otherwise."""
    if isinstance(understood, TelegramMessage) and not understood.korean:
        return "en"
    return "ko"


@dataclass(frozen=True)
class TelegramMessage:
    """A customer's message in their private chat: what they typed or captioned
    (or the greeting for /start), and its media."""

    sender_id: str
    korean: bool
    text: str
    media: list[dict[str, Any]] = field(default_factory=list)

    def incoming(self) -> Incoming | None:
        """The message as the bot gets it when its files stay at Telegram: the
        text, or a label for the media, with their references in the metadata."""
        metadata = {MEDIA_KEY: self.media} if self.media else {}
        if self.text:
            return Incoming(self.sender_id, self.text, metadata)
        if self.media:
            label = media_label(self.media[0]["kind"], self.korean)
            return Incoming(self.sender_id, label, metadata)
        return None


def _message(message: dict[str, Any]) -> TelegramMessage | None:
    sender = _private_chat_sender(message)
    author = message.get("from")
    if sender is None or (isinstance(author, dict) and author.get("is_bot") is True):
        return None
    code = author.get("language_code") if isinstance(author, dict) else None
    korean = isinstance(code, str) and code.lower().startswith("ko")
    text = message.get("text")
    if not isinstance(text, str):
        text = message.get("caption")
    text = text if isinstance(text, str) else ""
    if utf16_units(text) > MAX_TEXT_UNITS:
        raise WebhookRefused(400, "invalid_request", "the text is over 4096 characters")
    media = [
        {"kind": kind, "platform": CHANNEL, **_media_reference(message[name])}
        for name, kind in MEDIA_FIELDS
        if name in message
    ]
    if text.strip().split(" ")[0] == START_COMMAND:
        # Opening the bot in Telegram sends /start: a greeting.
        return TelegramMessage(
            sender, korean, GREETINGS["ko" if korean else "en"], media
        )
    if not typed_text(text) and not media:
        return None
    return TelegramMessage(sender, korean, typed_text(text), media)


def _media_reference(value: Any) -> dict[str, Any]:
    """The file id (never a download URL, which would hold the bot's token)."""
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1]  # photo sizes, largest last
    if not isinstance(value, dict):
        return {}
    if "latitude" in value and "longitude" in value:
        return {"latitude": value["latitude"], "longitude": value["longitude"]}
    reference: dict[str, Any] = {
        key: value[key]
        for key in ("file_id", "mime_type", "file_name")
        if isinstance(value.get(key), str)
    }
    size = value.get("file_size")
    if isinstance(size, int) and not isinstance(size, bool):
        reference["file_size"] = size
    return reference


def _button_press(query: dict[str, Any]) -> ButtonPress | None:
    query_id = query.get("id")
    if not isinstance(query_id, str) or not query_id:
        raise WebhookRefused(400, "invalid_request", "callback_query.id is missing")
    message = query.get("message")
    data = query.get("data")
    if not isinstance(message, dict) or not isinstance(data, str):
        # A press on an inline-mode message, or a game: nothing for this bot.
        return None
    sender = _private_chat_sender(message)
    if sender is None:
        return None
    return ButtonPress(query_id, sender, data)
