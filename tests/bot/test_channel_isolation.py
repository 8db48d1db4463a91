"""One platform down does not hold up another: while the Twilio channel waits to
try a dead Twilio again, a Telegram send completes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.channels.channel_state import FileChannelState
from bot.channels.delivery import DeliveryFailed, Retries
from bot.channels.telegram import TelegramInput, TelegramSettings
from bot.channels.twilio import TwilioInput, TwilioSettings
from tests.bot.channel_testing import (
    Gate,
    free_port,
    queue_failures,
    recorded,
    standin,
)
from tests.standins import telegram_api, twilio_api

TOKEN = "1:t"
ACCOUNT_SID = "AC" + "0" * 32


async def test_a_telegram_send_completes_while_twilio_is_being_retried(
    tmp_path: Path,
) -> None:
    events: list[str] = []
    gate = Gate()
    async with (
        standin(telegram_api.create_app(TOKEN)) as telegram_url,
        standin(twilio_api.create_app(ACCOUNT_SID, "secret")) as twilio_url,
    ):
        await queue_failures(twilio_url, [{"status": 503, "body": {}}] * 3)
        state = FileChannelState(tmp_path / "channel_state.db")
        twilio = TwilioInput(
            TwilioSettings(
                account_sid=ACCOUNT_SID,
                auth_token="secret",
                public_url="https://bot.example.com",
                sms_number="+15005550006",
                api_url=twilio_url,
            ),
            state,
            retries=Retries(attempts=3, base_delay=0.5, sleep=gate),
        )
        telegram = TelegramInput(
            TelegramSettings(TOKEN, "s", api_url=telegram_url), state
        )

        async def send_sms() -> None:
            try:
                await twilio.get_output_channel().send_response(
                    "sms:+821012345678", {"text": "hi", "tandem_message_id": 1}
                )
            except DeliveryFailed as failed:
                events.append(f"twilio failed: {failed.reason}")

        async def send_telegram() -> None:
            await telegram.get_output_channel().send_response(
                "telegram:42", {"text": "hi", "tandem_message_id": 2}
            )
            events.append("telegram delivered")

        sms = asyncio.create_task(send_sms())
        await gate.waiting.wait()
        # Twilio has failed once and waits to try again; Telegram goes through.
        await send_telegram()
        assert not sms.done()
        assert len(await recorded(twilio_url)) == 1
        gate.opened.set()
        await sms
        await twilio.close()
        await telegram.close()

        assert events == ["telegram delivered", "twilio failed: platform_error"]
        assert len(await recorded(twilio_url)) == 3
        assert [call["method"] for call in await recorded(telegram_url)] == [
            "sendMessage"
        ]


async def test_a_platform_that_cannot_be_reached_is_a_transient_failure(
    tmp_path: Path,
) -> None:
    telegram = TelegramInput(
        TelegramSettings(TOKEN, "s", api_url=f"http://127.0.0.1:{free_port()}"),
        FileChannelState(tmp_path / "channel_state.db"),
        retries=Retries(attempts=1),
    )

    with pytest.raises(DeliveryFailed) as failed:
        await telegram.get_output_channel().send_response(
            "telegram:42", {"text": "hi", "tandem_message_id": 1}
        )
    await telegram.close()

    assert (failed.value.reason, failed.value.permanent) == ("platform_error", False)
    assert TOKEN not in str(failed.value)
