"""The channels' state, delivery ledger and customers' message rates, kept by one
Rasa server (a file, memory) or shared by several (the real Redis server), and two Rasa
servers' channels sharing them: a redelivery reaching the other server, an agent's
reply leaving through it, a customer's messages spread over both."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bot.channels.channel_memory import (
    channel_memory,
    customer_rate,
    kakao_check_queue,
    kakao_repeats,
)
from bot.channels.channel_state import ChannelState, FileChannelState, ReplyOption
from bot.channels.delivery_ledger import (
    Claim,
    DeliveryLedger,
    LocalLedger,
    RedisLedger,
)
from bot.channels.kakao import KakaoInput
from bot.channels.kakao_check_queue import FileCheckQueue, RedisCheckQueue
from bot.channels.kakao_repeats import LocalRepeats, RedisRepeats
from bot.channels.redis_channel_state import RedisChannelState
from bot.channels.telegram import TelegramInput, TelegramSettings
from bot.channels.twilio import TwilioInput, TwilioSettings
from bot.channels.webhook_deliveries import claim_delivery
from bot.message_rate import MessageRate
from bot.redis_message_rate import RedisMessageRate
from tests.bot.channel_testing import (
    Agent,
    channel_server,
    free_port,
    no_wait_retries,
    recorded,
    standin,
)
from tests.bot.lock_schedules import REDIS_URL
from tests.bot.redis_fixtures import client, prefix
from tests.standins import telegram_api, twilio_api
from tests.standins.twilio_api import inbound_params, post_webhook

pytestmark = pytest.mark.redis

OPTIONS = [ReplyOption("네", "/affirm"), ReplyOption("아니요", "/deny")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["file", "redis"])
def state(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    client: redis.asyncio.Redis,
    prefix: str,
) -> ChannelState:
    if request.param == "file":
        return FileChannelState(tmp_path / "channel_state.db")
    return RedisChannelState(client, prefix)


@pytest.fixture(params=["local", "redis"])
def ledger(
    request: pytest.FixtureRequest, client: redis.asyncio.Redis, prefix: str
) -> DeliveryLedger:
    if request.param == "local":
        return LocalLedger()
    return RedisLedger(client, prefix)


# ---------------------------------------------------------------- the state


async def test_the_window_keeps_the_latest_message(state: ChannelState) -> None:
    await state.record_inbound("whatsapp:+8210", 100.0)
    await state.record_inbound("whatsapp:+8210", 50.0)

    assert await state.last_inbound("whatsapp:+8210") == 100.0
    assert await state.last_inbound("whatsapp:+8299") is None


async def test_options_are_kept_until_forgotten(state: ChannelState) -> None:
    await state.remember_options("sms:+8210", OPTIONS, 200.0)

    assert await state.options("sms:+8210") == OPTIONS
    assert await state.options("sms:+8210", sent_after=199.0) == OPTIONS
    assert await state.options("sms:+8210", sent_after=200.0) == []
    assert await state.options("sms:+8299") == []
    await state.forget_options("sms:+8210")
    assert await state.options("sms:+8210") == []


async def test_the_shared_state_is_one_for_every_server(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    first, second = RedisChannelState(client, prefix), RedisChannelState(client, prefix)
    other_deployment = RedisChannelState(client, f"{prefix}other")

    await first.record_inbound("whatsapp:+8210", 100.0)
    await first.remember_options("sms:+8210", OPTIONS, 100.0)

    assert await second.last_inbound("whatsapp:+8210") == 100.0
    assert await second.options("sms:+8210") == OPTIONS
    assert await other_deployment.last_inbound("whatsapp:+8210") is None


async def test_shared_state_expires_once_it_no_longer_matters(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    shared = RedisChannelState(client, prefix)
    await shared.record_inbound("whatsapp:+8210", 100.0)
    await shared.remember_options("sms:+8210", OPTIONS, 100.0)

    inbound_ttl = await client.ttl(f"{prefix}:channel:inbound:whatsapp:+8210")
    options_ttl = await client.ttl(f"{prefix}:channel:options:sms:+8210")

    # Longer than WhatsApp's 24-hour window; options for a week.
    assert 24 * 3600 < inbound_ttl <= 2 * 24 * 3600
    assert 6 * 24 * 3600 < options_ttl <= 7 * 24 * 3600


# ---------------------------------------------------------------- the ledger


async def test_a_delivery_is_new_then_in_progress_then_done(
    ledger: DeliveryLedger,
) -> None:
    assert await ledger.claim("telegram", "1") is Claim.NEW
    assert await ledger.claim("telegram", "1") is Claim.IN_PROGRESS
    assert await ledger.claim("twilio", "1") is Claim.NEW

    await ledger.finish("telegram", "1")

    assert await ledger.claim("telegram", "1") is Claim.DONE


async def test_a_released_delivery_is_processed_when_delivered_again(
    ledger: DeliveryLedger,
) -> None:
    assert await ledger.claim("telegram", "7") is Claim.NEW
    await ledger.release("telegram", "7")

    assert await ledger.claim("telegram", "7") is Claim.NEW


async def test_a_claim_left_by_a_server_that_died_lapses() -> None:
    clock = Clock()
    ledger = LocalLedger(processing_seconds=60, clock=clock)
    assert await ledger.claim("telegram", "3") is Claim.NEW

    clock.now += 59
    assert await ledger.claim("telegram", "3") is Claim.IN_PROGRESS
    clock.now += 2
    assert await ledger.claim("telegram", "3") is Claim.NEW


async def test_a_shared_claim_lapses_with_its_key(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    ledger = RedisLedger(client, prefix, processing_seconds=60)
    assert await ledger.claim("telegram", "3") is Claim.NEW
    assert 0 < await client.ttl(ledger.key("telegram", "3")) <= 60

    # What Redis does when the claim's time is up.
    await client.delete(ledger.key("telegram", "3"))

    assert await ledger.claim("telegram", "3") is Claim.NEW


async def test_of_many_servers_claiming_at_once_one_gets_the_delivery(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    servers = [
        RedisLedger(redis.asyncio.Redis.from_url(REDIS_URL), prefix) for _ in range(8)
    ]
    try:
        claims = await asyncio.gather(
            *(server.claim("twilio", "SM1") for server in servers)
        )
    finally:
        for server in servers:
            await server._redis.close()

    assert claims.count(Claim.NEW) == 1
    assert claims.count(Claim.IN_PROGRESS) == 7


def unreachable_redis() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1
    )


async def test_a_ledger_that_cannot_be_reached_asks_for_the_delivery_again() -> None:
    unreachable = unreachable_redis()
    try:
        answer = await claim_delivery(RedisLedger(unreachable, "x"), "telegram", "1")
    finally:
        await unreachable.close()

    assert answer is not None
    assert answer.status == 503
    assert answer.headers["Retry-After"].isdigit()


async def test_an_unreachable_ledger_lets_through_a_platform_never_redelivering() -> (
    None
):
    unreachable = unreachable_redis()
    try:
        answer = await claim_delivery(
            RedisLedger(unreachable, "x"), "twilio", "SM1", redelivered=False
        )
    finally:
        await unreachable.close()

    assert answer is None


async def test_a_delivery_in_progress_is_asked_for_again_later() -> None:
    ledger = LocalLedger()
    assert await claim_delivery(ledger, "telegram", "1") is None

    answer = await claim_delivery(ledger, "telegram", "1")

    assert answer is not None
    assert answer.status == 503


# ---------------------------------------------------------------- the settings


def test_without_a_redis_url_each_server_keeps_its_own(tmp_path: Path) -> None:
    memory = channel_memory({"TANDEM_VAR_DIR": str(tmp_path)})

    assert isinstance(memory.state, FileChannelState)
    assert isinstance(memory.ledger, LocalLedger)
    assert isinstance(memory.rate, MessageRate)
    assert isinstance(customer_rate({}), MessageRate)
    assert isinstance(kakao_repeats({}), LocalRepeats)
    assert isinstance(
        kakao_check_queue({"TANDEM_VAR_DIR": str(tmp_path)}), FileCheckQueue
    )
    assert (tmp_path / "channel_state.db").exists()


def test_with_a_redis_url_every_server_shares_them() -> None:
    memory = channel_memory(
        {
            "TANDEM_CHANNEL_REDIS_URL": REDIS_URL,
            "TANDEM_CHANNEL_REDIS_PREFIX": "deployment_1",
        }
    )

    assert isinstance(memory.state, RedisChannelState)
    assert isinstance(memory.ledger, RedisLedger)
    assert isinstance(memory.rate, RedisMessageRate)
    assert memory.ledger.key("telegram", "5").startswith("deployment_1:")
    assert memory.rate.key("telegram:5") == "deployment_1:rate:telegram:5"
    repeats = kakao_repeats(
        {
            "TANDEM_CHANNEL_REDIS_URL": REDIS_URL,
            "TANDEM_CHANNEL_REDIS_PREFIX": "deployment_1",
        }
    )
    assert isinstance(repeats, RedisRepeats)
    assert repeats.key("ab") == "deployment_1:channel:kakao:request:ab"
    checks = kakao_check_queue(
        {
            "TANDEM_CHANNEL_REDIS_URL": REDIS_URL,
            "TANDEM_CHANNEL_REDIS_PREFIX": "deployment_1",
        }
    )
    assert isinstance(checks, RedisCheckQueue)
    assert checks.key == "deployment_1:channel:kakao:task-checks"


def test_every_channel_takes_its_customers_rates_from_the_shared_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CHANNEL_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TANDEM_CHANNEL_REDIS_PREFIX", "deployment_1")
    monkeypatch.setenv("TANDEM_CUSTOMER_MESSAGE_BURST", "4")
    monkeypatch.setenv("TANDEM_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TANDEM_TELEGRAM_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("TANDEM_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TANDEM_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TANDEM_TWILIO_WHATSAPP_NUMBER", WHATSAPP_NUMBER)
    monkeypatch.setenv("TANDEM_PUBLIC_URL", "https://bot.example.com")
    monkeypatch.setenv("TANDEM_KAKAO_BOT_ID", "5f6e7d8c9b0a1234567890ab")
    monkeypatch.setenv("TANDEM_KAKAO_REST_API_KEY", "rest-api-key")
    monkeypatch.setenv("TANDEM_KAKAO_SKILL_SECRET", "skill-secret")

    rates = [
        TelegramInput.from_credentials(None).rate,
        TwilioInput.from_credentials(None).rate,
        KakaoInput.from_credentials(None).rate,
        customer_rate(os.environ),
    ]

    shared = [rate.burst for rate in rates if isinstance(rate, RedisMessageRate)]
    assert shared == [4, 4, 4, 4]
    kakao = KakaoInput.from_credentials(None)
    assert isinstance(kakao.repeats, RedisRepeats)
    assert kakao.task_checks is not None
    assert isinstance(kakao.task_checks.queue, RedisCheckQueue)


@pytest.mark.parametrize(
    "settings",
    [
        {"TANDEM_CHANNEL_REDIS_URL": "http://127.0.0.1:6379"},
        {"TANDEM_CHANNEL_REDIS_URL": REDIS_URL, "TANDEM_CHANNEL_REDIS_PREFIX": "a b"},
    ],
)
def test_settings_that_cannot_be_right_are_refused(settings: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="TANDEM_CHANNEL_REDIS"):
        channel_memory(settings)


# ---------------------------------------------------------------- two servers

TOKEN = "123456:shared-telegram-token"
SECRET = "shared-webhook-secret"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "shared-twilio-auth-token"
WHATSAPP_NUMBER = "+14155238886"
CUSTOMER = "whatsapp:+821012345678"


def whatsapp_settings(port: int, api: str) -> TwilioSettings:
    """The WhatsApp number's settings for a Rasa server on ``port``."""
    return TwilioSettings(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        public_url=f"http://127.0.0.1:{port}",
        sms_number=None,
        whatsapp_number=WHATSAPP_NUMBER,
        api_url=api,
    )


async def two_servers(
    make: Callable[[int], Any], agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Any, str, Any, str]]:
    first_port, second_port = free_port(), free_port()
    first, second = make(first_port), make(second_port)
    async with (
        channel_server(first, agent, monkeypatch, first_port) as first_url,
        channel_server(second, agent, monkeypatch, second_port) as second_url,
    ):
        yield first, first_url, second, second_url


async def test_a_telegram_update_redelivered_to_another_server_is_processed_once(
    client: redis.asyncio.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent(replies=[{"text": "안녕하세요"}])
    async with standin(telegram_api.create_app(TOKEN)) as api:
        settings = TelegramSettings(token=TOKEN, secret_token=SECRET, api_url=api)

        def make(port: int) -> TelegramInput:
            return TelegramInput(
                settings,
                RedisChannelState(client, prefix),
                ledger=RedisLedger(client, prefix),
                retries=no_wait_retries(),
            )

        async for _, first_url, _, second_url in two_servers(make, agent, monkeypatch):
            update = telegram_api.text_update(42, 1001, "안녕하세요")
            first = await telegram_api.post_update(
                f"{first_url}/webhooks/telegram/webhook", update, SECRET
            )
            again = await telegram_api.post_update(
                f"{second_url}/webhooks/telegram/webhook", update, SECRET
            )

    assert first == (200, {"status": "processed"})
    assert again == (200, {"status": "duplicate"})
    assert len(agent.heard) == 1


async def test_a_whatsapp_reply_leaves_through_the_server_the_customer_did_not_write_to(
    client: redis.asyncio.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent()
    clock = Clock()
    async with standin(twilio_api.create_app(ACCOUNT_SID, AUTH_TOKEN)) as api:

        def make(port: int) -> TwilioInput:
            return TwilioInput(
                whatsapp_settings(port, api),
                RedisChannelState(client, prefix),
                ledger=RedisLedger(client, prefix),
                retries=no_wait_retries(),
                clock=clock,
            )

        async for _, first_url, second, _ in two_servers(make, agent, monkeypatch):
            params = inbound_params(
                ACCOUNT_SID, CUSTOMER, f"whatsapp:{WHATSAPP_NUMBER}", "요금 문의"
            )
            status, _ = await post_webhook(
                f"{first_url}/webhooks/twilio/webhook", params.items(), AUTH_TOKEN
            )
            clock.now += 3600
            await second.get_output_channel().send_response(
                CUSTOMER, {"text": "Mina Kim: 확인해 드릴게요", "tandem_message_id": 9}
            )
            sent = [call["form"] for call in await recorded(api)]

    assert status == 200
    assert [form["Body"] for form in sent] == ["Mina Kim: 확인해 드릴게요"]


async def test_a_telegram_customer_writing_to_two_servers_gets_one_rate(
    client: redis.asyncio.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent()
    async with standin(telegram_api.create_app(TOKEN)) as api:
        settings = TelegramSettings(token=TOKEN, secret_token=SECRET, api_url=api)

        def make(port: int) -> TelegramInput:
            return TelegramInput(
                settings,
                RedisChannelState(client, prefix),
                ledger=RedisLedger(client, prefix),
                rate=RedisMessageRate(client, prefix, per_minute=1, burst=2),
                retries=no_wait_retries(),
            )

        async for _, first_url, _, second_url in two_servers(make, agent, monkeypatch):
            answers = [
                await telegram_api.post_update(
                    f"{url}/webhooks/telegram/webhook",
                    telegram_api.text_update(
                        500 + number, 1001, f"m{number}", language_code="en"
                    ),
                    SECRET,
                )
                for number, url in enumerate([first_url, second_url] * 2)
            ]
            sent = [call["payload"]["text"] for call in await recorded(api)]

    assert [body["status"] for _, body in answers] == [
        "processed",
        "processed",
        "rate_limited",
        "rate_limited",
    ]
    assert [text for _, text in agent.texts()] == ["m0", "m1"]
    # A minute less what Redis's clock saw pass since the first message.
    assert sent in (
        [f"You're sending messages too quickly. Please send again in {wait} s."]
        for wait in (58, 59, 60)
    )


async def test_without_its_ledger_telegram_is_asked_to_deliver_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent(replies=[{"text": "안녕하세요"}])
    unreachable = unreachable_redis()
    async with standin(telegram_api.create_app(TOKEN)) as api:
        channel = TelegramInput(
            TelegramSettings(token=TOKEN, secret_token=SECRET, api_url=api),
            FileChannelState(tmp_path / "channel_state.db"),
            ledger=RedisLedger(unreachable, "x"),
            retries=no_wait_retries(),
        )
        async with channel_server(channel, agent, monkeypatch) as url:
            status, _ = await telegram_api.post_update(
                f"{url}/webhooks/telegram/webhook",
                telegram_api.text_update(7, 1001, "안녕하세요"),
                SECRET,
            )
    await unreachable.close()

    # Telegram delivers the update again until it is acknowledged.
    assert status == 503
    assert agent.heard == []


async def test_without_its_ledger_a_twilio_message_is_still_processed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent(replies=[{"text": "안녕하세요"}])
    unreachable = unreachable_redis()
    port = free_port()
    async with standin(twilio_api.create_app(ACCOUNT_SID, AUTH_TOKEN)) as api:
        channel = TwilioInput(
            whatsapp_settings(port, api),
            FileChannelState(tmp_path / "channel_state.db"),
            ledger=RedisLedger(unreachable, "x"),
            retries=no_wait_retries(),
        )
        async with channel_server(channel, agent, monkeypatch, port) as url:
            params = inbound_params(
                ACCOUNT_SID, CUSTOMER, f"whatsapp:{WHATSAPP_NUMBER}", "요금 문의"
            )
            status, _ = await post_webhook(
                f"{url}/webhooks/twilio/webhook", params.items(), AUTH_TOKEN
            )
            sent = [call["form"]["Body"] for call in await recorded(api)]
    await unreachable.close()

    # Twilio would not deliver it again after a 503: the message would be lost.
    assert status == 200
    assert [text for _, text in agent.texts()] == ["요금 문의"]
    assert sent == ["안녕하세요"]


async def test_a_platforms_message_names_the_agents_reply_for_three_days(
    state: ChannelState,
) -> None:
    await state.remember_reply("SM01", 41, 1000.0)

    assert await state.reply_of("SM01", 1000.0 + 3 * 24 * 3600 - 1) == 41
    assert await state.reply_of("SM02", 1000.0) is None


# Imported fixtures, which pytest finds here.
__all__ = ["client", "prefix"]
