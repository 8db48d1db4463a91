"""KakaoTalk, through a Kakao i Open Builder skill: a Rasa input channel.

Open Builder posts each customer message of the channel's chatbot to
``POST /webhooks/kakao/webhook`` (the skill's URL) and shows the skill response it
gets within five seconds. A request is believed only when it carries the secret
set in the skill's headers (``X-Tandem-Skill-Secret``, TANDEM_KAKAO_SKILL_SECRET)
and names our bot (``bot.id``, TANDEM_KAKAO_BOT_ID); otherwise it is answered 401
or 403 and nothing reaches the bot. Bodies over 64 KB are refused with 413, bodies
that are not a skill request with 400.

A turn's messages are collected and answered as the skill response. A turn still
running after TANDEM_KAKAO_REPLY_SECONDS (3 s, inside Kakao's five) answers
``useCallback`` when the block has the callback option and posts the full response
to the callback URL when done; without a callback URL it answers what is ready and
sends the rest through the Event API, like everything that starts later (agents'
replies, queue updates, the greeting and rating after an agent closes):
``bot/channels/kakao_events.py``. An agent's reply sent that way is checked in its
task's result TANDEM_KAKAO_TASK_CHECK_SECONDS (10 s) later, and reported to the
handoff service when the customer blocked the channel:
``bot/channels/kakao_task_checks.py``.

Open Builder may send a request again when it thinks it failed. The request has no
id, so the customer and their message name it: while the first is running the
repeat is told to wait; for a few seconds after, it gets the same answer. Sending
the same words twice within those seconds counts as one message. With several Rasa
servers the requests seen are in the Redis they share, so a repeat that reaches
another server is spotted too (bot/channels/kakao_repeats.py); while that Redis
cannot be reached a request is run unchecked, since a customer's message that is
not run is lost.

A photo the customer sends (``userRequest.params.media``) is downloaded from Kakao's
image server — only from the hosts in TANDEM_KAKAO_MEDIA_HOSTS (``kakaocdn.net``),
at most ``TANDEM_ATTACHMENT_MAX_BYTES`` — inside the turn, stored by the handoff
service and given to the bot as ``/share_attachment`` (bot/channels/attachments.py);
one that cannot be received is answered with a notice instead. An agent's photo is
a ``simpleImage`` in a skill response and its link in Event API text.

Conversations are ``kakao:<botUserKey>``. Settings come from the environment;
without any of them the channel serves nothing, so credentials.yml can name it
whether or not a Kakao bot is connected.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from redis.exceptions import RedisError  # type: ignore[import-untyped]
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.attachments import (
    FAILED,
    AttachmentRefused,
    AttachmentService,
    AttachmentSettings,
    download,
    refusal_notice,
    shared,
)
from bot.channels.channel_memory import (
    customer_rate,
    kakao_check_queue,
    kakao_repeats,
)
from bot.channels.delivery import DeliveryFailed
from bot.channels.delivery_reports import DeliveryReports
from bot.channels.kakao_check_queue import CheckQueue
from bot.channels.kakao_events import (
    CHANNEL,
    KakaoCallback,
    KakaoEventApi,
    KakaoPushOutput,
    TurnMessages,
    push_bubbles,
)
from bot.channels.kakao_repeats import Earlier, KakaoRepeats, LocalRepeats
from bot.channels.kakao_skill import (
    Bubble,
    SkillRequest,
    bubbles_of,
    notice,
    parse_skill_request,
    skill_response,
    use_callback_response,
)
from bot.channels.kakao_task_checks import DEFAULT_FIRST_DELAY, KakaoTaskChecks
from bot.channels.limits import WebhookRefused, check_body_size, json_object
from bot.channels.sender_ids import sender_id
from bot.language_detection import KOREAN
from bot.message_attachments import Attachment
from bot.message_rate import CustomerRate, MessageRate, slow_down_notice

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Tandem-Skill-Secret"
REQUIRED_SETTINGS = (
    "TANDEM_KAKAO_BOT_ID",
    "TANDEM_KAKAO_REST_API_KEY",
    "TANDEM_KAKAO_SKILL_SECRET",
)
DEFAULT_EVENT_API_URL = "https://bot-api.kakao.com"
DEFAULT_EVENT_NAME = "tandem_message"
DEFAULT_REPLY_SECONDS = 3.0
# Where Kakao keeps the photos customers send.
DEFAULT_MEDIA_HOSTS = ("kakaocdn.net",)
# Kakao waits five seconds for a skill response; the answer must leave before.
MAX_REPLY_SECONDS = 4.5

Handler = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class KakaoSettings:
    bot_id: str
    rest_api_key: str
    skill_secret: str
    event_api_url: str = DEFAULT_EVENT_API_URL
    event_name: str = DEFAULT_EVENT_NAME
    reply_seconds: float = DEFAULT_REPLY_SECONDS
    media_hosts: tuple[str, ...] = DEFAULT_MEDIA_HOSTS
    task_check_seconds: float = DEFAULT_FIRST_DELAY

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> KakaoSettings | None:
        """The settings, or None when no Kakao bot is configured. Some of the
        required settings without the others is an error: the channel would be
        half open."""
        values = {name: environ.get(name, "").strip() for name in REQUIRED_SETTINGS}
        missing = [name for name, value in values.items() if not value]
        if len(missing) == len(REQUIRED_SETTINGS):
            return None
        if missing:
            raise RasaException(
                f"The KakaoTalk channel needs {', '.join(missing)} as well (or none"
                " of its settings, to leave it off)."
            )
        event_api_url = (
            environ.get("TANDEM_KAKAO_EVENT_API_URL") or DEFAULT_EVENT_API_URL
        )
        if urlsplit(event_api_url).scheme not in ("https", "http"):
            raise RasaException("TANDEM_KAKAO_EVENT_API_URL must be an http(s) URL.")
        try:
            reply_seconds = float(
                environ.get("TANDEM_KAKAO_REPLY_SECONDS") or DEFAULT_REPLY_SECONDS
            )
        except ValueError:
            raise RasaException(
                "TANDEM_KAKAO_REPLY_SECONDS must be a number."
            ) from None
        if not 0 < reply_seconds <= MAX_REPLY_SECONDS:
            raise RasaException(
                f"TANDEM_KAKAO_REPLY_SECONDS must be above 0 and at most "
                f"{MAX_REPLY_SECONDS}: Kakao waits five seconds for an answer."
            )
        hosts = tuple(
            host.strip().lower()
            for host in (environ.get("TANDEM_KAKAO_MEDIA_HOSTS") or "").split(",")
            if host.strip()
        )
        return cls(
            bot_id=values["TANDEM_KAKAO_BOT_ID"],
            rest_api_key=values["TANDEM_KAKAO_REST_API_KEY"],
            skill_secret=values["TANDEM_KAKAO_SKILL_SECRET"],
            event_api_url=event_api_url,
            event_name=environ.get("TANDEM_KAKAO_EVENT_NAME") or DEFAULT_EVENT_NAME,
            reply_seconds=reply_seconds,
            media_hosts=hosts or DEFAULT_MEDIA_HOSTS,
            task_check_seconds=_task_check_seconds(environ),
        )


def _task_check_seconds(environ: Mapping[str, str]) -> float:
    raw = (environ.get("TANDEM_KAKAO_TASK_CHECK_SECONDS") or "").strip()
    if not raw:
        return DEFAULT_FIRST_DELAY
    try:
        seconds = float(raw)
    except ValueError:
        raise RasaException(
            "TANDEM_KAKAO_TASK_CHECK_SECONDS must be a number."
        ) from None
    if not 0 <= seconds < math.inf:
        raise RasaException(
            "TANDEM_KAKAO_TASK_CHECK_SECONDS must be 0 (no checks) or more."
        )
    return seconds


def is_media_host(url: str, hosts: tuple[str, ...]) -> bool:
    """True when ``url`` is on one of ``hosts`` or their subdomains: the channel
    downloads customers' photos from Kakao's image servers only."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


class KakaoInput(InputChannel):
    """The KakaoTalk channel: skill requests in, skill responses, callbacks and
    Event API messages out."""

    def __init__(
        self,
        settings: KakaoSettings | None,
        attachments: AttachmentSettings | None = None,
        rate: CustomerRate | None = None,
        repeats: KakaoRepeats | None = None,
        check_queue: CheckQueue | None = None,
    ) -> None:
        self.settings = settings
        self.rate = rate or MessageRate.from_environment(os.environ)
        self.repeats = repeats or LocalRepeats()
        self.attachments = (
            AttachmentService(attachments, self._session)
            if attachments is not None
            else None
        )
        self._http: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.events: KakaoEventApi | None = None
        self.task_checks: KakaoTaskChecks | None = None
        self.callback = KakaoCallback(self._session)
        if settings is not None:
            self.events = KakaoEventApi(
                self._session,
                base_url=settings.event_api_url,
                bot_id=settings.bot_id,
                rest_api_key=settings.rest_api_key,
                event_name=settings.event_name,
            )
            self.task_checks = KakaoTaskChecks(
                self.events,
                DeliveryReports(attachments, self._session)
                if attachments is not None
                else None,
                check_queue,
                first_delay=settings.task_check_seconds,
            )

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> KakaoInput:
        # Settings are read from the environment, where secrets belong; the
        # credentials file only names the channel.
        return cls(
            KakaoSettings.from_environment(os.environ),
            AttachmentSettings.from_environment(os.environ),
            customer_rate(os.environ),
            kakao_repeats(os.environ),
            kakao_check_queue(os.environ),
        )

    def get_output_channel(self) -> OutputChannel | None:
        if self.events is None:
            return None
        return KakaoPushOutput(self.events, self.task_checks)

    def _session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the server's running loop.
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        webhook = Blueprint("kakao_webhook", __name__)
        if self.settings is None:
            logger.info(
                "KakaoTalk channel off: set %s to connect a Kakao bot",
                ", ".join(REQUIRED_SETTINGS),
            )
            return webhook
        settings = self.settings

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                skill = self._believe(request, settings)
            except WebhookRefused as refused:
                logger.info("Refused a Kakao skill request: %s", refused.message)
                return refused.response()
            return response.json(await self._answer(skill, on_new_message))

        @webhook.listener("after_server_start")
        async def start_checks(*_: Any) -> None:
            # Checks an earlier run left are taken up without waiting for a reply.
            if self.task_checks is not None:
                self.task_checks.start()

        @webhook.listener("after_server_stop")
        async def close_http(*_: Any) -> None:
            await self.close()

        return webhook

    async def close(self) -> None:
        """Cancels the replies' pending checks and closes the HTTP client of the
        Event API and callbacks."""
        if self.task_checks is not None:
            await self.task_checks.close()
        if self._http is not None:
            await self._http.close()

    def _believe(self, request: Request, settings: KakaoSettings) -> SkillRequest:
        """The skill request, once it has shown it comes from our Open Builder bot."""
        body = check_body_size(request)
        secret = request.headers.get(SECRET_HEADER, "")
        if not secret:
            raise WebhookRefused(
                401, "unauthorized", f"The {SECRET_HEADER} header is missing."
            )
        if not hmac.compare_digest(secret.encode(), settings.skill_secret.encode()):
            raise WebhookRefused(
                401, "unauthorized", f"The {SECRET_HEADER} header is wrong."
            )
        skill = parse_skill_request(
            json_object(body), event_api_url=settings.event_api_url
        )
        if not hmac.compare_digest(skill.bot_id.encode(), settings.bot_id.encode()):
            raise WebhookRefused(403, "wrong_bot", "bot.id is not this skill's bot.")
        return skill

    async def _answer(
        self, skill: SkillRequest, on_new_message: Handler
    ) -> dict[str, Any]:
        """The skill response to send now; what comes later is left running."""
        earlier = await self._earlier(skill)
        if earlier is not None:
            logger.info("Open Builder sent a Kakao request again")
            return earlier.answer or self._notice_response("duplicate", skill)
        verdict = await self.rate.check(sender_id(CHANNEL, skill.user_id))
        if not verdict.allowed:
            # Open Builder needs an answer to every request: the notice, each time.
            logger.info("Kakao message over the customer's rate, not handled")
            text = slow_down_notice(skill.language, verdict.wait_seconds)
            refused = skill_response([], empty_text=text)[0]
            await self._settled(skill, refused)
            return refused
        turn = TurnMessages()
        running = asyncio.create_task(self._run_turn(skill, turn, on_new_message))
        await asyncio.wait({running}, timeout=self._reply_seconds)
        if running.done():
            answer, overflow = self._respond(skill, turn.messages, running.result())
            await self._settled(skill, answer)
            self._later(self._push(skill, overflow))
            return answer
        if skill.callback_url is not None:
            self._later(self._finish_by_callback(skill, turn, running))
            return use_callback_response(notice("working", skill.language))
        ready = len(turn.messages)
        answer, overflow = skill_response(
            bubbles_of(turn.messages[:ready]),
            empty_text=notice("working", skill.language),
        )
        await self._settled(skill, answer)
        self._later(self._finish_by_events(skill, turn, running, ready, overflow))
        return answer

    async def _earlier(self, skill: SkillRequest) -> Earlier | None:
        """How the request was answered before; None when it is to run now."""
        try:
            return await self.repeats.claim(skill.key)
        except (RedisError, OSError) as error:
            logger.warning(
                "Kakao request run unchecked for repeats, Redis is unreachable: %s",
                error,
            )
            return None

    async def _settled(self, skill: SkillRequest, answer: dict[str, Any]) -> None:
        """From now on, the request sent again gets ``answer``."""
        try:
            await self.repeats.settle(skill.key, answer)
        except (RedisError, OSError) as error:
            logger.warning("A Kakao answer not kept for repeats: %s", error)

    @staticmethod
    def _notice_response(kind: str, skill: SkillRequest) -> dict[str, Any]:
        return skill_response([], empty_text=notice(kind, skill.language))[0]

    @property
    def _reply_seconds(self) -> float:
        assert self.settings is not None
        return self.settings.reply_seconds

    async def _run_turn(
        self, skill: SkillRequest, turn: TurnMessages, on_new_message: Handler
    ) -> bool:
        """Runs the bot on the message; False when it failed."""
        sender = sender_id(CHANNEL, skill.user_id)
        text, metadata = skill.text, None
        if skill.image_url is not None and self.attachments is not None:
            try:
                attachment = await self._receive_image(sender, skill.image_url)
            except AttachmentRefused as refused:
                logger.warning("A Kakao photo was not received: %s", refused.detail)
                notice_text = refusal_notice(
                    refused.reason, skill.language == KOREAN, self.attachments.max_bytes
                )
                turn.messages.append({"text": notice_text})
                return True
            share = shared(attachment)
            text, metadata = share.text, share.metadata
        message = UserMessage(
            text=text,
            output_channel=turn,
            sender_id=sender,
            input_channel=self.name(),
            metadata=metadata,
        )
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("The bot failed on a Kakao message")
            return False
        return True

    async def _receive_image(self, sender: str, url: str) -> Attachment:
        assert self.attachments is not None and self.settings is not None
        if not is_media_host(url, self.settings.media_hosts):
            raise AttachmentRefused(FAILED, "a photo on a host that is not Kakao's")
        status, media_type, content, _ = await download(
            self._session(),
            url,
            self.attachments.max_bytes,
            what="the Kakao photo",
            allow_redirects=False,
        )
        if status != 200:
            raise AttachmentRefused(FAILED, f"the Kakao photo: {status}")
        name = PurePosixPath(urlsplit(url).path).name or "photo"
        return await self.attachments.upload(sender, content, name, media_type)

    def _respond(
        self, skill: SkillRequest, messages: list[dict[str, Any]], succeeded: bool
    ) -> tuple[dict[str, Any], list[Bubble]]:
        """The whole turn as a skill response, and what did not fit in it."""
        bubbles = bubbles_of(messages)
        if not succeeded:
            bubbles += bubbles_of([{"text": notice("failed", skill.language)}])
        return skill_response(bubbles, empty_text=notice("received", skill.language))

    async def _finish_by_callback(
        self, skill: SkillRequest, turn: TurnMessages, running: asyncio.Task[bool]
    ) -> None:
        assert skill.callback_url is not None
        answer, overflow = self._respond(skill, turn.messages, await running)
        await self._settled(skill, answer)
        try:
            await self.callback.post(skill.callback_url, answer)
        except DeliveryFailed as failure:
            logger.warning(
                "The Kakao callback failed, using the Event API: %s", failure
            )
            overflow = bubbles_of(turn.messages)
        await self._push(skill, overflow)

    async def _finish_by_events(
        self,
        skill: SkillRequest,
        turn: TurnMessages,
        running: asyncio.Task[bool],
        ready: int,
        overflow: list[Bubble],
    ) -> None:
        succeeded = await running
        rest = bubbles_of(turn.messages[ready:])
        if not succeeded:
            rest += bubbles_of([{"text": notice("failed", skill.language)}])
        await self._push(skill, [*overflow, *rest])

    async def _push(self, skill: SkillRequest, bubbles: list[Bubble]) -> None:
        if bubbles and self.events is not None:
            await push_bubbles(self.events, skill.user_id, bubbles)

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs ``work`` after the answer has gone, keeping a reference so it is
        not collected half done."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
