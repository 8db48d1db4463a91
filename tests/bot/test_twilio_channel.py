"""The Twilio channel (SMS and WhatsApp) against a stand-in of Twilio's API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.channel_state import FileChannelState
from bot.channels.delivery import DeliveryFailed
from bot.channels.trouble_notices import SEND_AGAIN
from bot.channels.twilio import (
    TwilioInput,
    TwilioSettings,
    signature_urls,
    twilio_signature,
    valid_signature,
)
from bot.message_rate import MessageRate
from tests.bot.channel_testing import (
    Agent,
    NoWait,
    channel_server,
    free_port,
    no_wait_retries,
    post_raw,
    queue_failures,
    recorded,
    standin,
)
from tests.standins import twilio_api
from tests.standins.twilio_api import inbound_params, post_webhook

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-auth-token"
SMS_NUMBER = "+15005550006"
WHATSAPP_NUMBER = "+14155238886"
CUSTOMER = "+821012345678"
WHATSAPP_SENDER = f"whatsapp:{CUSTOMER}"
SMS_SENDER = f"sms:{CUSTOMER}"
DAY = 24 * 3600.0
OFFLINE_BUTTONS = [
    {"title": "전화 받기", "payload": "/choose_callback"},
    {"title": "문의 남기기", "payload": "/choose_ticket"},
    {"title": "괜찮아요", "payload": "/cancel_offline_contact"},
]

# Twilio's own example (twilio-python's request validator tests, the docs' page on
# webhook security): this URL, these parameters and auth token 12345.
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
EXAMPLE_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXAMPLE_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
DOCS_PARAMS = {**EXAMPLE_PARAMS, "From": "+12349013030", "Caller": "+12349013030"}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Twilio:
    webhook: str
    api: str
    agent: Agent
    channel: TwilioInput
    settings: TwilioSettings
    clock: Clock
    sleep: NoWait
    state_file: Path

    async def message(self, sender: str, body: str, **options: Any) -> tuple[int, str]:
        """An incoming message, posted and signed as Twilio does."""
        to = (
            f"whatsapp:{WHATSAPP_NUMBER}"
            if sender.startswith("whatsapp:")
            else SMS_NUMBER
        )
        params = inbound_params(ACCOUNT_SID, sender, to, body, **options)
        return await post_webhook(self.webhook, params.items(), AUTH_TOKEN)

    async def sent(self) -> list[dict[str, str]]:
        return [call["form"] for call in await recorded(self.api)]

    def output(self) -> Any:
        return self.channel.get_output_channel()


@pytest.fixture
async def twilio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Twilio]:
    async with standin(twilio_api.create_app(ACCOUNT_SID, AUTH_TOKEN)) as api:
        clock, sleep = Clock(), NoWait()
        state_file = tmp_path / "channel_state.db"
        port = free_port()
        # Twilio signs the URL set in its console: here, the server's own.
        settings = TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_url=f"http://127.0.0.1:{port}",
            sms_number=SMS_NUMBER,
            whatsapp_number=WHATSAPP_NUMBER,
            api_url=api,
        )
        agent = Agent(replies=[{"text": "안녕하세요! 무엇을 도와드릴까요?"}])
        channel = TwilioInput(
            settings,
            FileChannelState(state_file),
            retries=no_wait_retries(sleep),
            clock=clock,
        )
        async with channel_server(channel, agent, monkeypatch, port) as url:
            yield Twilio(
                f"{url}/webhooks/twilio/webhook",
                api,
                agent,
                channel,
                settings,
                clock,
                sleep,
                state_file,
            )


# ---------------------------------------------------------------- signatures


def test_the_signature_is_twilios_on_its_documented_examples() -> None:
    assert twilio_signature("12345", EXAMPLE_URL, list(EXAMPLE_PARAMS.items())) == (
        EXAMPLE_SIGNATURE
    )
    assert twilio_signature("12345", EXAMPLE_URL, list(DOCS_PARAMS.items())) == (
        DOCS_SIGNATURE
    )
    # The stand-in signs as Twilio does.
    assert twilio_api.signature("12345", EXAMPLE_URL, EXAMPLE_PARAMS.items()) == (
        EXAMPLE_SIGNATURE
    )


def test_the_signature_agrees_with_twilios_own_validator() -> None:
    validator = RequestValidator(AUTH_TOKEN)
    params = inbound_params(
        ACCOUNT_SID, WHATSAPP_SENDER, "whatsapp:+1", "안녕하세요 😀"
    )
    url = "https://bot.example.com/webhooks/twilio/webhook?x=1"

    ours = twilio_signature(AUTH_TOKEN, url, list(params.items()))

    assert ours == validator.compute_signature(url, params)
    assert validator.validate(url, params, ours)


def test_a_signature_is_accepted_with_or_without_the_default_port() -> None:
    params = list(EXAMPLE_PARAMS.items())
    with_port = twilio_signature(
        "12345", EXAMPLE_URL.replace(".com", ".com:443"), params
    )

    assert valid_signature("12345", EXAMPLE_URL, params, with_port)
    assert valid_signature("12345", EXAMPLE_URL, params, EXAMPLE_SIGNATURE)
    assert not valid_signature("12345", EXAMPLE_URL, params[1:], EXAMPLE_SIGNATURE)
    assert not valid_signature("54321", EXAMPLE_URL, params, EXAMPLE_SIGNATURE)
    assert signature_urls("http://h:8080/p") == ["http://h:8080/p"]


# ---------------------------------------------------------------- the webhook


async def test_an_sms_reaches_the_bot_and_the_reply_goes_back_by_sms(
    twilio: Twilio,
) -> None:
    status, body = await twilio.message(CUSTOMER, "이번 달 요금 얼마예요?")

    assert status == 200
    assert "<Response></Response>" in body
    assert twilio.agent.texts() == [(SMS_SENDER, "이번 달 요금 얼마예요?")]
    assert twilio.agent.heard[0].input_channel == "twilio"
    assert await twilio.sent() == [
        {"From": SMS_NUMBER, "To": CUSTOMER, "Body": "안녕하세요! 무엇을 도와드릴까요?"}
    ]


async def test_a_whatsapp_message_is_answered_on_whatsapp(twilio: Twilio) -> None:
    await twilio.message(WHATSAPP_SENDER, "hello")

    assert twilio.agent.texts() == [(WHATSAPP_SENDER, "hello")]
    assert await twilio.sent() == [
        {
            "From": f"whatsapp:{WHATSAPP_NUMBER}",
            "To": WHATSAPP_SENDER,
            "Body": "안녕하세요! 무엇을 도와드릴까요?",
        }
    ]


@pytest.mark.parametrize(
    ("signature", "status"),
    [("", 401), ("bm90IHRoZSBzaWduYXR1cmU=", 403), (EXAMPLE_SIGNATURE, 403)],
    ids=["missing", "wrong", "another-request"],
)
async def test_a_webhook_without_twilios_signature_is_refused_and_not_processed(
    twilio: Twilio, signature: str, status: int
) -> None:
    params = inbound_params(ACCOUNT_SID, CUSTOMER, SMS_NUMBER, "hello")

    answer = await post_webhook(
        twilio.webhook, params.items(), AUTH_TOKEN, signed=signature
    )

    assert answer[0] == status
    assert twilio.agent.heard == []
    assert await twilio.sent() == []


async def test_a_signature_over_other_parameters_or_url_is_refused(
    twilio: Twilio,
) -> None:
    params = inbound_params(ACCOUNT_SID, CUSTOMER, SMS_NUMBER, "hello")
    tampered = {**params, "Body": "상담원 연결"}
    signed_for_other_url = twilio_api.signature(
        AUTH_TOKEN, twilio.webhook + "?other=1", params.items()
    )
    original = twilio_api.signature(AUTH_TOKEN, twilio.webhook, params.items())

    changed_body = await post_webhook(
        twilio.webhook, tampered.items(), AUTH_TOKEN, signed=original
    )
    other_url = await post_webhook(
        twilio.webhook, params.items(), AUTH_TOKEN, signed=signed_for_other_url
    )

    assert (changed_body[0], other_url[0]) == (403, 403)
    assert twilio.agent.heard == []


async def test_a_redelivered_message_is_acknowledged_and_processed_once(
    twilio: Twilio,
) -> None:
    sid = "SM" + "ab" * 16
    first = await twilio.message(CUSTOMER, "hello", message_sid=sid)
    again = await twilio.message(CUSTOMER, "hello", message_sid=sid)

    assert first[0] == again[0] == 200
    assert twilio.agent.texts() == [(SMS_SENDER, "hello")]
    assert len(await twilio.sent()) == 1


async def test_a_status_callback_is_acknowledged_and_ignored(twilio: Twilio) -> None:
    params = {
        "MessageSid": "SM" + "cd" * 16,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "AccountSid": ACCOUNT_SID,
        "From": SMS_NUMBER,
        "To": CUSTOMER,
        "ApiVersion": "2010-04-01",
    }

    status, _ = await post_webhook(twilio.webhook, params.items(), AUTH_TOKEN)

    assert status == 200
    assert twilio.agent.heard == []


async def test_an_opt_out_keyword_is_left_to_twilio(twilio: Twilio) -> None:
    params = {
        **inbound_params(ACCOUNT_SID, CUSTOMER, SMS_NUMBER, "STOP"),
        "OptOutType": "STOP",
    }

    status, _ = await post_webhook(twilio.webhook, params.items(), AUTH_TOKEN)

    assert status == 200
    assert twilio.agent.heard == []
    assert await twilio.sent() == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"MessageSid": ""}, 400),
        ({"MessageSid": "not-a-sid"}, 400),
        ({"From": "someone"}, 400),
        ({"AccountSid": "AC" + "1" * 32}, 403),
    ],
    ids=["no-sid", "bad-sid", "bad-from", "other-account"],
)
async def test_a_signed_but_malformed_message_is_refused(
    twilio: Twilio, change: dict[str, str], status: int
) -> None:
    params = {**inbound_params(ACCOUNT_SID, CUSTOMER, SMS_NUMBER, "hello"), **change}

    answer = await post_webhook(twilio.webhook, params.items(), AUTH_TOKEN)

    assert answer[0] == status
    assert twilio.agent.heard == []


async def test_a_message_to_a_number_this_bot_does_not_serve_is_ignored(
    twilio: Twilio,
) -> None:
    params = inbound_params(ACCOUNT_SID, CUSTOMER, "+15550000000", "hello")

    assert (await post_webhook(twilio.webhook, params.items(), AUTH_TOKEN))[0] == 200
    assert twilio.agent.heard == []


async def test_a_body_that_is_not_a_form_is_a_415(twilio: Twilio) -> None:
    status, text = await post_raw(
        twilio.webhook,
        b'{"Body": "hi"}',
        {"Content-Type": "application/json", "X-Twilio-Signature": "x"},
    )

    assert status == 415
    assert json.loads(text)["error"] == "unsupported_media_type"


async def test_an_oversized_body_is_a_413(twilio: Twilio) -> None:
    params = inbound_params(ACCOUNT_SID, CUSTOMER, SMS_NUMBER, "x" * 70_000)
    body = urlencode(list(params.items())).encode()

    status, text = await post_raw(
        twilio.webhook,
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_api.signature(
                AUTH_TOKEN, twilio.webhook, params.items()
            ),
        },
    )

    assert status == 413
    assert json.loads(text)["error"] == "too_large"
    assert twilio.agent.heard == []


async def test_a_whatsapp_photo_without_text_reaches_the_agent_with_its_url(
    twilio: Twilio,
) -> None:
    photo = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1"

    status, _ = await twilio.message(WHATSAPP_SENDER, "", media=[(photo, "image/jpeg")])

    assert status == 200
    message = twilio.agent.heard[0]
    assert message.text == "[사진]"
    assert message.metadata == {
        "media": [
            {
                "kind": "photo",
                "platform": "twilio",
                "url": photo,
                "content_type": "image/jpeg",
            }
        ]
    }


async def test_typed_text_is_never_read_as_an_intent(twilio: Twilio) -> None:
    await twilio.message(CUSTOMER, "/request_human")

    assert twilio.agent.texts() == [(SMS_SENDER, "request_human")]


# ---------------------------------------------------------------- numbered options


async def test_buttons_become_numbered_options_answered_with_a_digit(
    twilio: Twilio,
) -> None:
    twilio.agent.replies = [{"text": "어떻게 해 드릴까요?", "buttons": OFFLINE_BUTTONS}]
    await twilio.message(WHATSAPP_SENDER, "상담원 연결")
    twilio.agent.replies = []

    assert (await twilio.sent())[0]["Body"] == (
        "어떻게 해 드릴까요?\n\n1. 전화 받기\n2. 문의 남기기\n3. 괜찮아요"
    )

    await twilio.message(WHATSAPP_SENDER, "２")
    # The options answered the message right after them, and no other.
    await twilio.message(WHATSAPP_SENDER, "1")

    assert [text for _, text in twilio.agent.texts()] == [
        "상담원 연결",
        "/choose_ticket",
        "1",
    ]


async def test_an_option_may_be_answered_with_its_title(twilio: Twilio) -> None:
    twilio.agent.replies = [{"text": "How can I help?", "buttons": OFFLINE_BUTTONS}]
    await twilio.message(CUSTOMER, "agent please")
    twilio.agent.replies = []

    await twilio.message(CUSTOMER, " 괜찮아요 ")

    assert twilio.agent.texts()[-1] == (SMS_SENDER, "/cancel_offline_contact")


async def test_a_number_without_options_is_only_a_number(twilio: Twilio) -> None:
    await twilio.message(CUSTOMER, "4")

    assert twilio.agent.texts() == [(SMS_SENDER, "4")]


# ---------------------------------------------------------------- the WhatsApp window


async def test_an_agents_reply_within_24_hours_is_sent_with_the_agents_name(
    twilio: Twilio,
) -> None:
    await twilio.message(WHATSAPP_SENDER, "hello")
    twilio.clock.now += DAY - 60

    await twilio.output().send_response(
        WHATSAPP_SENDER,
        {"text": "확인했습니다.", "agent": "Mina Kim", "tandem_message_id": 1},
    )

    assert (await twilio.sent())[-1]["Body"] == "Mina Kim: 확인했습니다."


async def test_an_agents_reply_after_24_hours_is_refused_without_calling_twilio(
    twilio: Twilio,
) -> None:
    await twilio.message(WHATSAPP_SENDER, "hello")
    twilio.clock.now += DAY

    with pytest.raises(DeliveryFailed) as failed:
        await twilio.output().send_response(
            WHATSAPP_SENDER,
            {"text": "늦어서 죄송합니다.", "agent": "Mina Kim", "tandem_message_id": 2},
        )

    assert (failed.value.channel, failed.value.reason, failed.value.permanent) == (
        "whatsapp",
        "window_closed",
        True,
    )
    assert str(failed.value).startswith(
        "tandem-delivery-failed:whatsapp:window_closed:permanent:"
    )
    assert len(await twilio.sent()) == 1


async def test_a_customer_who_never_wrote_on_whatsapp_is_outside_the_window(
    twilio: Twilio,
) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await twilio.output().send_response(
            "whatsapp:+821099998888", {"text": "hi", "tandem_message_id": 3}
        )

    assert failed.value.reason == "window_closed"
    assert await twilio.sent() == []


async def test_sms_has_no_window(twilio: Twilio) -> None:
    await twilio.output().send_response(
        SMS_SENDER, {"text": "hi", "tandem_message_id": 4}
    )

    assert len(await twilio.sent()) == 1


async def test_the_window_survives_a_restart(twilio: Twilio) -> None:
    await twilio.message(WHATSAPP_SENDER, "hello")
    twilio.clock.now += 3600
    restarted = TwilioInput(
        twilio.settings,
        FileChannelState(twilio.state_file),
        retries=no_wait_retries(),
        clock=twilio.clock,
    )

    await restarted.get_output_channel().send_response(
        WHATSAPP_SENDER, {"text": "still open", "tandem_message_id": 5}
    )
    await restarted.close()

    assert (await twilio.sent())[-1]["Body"] == "still open"


# ---------------------------------------------------------------- Twilio's errors


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (21610, "blocked"),
        (63016, "window_closed"),
        (21211, "invalid_recipient"),
        (30001, "platform_error"),
    ],
)
async def test_twilios_errors_are_permanent_failures_with_their_reason(
    twilio: Twilio, code: int, reason: str
) -> None:
    await post_json(f"{twilio.api}/_recipient_errors", {CUSTOMER: code})

    with pytest.raises(DeliveryFailed) as failed:
        await twilio.output().send_response(
            SMS_SENDER, {"text": "hi", "tandem_message_id": 6}
        )

    assert (failed.value.channel, failed.value.reason, failed.value.permanent) == (
        "sms",
        reason,
        True,
    )
    assert str(code) in failed.value.detail
    assert len(await twilio.sent()) == 1


async def test_429_and_server_errors_are_retried_then_sent(twilio: Twilio) -> None:
    await queue_failures(
        twilio.api,
        [
            {
                "status": 429,
                "body": {"code": 20429, "message": "Too Many Requests", "status": 429},
                "headers": {"Retry-After": "1"},
            },
            {
                "status": 503,
                "body": {"code": 20500, "message": "Internal Server Error"},
            },
        ],
    )

    await twilio.output().send_response(
        SMS_SENDER, {"text": "hi", "tandem_message_id": 7}
    )

    assert len(await twilio.sent()) == 3
    assert twilio.sleep.delays[0] == 1.0


async def test_a_twilio_that_keeps_failing_is_a_transient_failure(
    twilio: Twilio,
) -> None:
    await queue_failures(twilio.api, [{"status": 500, "body": {}}] * 3)

    with pytest.raises(DeliveryFailed) as failed:
        await twilio.output().send_response(
            SMS_SENDER, {"text": "hi", "tandem_notice": True}
        )

    assert (failed.value.reason, failed.value.permanent) == ("platform_error", False)


async def test_a_long_reply_is_sent_in_pieces_twilio_accepts(twilio: Twilio) -> None:
    text = "\n".join(
        (f"{number}. " + "요금 안내입니다. " * 30).strip() for number in range(10)
    )

    await twilio.output().send_response(
        SMS_SENDER, {"text": text, "tandem_message_id": 8}
    )

    bodies = [form["Body"] for form in await twilio.sent()]
    assert len(bodies) > 1
    assert all(len(body) <= 1600 for body in bodies)
    assert "\n".join(bodies) == text


def test_settings_refuse_a_channel_without_what_it_needs() -> None:
    from bot.channels.configuration import MissingChannelSetting

    complete = {
        "TANDEM_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TANDEM_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TANDEM_TWILIO_WHATSAPP_NUMBER": f"whatsapp:{WHATSAPP_NUMBER}",
        "TANDEM_PUBLIC_URL": "https://bot.example.com/",
    }
    settings = TwilioSettings.from_environment(complete)
    assert settings.whatsapp_number == WHATSAPP_NUMBER
    assert settings.sms_number is None
    assert settings.public_url == "https://bot.example.com"
    for missing in complete:
        with pytest.raises(MissingChannelSetting, match=missing):
            TwilioSettings.from_environment(
                {key: value for key, value in complete.items() if key != missing}
            )


async def post_json(url: str, body: Any) -> None:
    status, _ = await post_raw(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200


async def test_messages_over_the_customers_rate_are_acknowledged_unheard_and_told_once(
    twilio: Twilio,
) -> None:
    twilio.channel.rate = MessageRate(per_minute=6, burst=2, clock=lambda: 50.0)
    twilio.agent.replies = []

    statuses = [
        (await twilio.message(CUSTOMER, f"m{number}"))[0] for number in range(4)
    ]

    assert statuses == [200, 200, 200, 200]
    assert [text for _, text in twilio.agent.texts()] == ["m0", "m1"]
    assert [form["Body"] for form in await twilio.sent()] == [
        "메시지가 너무 빠르게 들어오고 있어요. 10초 뒤에 다시 보내 주세요."
    ]


async def test_a_message_the_bot_could_not_handle_is_answered_with_send_it_again(
    twilio: Twilio,
) -> None:
    twilio.agent.fail_next = 3
    sid = "SM" + "cd" * 16

    failed = await twilio.message(CUSTOMER, "이번 달 요금", message_sid=sid)
    failed_again = await twilio.message(CUSTOMER, "이번 달 요금", message_sid=sid)
    english = await twilio.message(
        "+15005550006", "my bill", message_sid="SM" + "ef" * 16
    )

    assert failed[0] == failed_again[0] == english[0] == 500
    # Twilio does not send a message again by itself: the customer is asked to,
    # once per message, in their language.
    assert [(form["To"], form["Body"]) for form in await twilio.sent()] == [
        (CUSTOMER, SEND_AGAIN["ko"]),
        ("+15005550006", SEND_AGAIN["en"]),
    ]
