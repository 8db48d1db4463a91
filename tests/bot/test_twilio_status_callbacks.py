"""Twilio's status callbacks: an agent's reply Twilio accepted and then could not
deliver is reported to the handoff service; other statuses, unknown SIDs and the
bot's own replies are acknowledged and ignored; a bad signature is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from bot.channels.channel_state import FileChannelState
from bot.channels.twilio import TwilioOutput, TwilioSettings, late_failure
from tests.bot import test_twilio_attachments as with_service
from tests.bot.channel_testing import recorded
from tests.bot.test_twilio_attachments import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP,
    WHATSAPP_NUMBER,
    Setup,
)
from tests.standins.twilio_api import ACCOUNT, post_webhook, status_params

# The channel with a service stand-in, as for customers' files.
twilio = with_service.twilio


async def agents_reply(twilio: Setup, message_id: int = 41) -> tuple[str, str]:
    """(the SID Twilio gave the reply, its StatusCallback)."""
    await twilio.whatsapp("hello", [])
    await twilio.channel.get_output_channel().send_response(
        WHATSAPP,
        {"text": "확인했습니다.", "agent": "Mina", "tandem_message_id": message_id},
    )
    [(sid, form)] = [
        (sid, form)
        for sid, form in twilio.api_app[ACCOUNT].created.items()
        if form.get("Body") == "Mina: 확인했습니다."
    ]
    return sid, form["StatusCallback"]


async def send_status(twilio: Setup, sid: str, status: str, code: int | None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{twilio.api}/_status",
            json={"sid": sid, "status": status, "error_code": code},
        ) as answer,
    ):
        return await answer.json()


async def reports(twilio: Setup) -> list[dict[str, Any]]:
    return [
        call["body"]
        for call in await recorded(twilio.service)
        if call.get("method") == "deliveries"
    ]


async def test_an_undelivered_reply_is_reported_with_its_reason(
    twilio: Setup,
) -> None:
    sid, callback = await agents_reply(twilio)
    assert callback.endswith("/webhooks/twilio/status")

    answer = await send_status(twilio, sid, "undelivered", 63016)

    assert answer["status"] == 204
    assert await reports(twilio) == [
        {
            "tandem_message_id": 41,
            "status": "failed",
            "reason": "window_closed",
            "permanent": True,
            "detail": "Twilio undelivered error 63016",
        }
    ]


async def test_sent_and_delivered_are_acknowledged_and_not_reported(
    twilio: Setup,
) -> None:
    sid, _ = await agents_reply(twilio)

    for status in ("queued", "sent", "delivered", "read"):
        assert (await send_status(twilio, sid, status, None))["status"] == 204

    assert await reports(twilio) == []


async def test_an_unknown_sid_is_acknowledged_and_ignored(twilio: Setup) -> None:
    _, callback = await agents_reply(twilio)
    params = status_params(
        ACCOUNT_SID,
        "SM" + "ab" * 16,
        "failed",
        sender=f"whatsapp:{WHATSAPP_NUMBER}",
        to=WHATSAPP,
        error_code=30004,
    )

    status, _ = await post_webhook(callback, params.items(), AUTH_TOKEN)

    assert status == 204
    assert await reports(twilio) == []


async def test_a_callback_with_a_bad_signature_is_refused(twilio: Setup) -> None:
    sid, callback = await agents_reply(twilio)
    params = status_params(
        ACCOUNT_SID,
        sid,
        "failed",
        sender=f"whatsapp:{WHATSAPP_NUMBER}",
        to=WHATSAPP,
        error_code=30004,
    )

    forged, _ = await post_webhook(
        callback, params.items(), AUTH_TOKEN, signed="bm90IHR3aWxpbw=="
    )
    unsigned, _ = await post_webhook(callback, params.items(), AUTH_TOKEN, signed="")

    assert (forged, unsigned) == (403, 401)
    assert await reports(twilio) == []


async def test_the_bots_own_replies_ask_for_no_status(twilio: Setup) -> None:
    await twilio.whatsapp("hello", [])
    await twilio.channel.get_output_channel().send_response(
        WHATSAPP, {"text": "bot reply"}
    )

    assert "StatusCallback" not in (await twilio.sent())[-1]


def test_twilios_late_error_codes_map_to_the_failure_reasons() -> None:
    def reason(code: str) -> tuple[str, bool]:
        failure = late_failure("sms", {"MessageStatus": "failed", "ErrorCode": code})
        return failure.reason, failure.permanent

    assert reason("63016") == ("window_closed", True)
    assert reason("30004") == ("blocked", True)
    assert reason("21610") == ("blocked", True)
    assert reason("30005") == ("invalid_recipient", True)
    assert reason("30006") == ("invalid_recipient", True)
    assert reason("30003") == ("platform_error", False)
    assert reason("30007") == ("platform_error", False)
    assert reason("") == ("platform_error", False)


class ForgetfulState(FileChannelState):
    """A state that fails to keep SIDs, like an unreachable Redis."""

    async def remember_reply(
        self, platform_id: str, message_id: int, at: float
    ) -> None:
        raise sqlite3.OperationalError("disk I/O error")


async def test_a_sid_that_cannot_be_kept_does_not_fail_the_reply(
    twilio: Setup, tmp_path: Path
) -> None:
    state = ForgetfulState(tmp_path / "forgetful.db")
    await state.record_inbound(WHATSAPP, 1_800_000_000.0)
    settings = TwilioSettings(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        public_url="https://bot.example.com",
        whatsapp_number=WHATSAPP_NUMBER,
        api_url=twilio.api,
    )
    output = TwilioOutput(settings, twilio.channel.api, state, lambda: 1_800_000_060.0)

    await output.send_response(
        WHATSAPP, {"text": "확인했습니다.", "agent": "Mina", "tandem_message_id": 7}
    )

    assert (await twilio.sent())[-1]["StatusCallback"] == (
        "https://bot.example.com/webhooks/twilio/status"
    )
