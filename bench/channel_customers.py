"""A customer on each channel, writing as the platform delivers and timing each turn.

- web chat: Rasa's socket.io protocol as the chat page speaks it, with a session id
  the handoff service issued; from ``user_uttered`` emitted to each ``bot_uttered``.
- Telegram: the update posted to the webhook with the secret token, as Telegram
  delivers; the stand-in stamps each ``sendMessage`` it receives.
- Twilio SMS and WhatsApp: the incoming-message webhook signed with
  ``X-Twilio-Signature``; the stand-in stamps each ``Messages.create``.
- KakaoTalk: the skill request as Open Builder posts it, with a callback URL (the
  block's callback option, which the README recommends); the skill response's
  arrival, and the callback's when the bot answered ``useCallback``.

A customer waits ``think_seconds`` after the last message of a turn before the next,
on every channel alike; on the web chat, whose turns have no end of their own, that
silence is how the turn is known to be over.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import socketio

from bench.channel_stack import ChannelStack
from bench.channel_turns import Turn
from tests.standins.kakao_api import OpenBuilder, skill_response_problems
from tests.standins.telegram_api import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from tests.standins.telegram_api import text_update
from tests.standins.twilio_api import SIGNATURE_HEADER, inbound_params, signature

WEB_CHAT = "web chat"
TELEGRAM = "Telegram"
SMS = "Twilio SMS"
WHATSAPP = "Twilio WhatsApp"
KAKAO = "KakaoTalk"
CHANNELS = (WEB_CHAT, TELEGRAM, SMS, WHATSAPP, KAKAO)
# Each channel's input channel, as Rasa names it in its log.
RASA_CHANNEL = {
    WEB_CHAT: "socketio",
    TELEGRAM: "telegram",
    SMS: "twilio",
    WHATSAPP: "twilio",
    KAKAO: "kakao",
}
REPLY_SECONDS = 60.0
CALLBACK_POLL_SECONDS = 0.2

_numbers = itertools.count(1)


class CouldNotConnect(Exception):
    """The customer could not open the conversation: its turns count as failed."""


def now() -> float:
    return time.monotonic()


class Customer(Protocol):
    channel: str

    async def start(self) -> None: ...

    async def say(self, text: str) -> Turn: ...

    async def close(self) -> None: ...


class WebChatCustomer:
    channel = WEB_CHAT

    def __init__(
        self, target: ChannelStack, http: aiohttp.ClientSession, think_seconds: float
    ) -> None:
        self.target = target
        self.http = http
        self.think_seconds = think_seconds
        self.session_id = ""
        self.arrivals: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self.late = 0
        """Messages that came after a turn was taken to be over."""
        # A loaded machine can take longer than the client's defaults (5 s for the
        # handshake, 1 s for the namespace) to let a customer in.
        self.client = socketio.AsyncClient(
            reconnection=False, request_timeout=REPLY_SECONDS
        )
        self.client.on("bot_uttered", self._on_bot_uttered)

    async def _on_bot_uttered(self, data: dict[str, Any]) -> None:
        await self.arrivals.put((now(), str(data.get("text") or "")))

    async def start(self) -> None:
        stack = self.target.stack
        async with self.http.post(f"{stack.handoff_url}/api/chat/sessions") as issued:
            if issued.status != 201:
                raise CouldNotConnect(f"no chat session: {await issued.text()}")
            self.session_id = (await issued.json())["session_id"]
        confirmed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", confirmed.set_result)
        try:
            await self.client.connect(
                stack.rasa_url,
                socketio_path="/socket.io",
                transports=["websocket"],
                wait_timeout=REPLY_SECONDS,
            )
            await self.client.emit("session_request", {"session_id": self.session_id})
            await asyncio.wait_for(confirmed, REPLY_SECONDS)
        except (socketio.exceptions.SocketIOError, TimeoutError) as error:
            raise CouldNotConnect(f"socket.io: {error!r}") from error

    async def say(self, text: str) -> Turn:
        while not self.arrivals.empty():
            self.arrivals.get_nowait()
            self.late += 1
        turn = Turn(self.channel, self.session_id, text, now())
        await self.client.emit(
            "user_uttered", {"message": text, "session_id": self.session_id}
        )
        try:
            at, reply = await asyncio.wait_for(self.arrivals.get(), REPLY_SECONDS)
        except TimeoutError:
            turn.failure = f"no bot_uttered in {REPLY_SECONDS:.0f} s"
            return turn
        turn.out_at.append(at)
        turn.reply = reply
        while True:
            try:
                at, _ = await asyncio.wait_for(self.arrivals.get(), self.think_seconds)
            except TimeoutError:
                break
            turn.out_at.append(at)
        turn.answered_at = turn.out_at[-1]
        return turn

    async def close(self) -> None:
        await self.client.disconnect()


class TelegramCustomer:
    channel = TELEGRAM

    def __init__(
        self,
        target: ChannelStack,
        http: aiohttp.ClientSession,
        think_seconds: float,
        language: str,
    ) -> None:
        self.target = target
        self.http = http
        self.think_seconds = think_seconds
        self.language = language
        self.chat_id = 7_000_000_000 + next(_numbers)
        self.update_ids = itertools.count(next(_numbers) * 1000)

    async def start(self) -> None:
        return None

    async def say(self, text: str) -> Turn:
        platforms = self.target.platforms
        update = text_update(
            next(self.update_ids), self.chat_id, text, language_code=self.language
        )
        body = json.dumps(update)
        headers = {
            "Content-Type": "application/json",
            TELEGRAM_SECRET_HEADER: platforms.telegram_secret,
        }
        url = f"{self.target.stack.rasa_url}/webhooks/telegram/webhook"
        turn = Turn(self.channel, f"telegram:{self.chat_id}", text, now())
        async with self.http.post(url, data=body, headers=headers) as answer:
            status, answered = answer.status, await answer.text()
        turn.answered_at = now()
        if status != 200 or json.loads(answered).get("status") != "processed":
            turn.failure = f"the webhook answered {status}: {answered[:200]}"
        await asyncio.sleep(self.think_seconds)
        return turn

    async def close(self) -> None:
        return None


class TwilioCustomer:
    def __init__(
        self,
        target: ChannelStack,
        http: aiohttp.ClientSession,
        think_seconds: float,
        *,
        whatsapp: bool,
    ) -> None:
        self.target = target
        self.http = http
        self.think_seconds = think_seconds
        self.whatsapp = whatsapp
        self.channel = WHATSAPP if whatsapp else SMS
        number = f"+8210{next(_numbers):08d}"
        self.address = f"whatsapp:{number}" if whatsapp else number

    async def start(self) -> None:
        return None

    async def say(self, text: str) -> Turn:
        platforms = self.target.platforms
        own = platforms.whatsapp_number if self.whatsapp else platforms.sms_number
        params = inbound_params(
            platforms.twilio_account_sid,
            self.address,
            f"whatsapp:{own}" if self.whatsapp else own,
            text,
        )
        pairs = list(params.items())
        url = f"{self.target.stack.rasa_url}/webhooks/twilio/webhook"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature(platforms.twilio_auth_token, url, pairs),
        }
        body = urlencode(pairs)
        turn = Turn(self.channel, self.address, text, now())
        async with self.http.post(url, data=body, headers=headers) as answer:
            status, answered = answer.status, await answer.text()
        turn.answered_at = now()
        if status != 200:
            turn.failure = f"the webhook answered {status}: {answered[:200]}"
        await asyncio.sleep(self.think_seconds)
        return turn

    async def close(self) -> None:
        return None


class KakaoCustomer:
    channel = KAKAO

    def __init__(
        self, target: ChannelStack, http: aiohttp.ClientSession, think_seconds: float
    ) -> None:
        self.target = target
        self.http = http
        self.think_seconds = think_seconds
        self.user_id = f"bench{next(_numbers):08d}"
        kakao = target.kakao
        self.builder = OpenBuilder(
            f"{target.stack.rasa_url}/webhooks/kakao/webhook",
            secret=kakao.skill_secret,
            bot_id=kakao.bot_id,
            standin_url=kakao.url,
        )

    async def start(self) -> None:
        return None

    async def say(self, text: str) -> Turn:
        callback_url = await self.builder.new_callback_url(self.http)
        payload = self.builder.payload(text, self.user_id, callback_url=callback_url)
        turn = Turn(self.channel, self.user_id, text, now())
        status, answer = await self.builder.post(self.http, payload)
        turn.answered_at = now()
        problems = skill_response_problems(answer)
        if status != 200 or problems:
            turn.failure = f"the skill answered {status}: {problems or answer}"
            return turn
        turn.out_at.append(turn.answered_at)
        if answer.get("useCallback") is True:
            turn.used_callback = True
            callback = await self._callback(callback_url.rsplit("/", 1)[-1])
            if callback is None:
                turn.failure = f"no callback in {REPLY_SECONDS:.0f} s"
                return turn
            turn.out_at.append(float(callback["received_at"]))
            answer = callback["response"]
        outputs = answer.get("template", {}).get("outputs", [])
        turn.reply = str(outputs[0].get("simpleText", {}).get("text", ""))
        await asyncio.sleep(self.think_seconds)
        return turn

    async def _callback(self, token: str) -> dict[str, Any] | None:
        """The callback the bot posted to the one-time URL ``token``, once it is
        there."""
        deadline = now() + REPLY_SECONDS
        while now() < deadline:
            async with self.http.get(f"{self.target.kakao.url}/_recorded") as answer:
                recorded = await answer.json()
            for callback in recorded["callbacks"]:
                if callback["token"] == token:
                    return dict(callback)
            await asyncio.sleep(CALLBACK_POLL_SECONDS)
        return None

    async def close(self) -> None:
        return None


def new_customer(
    channel: str,
    target: ChannelStack,
    http: aiohttp.ClientSession,
    think_seconds: float,
    language: str,
) -> Customer:
    if channel == WEB_CHAT:
        return WebChatCustomer(target, http, think_seconds)
    if channel == TELEGRAM:
        return TelegramCustomer(target, http, think_seconds, language)
    if channel in (SMS, WHATSAPP):
        return TwilioCustomer(target, http, think_seconds, whatsapp=channel == WHATSAPP)
    if channel == KAKAO:
        return KakaoCustomer(target, http, think_seconds)
    raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
