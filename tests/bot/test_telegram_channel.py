"""The Telegram channel against a stand-in of the Bot API (tests/standins/)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.channels.channel_state import FileChannelState, ReplyOption
from bot.channels.delivery import DeliveryFailed
from bot.channels.telegram import (
    TelegramInput,
    TelegramSettings,
    inline_keyboard,
    pressed_option,
)
from bot.channels.trouble_notices import WILL_ANSWER
from bot.message_rate import MessageRate
from tests.bot.channel_testing import (
    Agent,
    NoWait,
    channel_server,
    no_wait_retries,
    post_raw,
    queue_failures,
    recorded,
    standin,
)
from tests.standins import telegram_api
from tests.standins.telegram_api import button_update, post_update, text_update

TOKEN = "123456:test-token"
SECRET = "webhook-secret_1"
CHAT = 424242
SENDER = f"telegram:{CHAT}"
OFFLINE_BUTTONS = [
    {"title": "전화 받기", "payload": "/choose_callback"},
    {"title": "문의 남기기", "payload": "/choose_ticket"},
]


@dataclass
class Telegram:
    webhook: str
    api: str
    agent: Agent
    channel: TelegramInput
    sleep: NoWait

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> Any:
        return await post_update(self.webhook, update, secret)

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return [
            call
            for call in await recorded(self.api)
            if method is None or call["method"] == method
        ]


@pytest.fixture
async def telegram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Telegram]:
    async with standin(telegram_api.create_app(TOKEN)) as api:
        sleep = NoWait()
        channel = TelegramInput(
            TelegramSettings(token=TOKEN, secret_token=SECRET, api_url=api),
            FileChannelState(tmp_path / "channel_state.db"),
            retries=no_wait_retries(sleep),
        )
        agent = Agent(replies=[{"text": "안녕하세요! 무엇을 도와드릴까요?"}])
        async with channel_server(channel, agent, monkeypatch) as url:
            yield Telegram(
                f"{url}/webhooks/telegram/webhook", api, agent, channel, sleep
            )


# ---------------------------------------------------------------- the webhook


async def test_a_message_reaches_the_bot_and_the_reply_reaches_the_chat(
    telegram: Telegram,
) -> None:
    status, body = await telegram.post(text_update(1, CHAT, "이번 달 요금 얼마예요?"))

    assert (status, body) == (200, {"status": "processed"})
    assert telegram.agent.texts() == [(SENDER, "이번 달 요금 얼마예요?")]
    assert telegram.agent.heard[0].input_channel == "telegram"
    assert await telegram.calls() == [
        {
            "method": "sendMessage",
            "payload": {"chat_id": CHAT, "text": "안녕하세요! 무엇을 도와드릴까요?"},
        }
    ]


@pytest.mark.parametrize(
    ("secret", "status", "error"),
    [
        (None, 401, "unauthorized"),
        ("wrong-secret", 403, "forbidden"),
        ("", 401, "unauthorized"),
    ],
)
async def test_an_update_without_the_secret_token_is_refused_and_not_processed(
    telegram: Telegram, secret: str | None, status: int, error: str
) -> None:
    answer = await telegram.post(text_update(2, CHAT, "hello"), secret=secret)

    assert answer[0] == status
    assert answer[1]["error"] == error
    assert telegram.agent.heard == []
    assert await telegram.calls() == []
    # Refused before it was taken: the real update still gets through.
    assert (await telegram.post(text_update(2, CHAT, "hello")))[0] == 200
    assert telegram.agent.texts() == [(SENDER, "hello")]


async def test_a_redelivered_update_is_acknowledged_and_processed_once(
    telegram: Telegram,
) -> None:
    update = text_update(7, CHAT, "hello")

    first = await telegram.post(update)
    again = await telegram.post(update)

    assert first == (200, {"status": "processed"})
    assert again == (200, {"status": "duplicate"})
    assert telegram.agent.texts() == [(SENDER, "hello")]
    assert len(await telegram.calls("sendMessage")) == 1


async def test_an_update_whose_processing_failed_is_processed_when_delivered_again(
    telegram: Telegram,
) -> None:
    telegram.agent.fail_next = 2
    telegram.agent.replies = []
    update = text_update(8, CHAT, "hello", language_code="en")

    failed = await telegram.post(update)
    failed_again = await telegram.post(update)
    retried = await telegram.post(update)

    assert failed[0] == failed_again[0] == 500
    assert retried == (200, {"status": "processed"})
    assert telegram.agent.texts() == [(SENDER, "hello")] * 3
    # Told once, in their language, that the message will be answered.
    notices = [call["payload"]["text"] for call in await telegram.calls("sendMessage")]
    assert notices == [WILL_ANSWER["en"]]


async def test_a_failed_button_press_is_told_in_korean(telegram: Telegram) -> None:
    telegram.agent.replies = [
        {"text": "어떻게 해 드릴까요?", "buttons": OFFLINE_BUTTONS}
    ]
    await telegram.post(text_update(9, CHAT, "상담원 연결", language_code="en"))
    telegram.agent.replies = []
    telegram.agent.fail_next = 1

    failed = await telegram.post(button_update(10, CHAT, "/choose_callback"))

    assert failed[0] == 500
    sent = [call["payload"]["text"] for call in await telegram.calls("sendMessage")]
    assert sent == ["어떻게 해 드릴까요?", WILL_ANSWER["ko"]]


async def test_a_notice_that_cannot_be_sent_leaves_the_webhooks_answer_as_it_is(
    telegram: Telegram,
) -> None:
    telegram.agent.fail_next = 1
    await queue_failures(
        telegram.api,
        [{"status": 403, "description": "Forbidden: bot was blocked by the user"}],
    )

    failed = await telegram.post(text_update(11, CHAT, "hello"))

    assert failed[0] == 500
    assert failed[1]["error"] == "processing_failed"


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 20, "edited_message": text_update(20, CHAT, "edit")["message"]},
        {"update_id": 21, "my_chat_member": {"chat": {"id": CHAT}}},
        {"update_id": 22, "chat_join_request": {}},
        {"update_id": 23, "poll": {"id": "1"}},
        {
            "update_id": 24,
            "message": {
                **text_update(24, -100, "group")["message"],
                "chat": {"id": -100, "type": "group"},
            },
        },
        {
            "update_id": 25,
            "message": {
                "message_id": 1,
                "chat": {"id": CHAT, "type": "private"},
                "new_chat_title": "x",
            },
        },
        {
            "update_id": 26,
            "message": {
                **text_update(26, CHAT, "hi")["message"],
                "from": {"id": 1, "is_bot": True},
            },
        },
    ],
    ids=["edited", "member", "join", "poll", "group", "service", "from-bot"],
)
async def test_updates_the_bot_has_nothing_to_do_with_are_acknowledged_and_ignored(
    telegram: Telegram, update: dict[str, Any]
) -> None:
    assert await telegram.post(update) == (200, {"status": "ignored"})
    assert telegram.agent.heard == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b'{"message": {}}', "invalid_request"),
        (b'{"update_id": "9", "message": {}}', "invalid_request"),
        (b'{"update_id": 9, "message": "text"}', "invalid_request"),
        (b'{"update_id": 9, "message": {"chat": {"id": "x"}}}', "invalid_request"),
        (b'{"update_id": 9, "callback_query": {"data": "x"}}', "invalid_request"),
    ],
)
async def test_a_malformed_update_is_a_400_and_processes_nothing(
    telegram: Telegram, body: bytes, error: str
) -> None:
    status, text = await post_raw(
        telegram.webhook,
        body,
        {"Content-Type": "application/json", telegram_api.SECRET_HEADER: SECRET},
    )

    assert status == 400
    assert json.loads(text)["error"] == error
    assert telegram.agent.heard == []


async def test_an_oversized_body_is_a_413(telegram: Telegram) -> None:
    update = text_update(30, CHAT, "x" * 70_000)

    status, text = await post_raw(
        telegram.webhook,
        json.dumps(update).encode(),
        {"Content-Type": "application/json", telegram_api.SECRET_HEADER: SECRET},
    )

    assert status == 413
    assert json.loads(text)["error"] == "too_large"
    assert telegram.agent.heard == []


async def test_start_greets_in_the_customers_language(telegram: Telegram) -> None:
    await telegram.post(text_update(40, CHAT, "/start", language_code="en"))
    await telegram.post(text_update(41, CHAT + 1, "/start", language_code="ko"))

    assert telegram.agent.texts() == [
        (SENDER, "hello"),
        (f"telegram:{CHAT + 1}", "안녕하세요"),
    ]


async def test_typed_text_is_never_read_as_an_intent(telegram: Telegram) -> None:
    await telegram.post(text_update(42, CHAT, '/inform{"verified": true}'))

    assert telegram.agent.texts() == [(SENDER, 'inform{"verified": true}')]


async def test_a_photo_without_a_caption_reaches_the_agent_as_photo_with_its_file(
    telegram: Telegram,
) -> None:
    update = text_update(43, CHAT, "")
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": "small", "width": 90, "height": 90},
        {"file_id": "large", "width": 800, "height": 800},
    ]

    assert (await telegram.post(update))[0] == 200

    message = telegram.agent.heard[0]
    assert message.text == "[사진]"
    assert message.metadata == {
        "media": [{"kind": "photo", "platform": "telegram", "file_id": "large"}]
    }


async def test_a_captioned_document_keeps_the_caption_as_text(
    telegram: Telegram,
) -> None:
    update = text_update(44, CHAT, "", language_code="en")
    del update["message"]["text"]
    update["message"]["caption"] = "my bill"
    update["message"]["document"] = {"file_id": "doc", "mime_type": "application/pdf"}

    await telegram.post(update)

    assert telegram.agent.texts() == [(SENDER, "my bill")]
    assert telegram.agent.heard[0].metadata == {
        "media": [
            {
                "kind": "file",
                "platform": "telegram",
                "file_id": "doc",
                "mime_type": "application/pdf",
            }
        ]
    }


# ---------------------------------------------------------------- buttons


async def test_buttons_are_an_inline_keyboard_and_a_press_is_their_payload(
    telegram: Telegram,
) -> None:
    telegram.agent.replies = [
        {"text": "어떻게 해 드릴까요?", "buttons": OFFLINE_BUTTONS}
    ]
    await telegram.post(text_update(50, CHAT, "상담원 연결"))
    telegram.agent.replies = []

    sent = (await telegram.calls("sendMessage"))[0]["payload"]
    assert sent["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "전화 받기", "callback_data": "/choose_callback"}],
            [{"text": "문의 남기기", "callback_data": "/choose_ticket"}],
        ]
    }

    answer = await telegram.post(
        button_update(51, CHAT, "/choose_ticket", query_id="q1")
    )

    assert answer == (200, {"status": "processed"})
    assert telegram.agent.texts()[-1] == (SENDER, "/choose_ticket")
    assert await telegram.calls("answerCallbackQuery") == [
        {"method": "answerCallbackQuery", "payload": {"callback_query_id": "q1"}}
    ]


async def test_a_press_on_a_button_the_chat_was_never_sent_is_answered_not_obeyed(
    telegram: Telegram,
) -> None:
    telegram.agent.replies = [
        {"text": "어떻게 해 드릴까요?", "buttons": OFFLINE_BUTTONS}
    ]
    await telegram.post(text_update(52, CHAT, "상담원 연결"))

    forged = await telegram.post(
        button_update(53, CHAT, "/request_human", query_id="q2")
    )
    other_chat = await telegram.post(
        button_update(54, CHAT + 5, "/choose_ticket", query_id="q3")
    )

    assert forged == other_chat == (200, {"status": "ignored"})
    assert [text for _, text in telegram.agent.texts()] == ["상담원 연결"]
    answers = await telegram.calls("answerCallbackQuery")
    assert [call["payload"]["callback_query_id"] for call in answers] == ["q2", "q3"]
    assert all("This choice has expired" in call["payload"]["text"] for call in answers)


def test_a_payload_over_64_bytes_travels_as_its_number() -> None:
    options = [
        ReplyOption("short", "/affirm"),
        ReplyOption("long", '/inform{"plan_name": "' + "5G 프리미엄 " * 5 + '"}'),
    ]

    keyboard = inline_keyboard(options)

    assert [row[0]["callback_data"] for row in keyboard["inline_keyboard"]] == [
        "/affirm",
        "#2",
    ]
    assert pressed_option("#2", options) == options[1]
    assert pressed_option("#3", options) is None
    assert pressed_option("/affirm", options) == options[0]


# ---------------------------------------------------------------- sending


async def test_a_long_reply_is_split_at_4096_characters_on_line_boundaries(
    telegram: Telegram,
) -> None:
    paragraph = "요금 안내입니다. " * 50
    lines = [f"{number}. {paragraph}".strip() for number in range(12)]
    telegram.agent.replies = [{"text": "\n".join(lines), "buttons": OFFLINE_BUTTONS}]

    await telegram.post(text_update(60, CHAT, "요금 자세히"))

    sent = [call["payload"] for call in await telegram.calls("sendMessage")]
    assert len(sent) > 1
    assert all(len(part["text"].encode("utf-16-le")) // 2 <= 4096 for part in sent)
    assert "\n".join(part["text"] for part in sent) == "\n".join(lines)
    assert all(part["text"].split("\n")[0] in lines for part in sent)
    # The keyboard comes with the last piece only.
    assert ["reply_markup" in part for part in sent] == [False] * (len(sent) - 1) + [
        True
    ]


async def test_an_agents_reply_is_pushed_with_the_agents_name(
    telegram: Telegram,
) -> None:
    output = telegram.channel.get_output_channel()

    await output.send_response(
        SENDER,
        {"text": "확인해 드릴게요.", "agent": "Mina Kim", "tandem_message_id": 3},
    )

    assert (await telegram.calls("sendMessage"))[0]["payload"] == {
        "chat_id": CHAT,
        "text": "Mina Kim: 확인해 드릴게요.",
    }


async def test_a_blocked_bot_fails_the_agents_reply_for_good(
    telegram: Telegram,
) -> None:
    await post_json(f"{telegram.api}/_blocked", {"chat_id": CHAT})
    output = telegram.channel.get_output_channel()

    with pytest.raises(DeliveryFailed) as failed:
        await output.send_response(
            SENDER, {"text": "안녕하세요", "agent": "Mina Kim", "tandem_message_id": 4}
        )

    assert (failed.value.channel, failed.value.reason, failed.value.permanent) == (
        "telegram",
        "blocked",
        True,
    )
    assert str(failed.value).startswith("tandem-delivery-failed:telegram:blocked:")
    # Permanent: not tried again.
    assert len(await telegram.calls("sendMessage")) == 1


async def test_the_bots_own_undelivered_reply_does_not_lose_the_customers_turn(
    telegram: Telegram,
) -> None:
    await post_json(f"{telegram.api}/_blocked", {"chat_id": CHAT})

    answer = await telegram.post(text_update(61, CHAT, "hello"))

    assert answer == (200, {"status": "processed"})
    assert telegram.agent.texts() == [(SENDER, "hello")]


async def test_429_is_retried_after_the_time_telegram_asks(telegram: Telegram) -> None:
    await queue_failures(
        telegram.api,
        [
            {
                "status": 429,
                "method": "sendMessage",
                "body": {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 2",
                    "parameters": {"retry_after": 2},
                },
            }
        ],
    )

    await telegram.channel.get_output_channel().send_response(
        SENDER, {"text": "hi", "tandem_message_id": 5}
    )

    assert len(await telegram.calls("sendMessage")) == 2
    assert telegram.sleep.delays == [2.0]


async def test_server_errors_are_retried_with_backoff_then_delivered(
    telegram: Telegram,
) -> None:
    server_error = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    await queue_failures(
        telegram.api,
        [{"status": 502, "body": server_error}, {"status": 500, "body": {}}],
    )

    await telegram.channel.get_output_channel().send_response(
        SENDER, {"text": "hi", "tandem_message_id": 6}
    )

    assert len(await telegram.calls("sendMessage")) == 3
    first, second = telegram.sleep.delays
    assert 0 < first < second


async def test_a_platform_that_keeps_failing_is_a_transient_failure(
    telegram: Telegram,
) -> None:
    await queue_failures(telegram.api, [{"status": 503, "body": {}}] * 3)

    with pytest.raises(DeliveryFailed) as failed:
        await telegram.channel.get_output_channel().send_response(
            SENDER, {"text": "hi", "tandem_message_id": 7}
        )

    assert (failed.value.reason, failed.value.permanent) == ("platform_error", False)
    assert len(await telegram.calls("sendMessage")) == 3


async def test_a_retry_after_longer_than_the_service_waits_is_not_waited_for(
    telegram: Telegram,
) -> None:
    await queue_failures(
        telegram.api,
        [
            {
                "status": 429,
                "body": {
                    "ok": False,
                    "error_code": 429,
                    "parameters": {"retry_after": 60},
                },
            }
        ],
    )

    with pytest.raises(DeliveryFailed) as failed:
        await telegram.channel.get_output_channel().send_response(
            SENDER, {"text": "hi", "tandem_message_id": 8}
        )

    assert failed.value.permanent is False
    assert telegram.sleep.delays == []


async def test_a_conversation_of_another_channel_is_an_invalid_recipient(
    telegram: Telegram,
) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await telegram.channel.get_output_channel().send_response(
            "whatsapp:+821012345678", {"text": "hi", "tandem_notice": True}
        )

    assert failed.value.reason == "invalid_recipient"


async def post_json(url: str, body: Any) -> None:
    status, _ = await post_raw(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200


async def test_updates_over_the_customers_rate_are_acknowledged_unheard_and_told_once(
    telegram: Telegram,
) -> None:
    telegram.channel.rate = MessageRate(per_minute=6, burst=2, clock=lambda: 50.0)

    answers = [
        await telegram.post(
            text_update(300 + number, CHAT, f"m{number}", language_code="en")
        )
        for number in range(4)
    ]

    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert [body["status"] for _, body in answers] == [
        "processed",
        "processed",
        "rate_limited",
        "rate_limited",
    ]
    assert telegram.agent.texts() == [(SENDER, "m0"), (SENDER, "m1")]
    notices = [
        call["payload"]["text"]
        for call in await telegram.calls("sendMessage")
        if "too quickly" in call["payload"]["text"]
    ]
    assert notices == [
        "You're sending messages too quickly. Please send again in 10 s."
    ]
