"""Twilio: SMS and WhatsApp through one webhook and Twilio's Messages API.

Rasa 3.6's own Twilio connector does not check Twilio's signature, fails on a
WhatsApp message that is only a photo, calls Twilio's blocking client inside the
event loop and swallows send errors. This channel:

- answers ``POST /webhooks/twilio/webhook`` only when ``X-Twilio-Signature`` is
  Twilio's (HMAC-SHA1 with the auth token over TANDEM_PUBLIC_URL + path + query and
  the sorted form parameters; 401 missing, 403 wrong), form bodies up to 64 KiB, and
  each ``MessageSid`` once; opt-out keywords (STOP, START, HELP, which Twilio
  answers itself) are acknowledged and ignored;
- sends an agent's reply with ``StatusCallback`` set to
  ``/webhooks/twilio/status`` and remembers its MessageSid (channel_state.py): a
  signed callback that says ``undelivered`` or ``failed`` is reported to the handoff
  service (bot/channels/delivery_reports.py) with the reason its ErrorCode means;
  other statuses, and SIDs it does not know, are acknowledged and ignored;
- tells WhatsApp (``From: whatsapp:+…``) from SMS; sender ids are
  ``whatsapp:+8210…`` and ``sms:+8210…``;
- keeps media (``MediaUrl0``…) in the message's metadata, with "[사진]"/"[photo]" as
  the text when there is no caption; with the handoff service's secret set, a photo
  or a PDF is fetched from its media URL (only the account's own, with the account's
  basic auth, whose redirect to Twilio's storage is followed without it) and stored
  by the service, and reaches the bot as ``/share_attachment`` after the text; a
  file that cannot be received is answered with a notice
  (bot/channels/attachments.py);
- sends an agent's file as the message's ``MediaUrl``, the service's public link;
- sends buttons as numbered options and maps a reply "1", "2"… (or a button's exact
  title) back to the button's payload;
- remembers when each WhatsApp customer last wrote: outside WhatsApp's 24-hour
  window a free-form message is not sent but refused as ``window_closed``;
- sends with aiohttp, retries 429 and 5xx, and raises Twilio's errors as
  ``DeliveryFailed`` (21610 unsubscribed: blocked; 63016: window closed; 21211 and
  kin: invalid recipient).

Settings: TANDEM_TWILIO_ACCOUNT_SID, TANDEM_TWILIO_AUTH_TOKEN, TANDEM_TWILIO_NUMBER
(SMS), TANDEM_TWILIO_WHATSAPP_NUMBER, TANDEM_TWILIO_API_URL, TANDEM_PUBLIC_URL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.attachments import (
    FAILED,
    AttachmentRefused,
    AttachmentSettings,
    check_declared_type,
    download,
    public_link,
    refusal_notice,
)
from bot.channels.channel_state import ChannelState, ReplyOption
from bot.channels.configuration import MissingChannelSetting, api_url, required
from bot.channels.delivery import (
    DeliveryFailed,
    Retries,
    TransientFailure,
    customer_text,
    reply_id,
    report_failures,
    send_with_retry,
)
from bot.channels.delivery_ledger import DeliveryLedger
from bot.channels.delivery_reports import DeliveryReports
from bot.channels.incoming import (
    MEDIA_KEY,
    Incoming,
    chosen_option,
    media_label,
    reply_options,
    typed_text,
)
from bot.channels.limits import WebhookRefused, check_body_size, problem
from bot.channels.platform_input import PlatformInput
from bot.channels.sender_ids import channel_of, platform_user, sender_id
from bot.channels.text_parts import split_text
from bot.channels.trouble_notices import SEND_AGAIN, TroubleNotices
from bot.channels.webhook_deliveries import (
    claim_delivery,
    finish_delivery,
    release_delivery,
)
from bot.message_attachments import Attachment, attachment_of
from bot.message_rate import CustomerRate

logger = logging.getLogger(__name__)

NAME = "twilio"
WHATSAPP = "whatsapp"
SMS = "sms"
WHATSAPP_PREFIX = "whatsapp:"
DEFAULT_API_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
# Twilio refuses a Body over 1600 characters.
MAX_BODY_CHARACTERS = 1600
# WhatsApp's customer-service window.
WHATSAPP_WINDOW_SECONDS = 24 * 3600
# Numbered options answer the message right after them only.
OPTIONS_VALID_SECONDS = 24 * 3600
MAX_FORM_FIELDS = 100
MAX_MEDIA = 10
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=3)
MAX_ANSWER_BYTES = 256 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MESSAGE_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
# Twilio error codes that say the message can never go to this recipient as it is.
PERMANENT_CODES = {
    21610: "blocked",  # the recipient replied STOP
    63016: "window_closed",  # WhatsApp: outside the 24-hour window
    21211: "invalid_recipient",  # not a valid phone number
    21614: "invalid_recipient",  # not a mobile number
    21612: "invalid_recipient",  # no route to this number
    63003: "invalid_recipient",  # WhatsApp: the number has no WhatsApp
    63024: "invalid_recipient",  # WhatsApp: invalid recipient
}
# Codes a status callback carries for a message Twilio had accepted.
LATE_CODES = {
    **PERMANENT_CODES,
    30004: "blocked",  # the recipient blocked the sender
    30005: "invalid_recipient",  # unknown destination handset
    30006: "invalid_recipient",  # a landline, or an unreachable carrier
}
FAILED_STATUSES = frozenset({"undelivered", "failed"})
STATUS_PATH = "/webhooks/twilio/status"
RATE_LIMITED_CODE = 20429
# Media the service keeps: photos and documents (of the kinds it accepts).
UPLOADABLE_KINDS = ("photo", "file")
# A media URL answers with a redirect to Twilio's storage.
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    public_url: str
    sms_number: str | None = None
    whatsapp_number: str | None = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TwilioSettings:
        sms_number = (environ.get("TANDEM_TWILIO_NUMBER") or "").strip() or None
        whatsapp_number = (
            environ.get("TANDEM_TWILIO_WHATSAPP_NUMBER") or ""
        ).strip().removeprefix(WHATSAPP_PREFIX) or None
        if sms_number is None and whatsapp_number is None:
            raise MissingChannelSetting(
                "The Twilio channel needs TANDEM_TWILIO_NUMBER (SMS) or"
                " TANDEM_TWILIO_WHATSAPP_NUMBER, or both."
            )
        for name, number in (
            ("TANDEM_TWILIO_NUMBER", sms_number),
            ("TANDEM_TWILIO_WHATSAPP_NUMBER", whatsapp_number),
        ):
            if number is not None and not _E164.match(number):
                raise MissingChannelSetting(f"{name} must be an E.164 number (+8210…)")
        return cls(
            account_sid=required(environ, "TANDEM_TWILIO_ACCOUNT_SID", NAME),
            auth_token=required(environ, "TANDEM_TWILIO_AUTH_TOKEN", NAME),
            # Where Twilio posts, as set in its console: what it signs.
            public_url=api_url(
                environ,
                "TANDEM_PUBLIC_URL",
                required(environ, "TANDEM_PUBLIC_URL", NAME),
            ),
            sms_number=sms_number,
            whatsapp_number=whatsapp_number,
            api_url=api_url(environ, "TANDEM_TWILIO_API_URL", DEFAULT_API_URL),
        )


# ---------------------------------------------------------------- signatures


def twilio_signature(
    auth_token: str, url: str, params: Sequence[tuple[str, str]]
) -> str:
    """``X-Twilio-Signature`` as Twilio computes it: HMAC-SHA1, keyed with the auth
    token, of the full URL followed by every POST parameter's name and value, sorted
    by name (then value), base64-encoded."""
    signed = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(
        auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_urls(url: str) -> list[str]:
    """The URL as configured, and with its default port added or removed: Twilio
    has signed with either (its own helper libraries accept both)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default_port = 443 if parts.scheme == "https" else 80
    with_port = parts._replace(netloc=f"{host}:{parts.port or default_port}")
    without_port = parts._replace(netloc=host)
    urls = [url]
    if parts.port in (None, default_port):
        urls += [urlunsplit(with_port), urlunsplit(without_port)]
    return list(dict.fromkeys(urls))


def valid_signature(
    auth_token: str, url: str, params: Sequence[tuple[str, str]], signature: str
) -> bool:
    return any(
        hmac.compare_digest(
            twilio_signature(auth_token, candidate, params).encode(),
            signature.encode(),
        )
        for candidate in signature_urls(url)
    )


# ---------------------------------------------------------------- sending


class TwilioApi:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, with retries and Twilio's
    errors turned into ``DeliveryFailed``."""

    def __init__(
        self,
        settings: TwilioSettings,
        session: Callable[[], aiohttp.ClientSession],
        retries: Retries,
    ) -> None:
        self._url = (
            f"{settings.api_url}/2010-04-01/Accounts/{settings.account_sid}"
            "/Messages.json"
        )
        self.auth = aiohttp.BasicAuth(settings.account_sid, settings.auth_token)
        self._session = session
        self._retries = retries

    async def send(self, channel: str, form: dict[str, str]) -> Any:
        async def attempt() -> Any:
            try:
                async with self._session().post(
                    self._url, data=form, auth=self.auth, timeout=REQUEST_TIMEOUT
                ) as answer:
                    body = await answer.content.read(MAX_ANSWER_BYTES)
                    return twilio_result(
                        channel, answer.status, body, answer.headers.get("Retry-After")
                    )
            except asyncio.TimeoutError as error:
                raise TransientFailure(
                    channel, "timeout", "Twilio did not answer in time"
                ) from error
            except aiohttp.ClientError as error:
                raise TransientFailure(
                    channel, "platform_error", f"Twilio: {type(error).__name__}"
                ) from error

        return await send_with_retry(
            attempt,
            attempts=self._retries.attempts,
            base_delay=self._retries.base_delay,
            sleep=self._retries.sleep,
        )


def twilio_result(
    channel: str, status: int, body: bytes, retry_after: str | None
) -> Any:
    """The created message, or the failure Twilio reports."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if 200 <= status < 300:
        return answer
    code = answer.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = answer.get("message")
    detail = f"Twilio {status}" + (f" error {code}" if code else "")
    if isinstance(message, str):
        detail += f": {message[:300]}"
    if status == 429 or code == RATE_LIMITED_CODE:
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise TransientFailure(channel, "platform_error", detail, wait)
    if status >= 500:
        raise TransientFailure(channel, "platform_error", detail)
    reason = PERMANENT_CODES.get(code or 0, "platform_error")
    raise DeliveryFailed(channel, reason, permanent=True, detail=detail)


def numbered(text: str, options: Sequence[ReplyOption]) -> str:
    lines = [f"{number}. {option.title}" for number, option in enumerate(options, 1)]
    return "\n".join([text, "", *lines] if text else lines)


class TwilioOutput(OutputChannel):
    """Sends to ``whatsapp:+…`` and ``sms:+…`` conversations."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def __init__(
        self,
        settings: TwilioSettings,
        api: TwilioApi,
        state: ChannelState,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
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
        channel, sender, recipient = self._addresses(recipient_id)
        if channel == WHATSAPP:
            await self._ensure_window_open(recipient_id)
        text = customer_text(message)
        options = reply_options(message)
        if options:
            text = numbered(text, options)
        image = message.get("image")
        attachment = attachment_of(message)
        if attachment is not None:
            image = _media_url(channel, attachment)
        pieces = split_text(text, MAX_BODY_CHARACTERS)
        if not pieces and not (isinstance(image, str) and image):
            return
        forms = [{"From": sender, "To": recipient, "Body": piece} for piece in pieces]
        if isinstance(image, str) and image:
            if not forms:
                forms.append({"From": sender, "To": recipient})
            forms[-1]["MediaUrl"] = image
        message_id = reply_id(message)
        if message_id is not None:
            for form in forms:
                form["StatusCallback"] = self._settings.public_url + STATUS_PATH
        for form in forms:
            created = await self._api.send(channel, form)
            sid = created.get("sid") if isinstance(created, dict) else None
            if message_id is not None and isinstance(sid, str):
                await self._remember_reply(sid, message_id)
        if options:
            await self._state.remember_options(recipient_id, options, self._clock())

    def _addresses(self, recipient_id: str) -> tuple[str, str, str]:
        channel = channel_of(recipient_id)
        if channel not in (WHATSAPP, SMS):
            raise DeliveryFailed(
                channel,
                "invalid_recipient",
                permanent=True,
                detail="not a WhatsApp or SMS conversation",
            )
        number = platform_user(recipient_id)
        own = (
            self._settings.whatsapp_number
            if channel == WHATSAPP
            else self._settings.sms_number
        )
        if own is None:
            raise DeliveryFailed(
                channel,
                "platform_error",
                permanent=True,
                detail=f"no Twilio number is configured for {channel}",
            )
        if channel == WHATSAPP:
            return channel, WHATSAPP_PREFIX + own, WHATSAPP_PREFIX + number
        return channel, own, number

    async def _remember_reply(self, sid: str, message_id: int) -> None:
        """The reply went out: a state that cannot keep its SID only loses the
        later status, never the delivery."""
        try:
            await self._state.remember_reply(sid, message_id, self._clock())
        except Exception:
            logger.exception("Twilio's SID of reply %s was not kept", message_id)

    async def _ensure_window_open(self, recipient_id: str) -> None:
        last = await self._state.last_inbound(recipient_id)
        now = self._clock()
        if last is None or now - last >= WHATSAPP_WINDOW_SECONDS:
            hours = "never" if last is None else f"{(now - last) / 3600:.0f} h ago"
            raise DeliveryFailed(
                WHATSAPP,
                "window_closed",
                permanent=True,
                detail=(
                    "WhatsApp allows free-form messages only within 24 hours of the"
                    f" customer's last message (last: {hours})"
                ),
            )


def late_failure(channel: str, params: Mapping[str, str]) -> DeliveryFailed:
    """What a status callback's ErrorCode means, as a synchronous error would."""
    raw = params.get("ErrorCode") or ""
    code = int(raw) if raw.isdigit() else None
    reason = LATE_CODES.get(code or 0)
    detail = f"Twilio {params.get('MessageStatus')}" + (
        f" error {code}" if code else ""
    )
    if reason is None:
        # 30003 unreachable, 30007 filtered, and others: sending again may work.
        return DeliveryFailed(channel, "platform_error", permanent=False, detail=detail)
    return DeliveryFailed(channel, reason, permanent=True, detail=detail)


def _media_url(channel: str, attachment: Attachment) -> str:
    """An agent's file as Twilio takes it: a URL it fetches itself."""
    link = public_link(attachment)
    if link is None:
        raise DeliveryFailed(
            channel,
            "platform_error",
            permanent=True,
            detail="the attachment has no public link (TANDEM_PUBLIC_URL) for Twilio",
        )
    return link


# ---------------------------------------------------------------- receiving


@dataclass(frozen=True)
class Inbound:
    message_sid: str
    channel: str
    sender_id: str
    body: str
    media: list[dict[str, Any]]
    korean: bool


class TwilioInput(PlatformInput):
    """``/webhooks/twilio/webhook``: set it as the incoming-message webhook of the
    SMS number and of the WhatsApp sender in Twilio's console."""

    PLATFORM = "Twilio"

    @classmethod
    def name(cls) -> str:
        return NAME

    @classmethod
    def settings_from_environment(
        cls, environment: Mapping[str, str]
    ) -> TwilioSettings:
        return TwilioSettings.from_environment(environment)

    def __init__(
        self,
        settings: TwilioSettings,
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
            TroubleNotices(SEND_AGAIN),
            ledger=ledger,
            rate=rate,
            clock=clock,
            attachments=attachments,
        )
        self._settings = settings
        self.api = TwilioApi(settings, self._session.get, retries or Retries())
        self.reports = (
            DeliveryReports(attachments, self._session.get)
            if attachments is not None
            else None
        )

    def get_output_channel(self) -> TwilioOutput:
        return TwilioOutput(self._settings, self.api, self._state, self._clock)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("tandem_twilio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                params = self._signed_params(request)
                inbound = self._read(dict(params))
            except WebhookRefused as refused:
                return refused.response()
            if inbound is None:
                return _twiml()
            claimed = await claim_delivery(
                self._ledger,
                NAME,
                inbound.message_sid,
                done=_twiml(),
                redelivered=False,
            )
            if claimed is not None:
                return claimed
            try:
                language = "ko" if inbound.korean else "en"
                if not await self._within_rate(inbound.sender_id, language):
                    await finish_delivery(self._ledger, NAME, inbound.message_sid)
                    return _twiml()
                for incoming in await self._messages(inbound):
                    await on_new_message(
                        UserMessage(
                            incoming.text,
                            self.get_output_channel(),
                            incoming.sender_id,
                            input_channel=NAME,
                            metadata=incoming.metadata or None,
                        )
                    )
            except Exception:
                # Twilio may deliver it again; let it be processed then.
                await release_delivery(self._ledger, NAME, inbound.message_sid)
                logger.exception("Twilio message %s failed", inbound.message_sid)
                await self.trouble.tell(
                    self.get_output_channel(),
                    inbound.sender_id,
                    "ko" if inbound.korean else "en",
                    inbound.message_sid,
                )
                return problem(
                    500, "processing_failed", "the message could not be processed"
                )
            await finish_delivery(self._ledger, NAME, inbound.message_sid)
            return _twiml()

        @webhook.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            try:
                params = dict(self._signed_params(request))
            except WebhookRefused as refused:
                return refused.response()
            if params.get("AccountSid") != self._settings.account_sid:
                return problem(403, "forbidden", "the callback is for another account")
            await self._status(params)
            # Always 2xx once signed: Twilio retries anything else.
            return response.empty(204)

        @webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await self.close()

        return webhook

    async def _status(self, params: Mapping[str, str]) -> None:
        """Reports an agent's reply that Twilio failed to deliver."""
        if params.get("MessageStatus") not in FAILED_STATUSES:
            return
        sid = params.get("MessageSid") or ""
        message_id = await self._state.reply_of(sid, self._clock())
        if message_id is None:
            logger.info("Twilio status for a message that is no agent's reply")
            return
        channel = (
            WHATSAPP if (params.get("To") or "").startswith(WHATSAPP_PREFIX) else SMS
        )
        failure = late_failure(channel, params)
        if self.reports is None:
            logger.warning(
                "Reply %s not delivered (no service secret): %s", message_id, failure
            )
            return
        await self.reports.failed(message_id, failure)

    def _signed_params(self, request: Request) -> list[tuple[str, str]]:
        body = check_body_size(request)
        content_type = (request.headers.get("content-type") or "").split(";")[0]
        if content_type.strip().lower() != "application/x-www-form-urlencoded":
            raise WebhookRefused(
                415, "unsupported_media_type", "Twilio posts form-encoded bodies"
            )
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise WebhookRefused(
                401, "unauthorized", f"the {SIGNATURE_HEADER} header is missing"
            )
        try:
            params = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError) as error:
            raise WebhookRefused(
                400, "invalid_request", f"the form cannot be read: {error}"
            ) from error
        url = self._settings.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string
        if not valid_signature(self._settings.auth_token, url, params, signature):
            raise WebhookRefused(403, "forbidden", f"the {SIGNATURE_HEADER} is wrong")
        return params

    def _read(self, params: dict[str, str]) -> Inbound | None:
        """The customer's message in a verified webhook; None for what is not one
        (a status callback, a message to another of the account's numbers)."""
        if params.get("AccountSid") != self._settings.account_sid:
            raise WebhookRefused(403, "forbidden", "the message is for another account")
        if "Body" not in params and "NumMedia" not in params:
            return None
        if params.get("OptOutType"):
            # STOP, START or HELP under Twilio's opt-out handling: Twilio answers
            # them itself, and after STOP it refuses the bot's messages (21610).
            return None
        message_sid = params.get("MessageSid") or ""
        if not _MESSAGE_SID.match(message_sid):
            raise WebhookRefused(400, "invalid_request", "MessageSid is missing")
        sender = params.get("From") or ""
        channel = WHATSAPP if sender.startswith(WHATSAPP_PREFIX) else SMS
        number = sender.removeprefix(WHATSAPP_PREFIX)
        if not _E164.match(number):
            raise WebhookRefused(400, "invalid_request", "From is not a phone number")
        own = (
            self._settings.whatsapp_number
            if channel == WHATSAPP
            else self._settings.sms_number
        )
        expected_to = (WHATSAPP_PREFIX if channel == WHATSAPP else "") + (own or "")
        if own is None or params.get("To") != expected_to:
            logger.info(
                "Ignored a %s message to a number this bot does not serve", channel
            )
            return None
        return Inbound(
            message_sid=message_sid,
            channel=channel,
            sender_id=sender_id(channel, number),
            body=params.get("Body") or "",
            media=_media(params, self._settings.api_url),
            # Twilio tells nothing of the customer's language; the country does.
            korean=number.startswith("+82"),
        )

    async def _messages(self, inbound: Inbound) -> list[Incoming]:
        """What the bot gets of a customer's message: its text (or a label for
        media kept at Twilio), then each photo or PDF the service stored, as
        ``/share_attachment``."""
        now = self._clock()
        if inbound.channel == WHATSAPP:
            await self._state.record_inbound(inbound.sender_id, now)
        options = await self._state.options(
            inbound.sender_id, sent_after=now - OPTIONS_VALID_SECONDS
        )
        # Options answer the very next message, whatever it is.
        if options:
            await self._state.forget_options(inbound.sender_id)
        files = (
            [media for media in inbound.media if media["kind"] in UPLOADABLE_KINDS]
            if self.attachments is not None
            else []
        )
        kept = [media for media in inbound.media if media not in files]
        first = self._incoming(inbound, options, kept)
        messages = [first] if first is not None else []
        return messages + await self._shared_files(
            inbound.sender_id,
            files,
            partial(self._receive_file, inbound),
            partial(self._tell, inbound),
        )

    def _incoming(
        self,
        inbound: Inbound,
        options: list[ReplyOption],
        media: list[dict[str, Any]],
    ) -> Incoming | None:
        metadata = {MEDIA_KEY: media} if media else {}
        chosen = chosen_option(inbound.body, options) if options else None
        if chosen is not None:
            return Incoming(inbound.sender_id, chosen.payload, metadata)
        text = typed_text(inbound.body)
        if not text and media:
            text = media_label(media[0]["kind"], inbound.korean)
        if not text and inbound.media:
            # Only files, each its own message.
            return None
        return Incoming(inbound.sender_id, text, metadata)

    async def _receive_file(
        self, inbound: Inbound, media: dict[str, Any]
    ) -> Attachment:
        assert self.attachments is not None
        content_type = str(media.get("content_type") or "")
        check_declared_type(content_type)
        content = await self._download(str(media["url"]))
        extension = mimetypes.guess_extension(content_type) or ""
        filename = f"{media['kind']}-{inbound.message_sid[-8:]}{extension}"
        return await self.attachments.upload(
            inbound.sender_id, content, filename, content_type
        )

    async def _download(self, url: str) -> bytes:
        """A media file of the account's, with the account's basic auth; the
        redirect to Twilio's storage is followed without it."""
        assert self.attachments is not None
        settings = self._settings
        own = f"{settings.api_url}/2010-04-01/Accounts/{settings.account_sid}/"
        if not url.startswith(own):
            # The auth token goes to Twilio's own media URLs only.
            raise AttachmentRefused(FAILED, "a media URL outside the account")
        session = self._session.get()
        max_bytes = self.attachments.max_bytes
        auth: aiohttp.BasicAuth | None = self.api.auth
        for _ in range(MAX_REDIRECTS + 1):
            status, _, content, location = await download(
                session,
                url,
                max_bytes,
                what="the Twilio media",
                auth=auth,
                allow_redirects=False,
            )
            if status == 200:
                return content
            if status not in REDIRECTS or not location:
                raise AttachmentRefused(FAILED, f"the Twilio media: {status}")
            url, auth = urljoin(url, location), None
            if not url.startswith(("https://", settings.api_url + "/")):
                raise AttachmentRefused(FAILED, "the Twilio media moved off https")
        raise AttachmentRefused(FAILED, "the Twilio media: too many redirects")

    async def _tell(self, inbound: Inbound, reason: str) -> None:
        """Tells the customer their file was not received; a notice that does not
        go out is only logged (``report_failures``)."""
        assert self.attachments is not None
        notice = refusal_notice(reason, inbound.korean, self.attachments.max_bytes)
        await self.get_output_channel().send_response(
            inbound.sender_id, {"text": notice}
        )


def _media(params: Mapping[str, str], api_url: str) -> list[dict[str, Any]]:
    raw_count = params.get("NumMedia") or "0"
    count = min(int(raw_count), MAX_MEDIA) if raw_count.isdigit() else 0
    media: list[dict[str, Any]] = []
    for index in range(count):
        url = params.get(f"MediaUrl{index}")
        if not url or not url.startswith(("https://", api_url + "/")):
            continue
        content_type = params.get(f"MediaContentType{index}") or ""
        media.append(
            {
                "kind": _kind(content_type),
                "platform": NAME,
                "url": url,
                "content_type": content_type,
            }
        )
    if "Latitude" in params and "Longitude" in params:
        media.append(
            {
                "kind": "location",
                "platform": NAME,
                "latitude": params["Latitude"],
                "longitude": params["Longitude"],
            }
        )
    return media


def _kind(content_type: str) -> str:
    major = content_type.split("/")[0].lower()
    return {"image": "photo", "video": "video", "audio": "audio"}.get(major, "file")


def _twiml() -> HTTPResponse:
    """Nothing to say in the webhook's answer: replies go through the API."""
    return response.text(EMPTY_TWIML, content_type="text/xml")
