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
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.channel_state import ChannelState, ReplyOption, state_path
from bot.channels.configuration import api_url, required
from bot.channels.delivery import (
    DeliveryFailed,
    PlatformSession,
    Retries,
    TransientFailure,
    customer_text,
    report_failures,
    send_with_retry,
)
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
from bot.channels.redelivery import SeenUpdates
from bot.channels.sender_ids import channel_of, platform_user, sender_id
from bot.channels.text_parts import split_text, utf16_units

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT_UNITS = 4096
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
        self._session = session
        self._retries = retries

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        async def attempt() -> Any:
            try:
                async with self._session().post(
                    self._base + method, json=payload, timeout=REQUEST_TIMEOUT
                ) as answer:
                    body = await answer.content.read(MAX_ANSWER_BYTES)
                    return telegram_result(method, answer.status, body)
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
        self, api: TelegramApi, state: ChannelState, clock: Callable[[], float]
    ) -> None:
        self._api = api
        self._state = state
        self._clock = clock

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
        if options and not text:
            text = "⬇"
        pieces = split_text(text, MAX_TEXT_UNITS, utf16_units)
        for index, piece in enumerate(pieces, start=1):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if options and index == len(pieces):
                payload["reply_markup"] = inline_keyboard(options)
            await self._api.call("sendMessage", payload)
        if options:
            self._state.remember_options(recipient_id, options, self._clock())
        image = message.get("image")
        if isinstance(image, str) and image:
            await self._api.call("sendPhoto", {"chat_id": chat_id, "photo": image})


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


class TelegramInput(InputChannel):
    """``/webhooks/telegram/webhook``, for the updates Telegram posts."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        # Every setting comes from the environment; the credentials file only
        # names the channel (scripts/run_stack.py writes it when they are set).
        return cls(
            TelegramSettings.from_environment(os.environ),
            ChannelState(state_path(os.environ)),
        )

    def __init__(
        self,
        settings: TelegramSettings,
        state: ChannelState,
        *,
        seen: SeenUpdates | None = None,
        retries: Retries | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._state = state
        self._seen = seen or SeenUpdates()
        self._clock = clock
        self._session = PlatformSession()
        self.api = TelegramApi(settings, self._session.get, retries or Retries())

    async def close(self) -> None:
        await self._session.close()

    def get_output_channel(self) -> TelegramOutput:
        return TelegramOutput(self.api, self._state, self._clock)

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
            if not self._seen.first_time(update_id):
                return response.json({"status": "duplicate"})
            try:
                incoming = understood
                if isinstance(understood, ButtonPress):
                    incoming = await self._press(understood)
                if incoming is None:
                    return response.json({"status": "ignored"})
                assert isinstance(incoming, Incoming)
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
                self._seen.forget(update_id)
                logger.exception("Telegram update %s could not be processed", update_id)
                return problem(
                    500, "processing_failed", "the update could not be processed"
                )
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

    def _read(self, update: dict[str, Any]) -> Incoming | ButtonPress | None:
        """What the update asks of the bot, without acting on it; None for updates
        the bot has nothing to do with (edits, member changes, group chats...)."""
        if "message" in update:
            return _message(_object(update, "message"))
        if "callback_query" in update:
            return _button_press(_object(update, "callback_query"))
        return None

    async def _press(self, press: ButtonPress) -> Incoming | None:
        options = self._state.options(press.sender_id)
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


def _message(message: dict[str, Any]) -> Incoming | None:
    sender = _private_chat_sender(message)
    author = message.get("from")
    if sender is None or (isinstance(author, dict) and author.get("is_bot") is True):
        return None
    language = author.get("language_code") if isinstance(author, dict) else None
    korean = isinstance(language, str) and language.lower().startswith("ko")
    text = message.get("text")
    if not isinstance(text, str):
        text = message.get("caption")
    text = text if isinstance(text, str) else ""
    if utf16_units(text) > MAX_TEXT_UNITS:
        raise WebhookRefused(400, "invalid_request", "the text is over 4096 characters")
    media = [
        {"kind": kind, "platform": CHANNEL, **_media_reference(message[field])}
        for field, kind in MEDIA_FIELDS
        if field in message
    ]
    metadata = {MEDIA_KEY: media} if media else {}
    if text.strip().split(" ")[0] == START_COMMAND:
        # Opening the bot in Telegram sends /start: a greeting.
        return Incoming(sender, GREETINGS["ko" if korean else "en"], metadata)
    typed = typed_text(text)
    if typed:
        return Incoming(sender, typed, metadata)
    if media:
        return Incoming(sender, media_label(media[0]["kind"], korean), metadata)
    return None


def _media_reference(value: Any) -> dict[str, Any]:
    """The file id (never a download URL, which would hold the bot's token)."""
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        value = value[-1]  # photo sizes, largest last
    if not isinstance(value, dict):
        return {}
    if "latitude" in value and "longitude" in value:
        return {"latitude": value["latitude"], "longitude": value["longitude"]}
    reference = {
        key: value[key]
        for key in ("file_id", "mime_type", "file_name")
        if isinstance(value.get(key), str)
    }
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
