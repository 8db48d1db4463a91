"""Messages to Kakao customers outside a skill response: the Event API and callbacks.

A skill response only answers the customer's own message. Everything that starts
later — an agent's reply, a queue update, the greeting and the rating question
after an agent closes, the end of a turn that outran the skill response — goes
through Kakao's Event API::

    POST {TANDEM_KAKAO_EVENT_API_URL}/v2/bots/{bot id}/talk
    Authorization: KakaoAK {TANDEM_KAKAO_REST_API_KEY}
    {"event": {"name": "<event>", "data": {"text": "..."}},
     "user": [{"type": "botUserKey", "id": "<the customer's botUserKey>"}]}

which runs the event block named ``<event>`` for that customer; the block shows
the ``text`` parameter. Kakao answers ``{"taskId": ..., "status": "SUCCESS", ...}``
once it has taken the task; per-customer results (a customer who blocked the
channel) are only in the task's later result::

    GET {TANDEM_KAKAO_EVENT_API_URL}/v1/tasks/{taskId}
    Authorization: KakaoAK {TANDEM_KAKAO_REST_API_KEY}

which ``KakaoEventApi.task_result`` asks for. For an agent's reply the channel
asks ``TANDEM_KAKAO_TASK_CHECK_SECONDS`` after sending, in the background, and
reports a failed task to the handoff service (bot/channels/kakao_task_checks.py).

A turn that finishes through the block's callback posts its whole skill response to
the request's one-time ``callbackUrl`` instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from rasa.core.channels.channel import OutputChannel

from bot.channels.delivery import DeliveryFailed, reply_id, send_with_retry
from bot.channels.kakao_skill import MAX_TEXT_CHARS, Bubble, message_bubbles, split_text
from bot.channels.sender_ids import platform_user_on
from bot.message_attachments import attachment_of, is_absolute

if TYPE_CHECKING:
    from bot.channels.kakao_task_checks import KakaoTaskChecks

logger = logging.getLogger(__name__)

CHANNEL = "kakao"
USER_KEY_TYPE = "botUserKey"
# Rasa waits for an agent's reply to go out before it answers the service, which
# gives it 10 seconds: three tries of 2.5 s with 0.5 s and 1 s between them fit.
REQUEST_SECONDS = 2.5
ATTEMPTS = 3
MAX_ANSWER_BYTES = 64 * 1024
DETAIL_CHARS = 200

SessionSource = Callable[[], aiohttp.ClientSession]


class KakaoEventApi:
    """Sends texts to customers through the Event API, retrying transient errors."""

    def __init__(
        self,
        session: SessionSource,
        *,
        base_url: str,
        bot_id: str,
        rest_api_key: str,
        event_name: str,
        base_delay: float = 0.5,
        request_seconds: float = REQUEST_SECONDS,
    ) -> None:
        self._session = session
        self._request_seconds = request_seconds
        self._url = f"{base_url.rstrip('/')}/v2/bots/{bot_id}/talk"
        self._tasks_url = f"{base_url.rstrip('/')}/v1/tasks/"
        self._authorization = f"KakaoAK {rest_api_key}"
        self._event_name = event_name
        self._base_delay = base_delay

    async def send_text(self, user_id: str, text: str) -> list[str]:
        """Sends ``text`` to ``user_id`` (a botUserKey), in pieces of at most 1000
        characters, one event each; returns Kakao's task ids."""
        tasks = []
        for piece in split_text(text, MAX_TEXT_CHARS):
            body = {
                "event": {"name": self._event_name, "data": {"text": piece}},
                "user": [{"type": USER_KEY_TYPE, "id": user_id}],
            }
            tasks.append(
                await send_with_retry(
                    partial(self._post, body),
                    attempts=ATTEMPTS,
                    base_delay=self._base_delay,
                )
            )
        return tasks

    async def task_result(self, task_id: str) -> PlatformAnswer:
        """Kakao's answer about task ``task_id``, once, without retrying:
        ``GET /v1/tasks/{taskId}``. Raises a transient ``DeliveryFailed`` when
        Kakao cannot be reached."""
        return await _request_json(
            self._session(),
            "GET",
            self._tasks_url + quote(task_id, safe=""),
            self._request_seconds,
            headers={"Authorization": self._authorization},
        )

    async def _post(self, body: dict[str, Any]) -> str:
        answer = await _request_json(
            self._session(),
            "POST",
            self._url,
            self._request_seconds,
            body=body,
            headers={"Authorization": self._authorization},
        )
        answer.raise_for_status()
        task_id = answer.body.get("taskId")
        if answer.body.get("status") != "SUCCESS" or not isinstance(task_id, str):
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=True,
                detail=f"Event API did not take the event: {answer.detail}",
            )
        logger.debug("Kakao took event task %s", task_id)
        return task_id


class KakaoCallback:
    """Posts a finished turn's skill response to the request's callback URL."""

    def __init__(
        self,
        session: SessionSource,
        *,
        base_delay: float = 0.5,
        request_seconds: float = REQUEST_SECONDS,
    ) -> None:
        self._session = session
        self._base_delay = base_delay
        self._request_seconds = request_seconds

    async def post(self, url: str, skill_response: dict[str, Any]) -> None:
        # The URL is valid once: a second try only helps when the first did not
        # reach Kakao, and Kakao refuses it otherwise.
        await send_with_retry(
            lambda: self._post(url, skill_response),
            attempts=2,
            base_delay=self._base_delay,
        )

    async def _post(self, url: str, skill_response: dict[str, Any]) -> None:
        answer = await _request_json(
            self._session(), "POST", url, self._request_seconds, body=skill_response
        )
        answer.raise_for_status()
        if answer.body.get("status") not in (None, "SUCCESS"):
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=True,
                detail=f"the callback was refused: {answer.detail}",
            )


@dataclass(frozen=True)
class PlatformAnswer:
    status: int
    body: dict[str, Any]
    """The JSON object answered; empty when the answer was not one."""
    retry_after: str

    @property
    def detail(self) -> str:
        shown = {
            k: self.body[k] for k in ("status", "message", "code") if k in self.body
        }
        return str(shown)[:DETAIL_CHARS]

    def raise_for_status(self) -> None:
        """Raises ``DeliveryFailed`` for an error status: transient for 429 and
        5xx, permanent for the other 4xx (a bad key, a refused request)."""
        if self.status < 300:
            return
        detail = f"Kakao answered {self.status}: {self.detail}"
        if self.status == 429:
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=False,
                detail=detail,
                retry_after=float(self.retry_after)
                if self.retry_after.isdigit()
                else None,
            )
        raise DeliveryFailed(
            CHANNEL, "platform_error", permanent=self.status < 500, detail=detail
        )


async def _request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    seconds: float,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> PlatformAnswer:
    """Sends the request (with ``body`` as JSON, if any) and reads the answer.
    Connection errors and timeouts are transient ``DeliveryFailed``."""
    try:
        async with session.request(
            method,
            url,
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            raw = await response.content.read(MAX_ANSWER_BYTES)
            status = response.status
            retry_after = response.headers.get("Retry-After", "")
    except asyncio.TimeoutError:
        raise DeliveryFailed(
            CHANNEL, "timeout", permanent=False, detail="Kakao did not answer in time"
        ) from None
    except aiohttp.ClientError as error:
        raise DeliveryFailed(
            CHANNEL,
            "platform_error",
            permanent=False,
            detail=f"Kakao could not be reached: {type(error).__name__}",
        ) from None
    try:
        parsed = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        parsed = {}
    body_answered = parsed if isinstance(parsed, dict) else {}
    return PlatformAnswer(status, body_answered, retry_after)


class KakaoPushOutput(OutputChannel):
    """Rasa's output channel for messages that start outside a customer's turn:
    the handoff service's pushes (``output_channel=latest``), sent through the
    Event API. An agent's reply carries ``agent`` (the agent's name) in its
    metadata; Kakao cannot show another sender, so the name goes before the text.
    An agent's file goes as its link, the Event API carrying text only.
    A message that does not go out raises ``DeliveryFailed``; an agent's reply
    that did (it carries ``tandem_message_id``) has its tasks' results checked
    later by ``checks``."""

    def __init__(
        self, events: KakaoEventApi, checks: KakaoTaskChecks | None = None
    ) -> None:
        self.events = events
        self.checks = checks

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        user_id = platform_user_on(recipient_id, CHANNEL)
        if user_id is None:
            raise DeliveryFailed(
                CHANNEL,
                "invalid_recipient",
                permanent=True,
                detail="the conversation is not a KakaoTalk one",
            )
        sent_file = attachment_of(message)
        if sent_file is not None and not is_absolute(sent_file.url):
            raise DeliveryFailed(
                CHANNEL,
                "platform_error",
                permanent=True,
                detail="the attachment has no public link (TANDEM_PUBLIC_URL) to send",
            )
        agent = message.get("agent")
        prefix = f"{agent}: " if isinstance(agent, str) and agent else ""
        task_ids = []
        for bubble in message_bubbles(message, prefix):
            task_ids += await self.events.send_text(user_id, bubble.as_event_text())
        message_id = reply_id(message)
        if message_id is not None and self.checks is not None:
            await self.checks.schedule(message_id, user_id, task_ids)

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


class TurnMessages(OutputChannel):
    """Collects the bot's messages of one customer turn for its skill response."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        self.messages.append({"text": text, **kwargs})


async def push_bubbles(
    events: KakaoEventApi, user_id: str, bubbles: list[Bubble]
) -> None:
    """Sends what a skill response could not hold, in order; a failure is logged,
    since nobody waits for these."""
    for bubble in bubbles:
        try:
            await events.send_text(user_id, bubble.as_event_text())
        except DeliveryFailed as failure:
            logger.warning("A Kakao message did not go out: %s", failure)
