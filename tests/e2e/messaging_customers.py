"""Customers on Telegram and on WhatsApp or SMS, for the end-to-end tests.

A customer writes by having the platform's stand-in deliver a webhook to Rasa, signed
as the platform signs it, and reads what the bot sent in the stand-in's record.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp

from tests.e2e.stack import Platforms, Stack
from tests.standins.telegram_api import text_update
from tests.standins.twilio_api import inbound_params

POLL_SECONDS = 0.2


class MessagingCustomer:
    """What both kinds of customer share: reading the bot's messages in order."""

    def __init__(self, stack: Stack, platform_url: str) -> None:
        self.stack = stack
        self.platform_url = platform_url
        self.read = 0

    @property
    def platforms(self) -> Platforms:
        assert self.stack.platforms is not None
        return self.stack.platforms

    async def control(self, path: str, body: Any) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.platform_url}{path}", json=body) as answer,
        ):
            assert answer.status == 200, await answer.text()
            return await answer.json()

    async def sent_to_me(self) -> list[str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.platform_url}/_recorded") as answer,
        ):
            calls = (await answer.json())["calls"]
        return [text for call in calls if (text := self.text_to_me(call)) is not None]

    def text_to_me(self, call: dict[str, Any]) -> str | None:
        raise NotImplementedError

    async def reply_containing(self, fragment: str, timeout: float = 20) -> str:
        """The first message sent to this customer since the last one read that
        holds ``fragment``; the ones before it are passed over."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            texts = await self.sent_to_me()
            for index in range(self.read, len(texts)):
                if fragment in texts[index]:
                    self.read = index + 1
                    return texts[index]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"no message with {fragment!r}; got {texts[self.read :]}"
                )
            await asyncio.sleep(POLL_SECONDS)


class TelegramCustomer(MessagingCustomer):
    _update_ids = itertools.count(1000)

    def __init__(self, stack: Stack, chat_id: int, language_code: str = "ko") -> None:
        super().__init__(stack, stack.platforms.telegram_url if stack.platforms else "")
        self.chat_id = chat_id
        self.language_code = language_code

    @property
    def sender_id(self) -> str:
        return f"telegram:{self.chat_id}"

    async def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        """Telegram delivers an update to the webhook; its answer."""
        result: dict[str, Any] = await self.control("/_deliver", {"update": update})
        return result

    async def say(self, text: str) -> None:
        update = text_update(
            next(self._update_ids), self.chat_id, text, language_code=self.language_code
        )
        delivered = await self.deliver(update)
        assert delivered["status"] == 200, delivered

    async def block_bot(self, blocked: bool = True) -> None:
        await self.control("/_blocked", {"chat_id": self.chat_id, "blocked": blocked})

    def text_to_me(self, call: dict[str, Any]) -> str | None:
        payload = call.get("payload") or {}
        if (
            call.get("method") != "sendMessage"
            or payload.get("chat_id") != self.chat_id
        ):
            return None
        return str(payload.get("text"))


class TwilioCustomer(MessagingCustomer):
    """A customer on WhatsApp (``whatsapp=True``) or SMS, at ``number`` (+82…)."""

    def __init__(self, stack: Stack, number: str, *, whatsapp: bool) -> None:
        super().__init__(stack, stack.platforms.twilio_url if stack.platforms else "")
        self.number = number
        self.whatsapp = whatsapp

    @property
    def address(self) -> str:
        return f"whatsapp:{self.number}" if self.whatsapp else self.number

    @property
    def sender_id(self) -> str:
        return f"whatsapp:{self.number}" if self.whatsapp else f"sms:{self.number}"

    async def say(self, text: str, **options: Any) -> None:
        platforms = self.platforms
        own = platforms.whatsapp_number if self.whatsapp else platforms.sms_number
        to = f"whatsapp:{own}" if self.whatsapp else own
        params = inbound_params(
            platforms.twilio_account_sid, self.address, to, text, **options
        )
        delivered = await self.control(
            "/_deliver",
            {"url": f"{self.stack.rasa_url}/webhooks/twilio/webhook", "params": params},
        )
        assert delivered["status"] == 200, delivered

    async def fail_deliveries(self, code: int | None) -> None:
        """Twilio answers this error code to every message to this customer."""
        await self.control("/_recipient_errors", {self.address: code})

    async def report_status(self, body: str, status: str, code: int) -> None:
        """Twilio's status callback for the message to this customer whose Body is
        ``body``, as Twilio posts it later."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.platforms.twilio_url}/_created") as answer,
        ):
            created = await answer.json()
        [sid] = [
            sid
            for sid, form in created.items()
            if form.get("To") == self.address and form.get("Body") == body
        ]
        posted = await self.control(
            "/_status", {"sid": sid, "status": status, "error_code": code}
        )
        assert posted["status"] == 204, posted

    def text_to_me(self, call: dict[str, Any]) -> str | None:
        form = call.get("form") or {}
        if form.get("To") == self.address:
            return str(form.get("Body", ""))
        return None
