"""What the messaging channels share: conversation ids, retries of transient delivery
failures, and remembering webhooks delivered again."""

from __future__ import annotations

import pytest

from bot.channels.delivery import DeliveryFailed, send_with_retry
from bot.channels.redelivery import SeenUpdates
from bot.channels.sender_ids import (
    UnknownChannel,
    channel_of,
    platform_user_on,
    sender_id,
)


def test_sender_ids_carry_their_channel() -> None:
    assert sender_id("kakao", "4ceb0d61") == "kakao:4ceb0d61"
    assert sender_id("whatsapp", "+821012345678") == "whatsapp:+821012345678"
    assert channel_of("kakao:4ceb0d61") == "kakao"
    assert channel_of("telegram:42") == "telegram"
    assert platform_user_on("kakao:4ceb0d61", "kakao") == "4ceb0d61"


@pytest.mark.parametrize("web_id", ["bQ3x_a.sig", "kakao:", "line:1", "", ":x"])
def test_anything_without_a_known_prefix_is_the_web_chat(web_id: str) -> None:
    assert channel_of(web_id) == "web"
    assert platform_user_on(web_id, "kakao") is None


def test_unknown_channels_and_empty_users_have_no_sender_id() -> None:
    with pytest.raises(UnknownChannel):
        sender_id("line", "1")
    with pytest.raises(ValueError):
        sender_id("kakao", "")


class Attempts:
    """A send that fails with the given failures, then succeeds."""

    def __init__(self, *failures: DeliveryFailed) -> None:
        self.failures = list(failures)
        self.count = 0

    async def __call__(self) -> str:
        self.count += 1
        if self.failures:
            raise self.failures.pop(0)
        return "sent"


def transient(retry_after: float | None = None) -> DeliveryFailed:
    return DeliveryFailed(
        "kakao", "platform_error", permanent=False, retry_after=retry_after
    )


class Waits(list[float]):
    """The waits ``send_with_retry`` asked for, none of them slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


async def test_a_transient_delivery_failure_is_retried_with_backoff(
    waits: Waits,
) -> None:
    send = Attempts(transient(), transient())
    assert (
        await send_with_retry(send, attempts=3, base_delay=0.5, sleep=waits) == "sent"
    )
    assert send.count == 3
    # Doubling, with up to a quarter of jitter taken off.
    assert 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0


async def test_the_last_transient_failure_is_raised(waits: Waits) -> None:
    send = Attempts(transient(), transient(), transient())
    with pytest.raises(DeliveryFailed) as raised:
        await send_with_retry(send, attempts=3, sleep=waits)
    assert send.count == 3
    assert raised.value.permanent is False
    assert str(raised.value).startswith(
        "tandem-delivery-failed:kakao:platform_error:transient:"
    )


async def test_a_permanent_failure_is_raised_at_once(waits: Waits) -> None:
    refused = DeliveryFailed("kakao", "blocked", permanent=True, detail="blocked")
    send = Attempts(refused)
    with pytest.raises(DeliveryFailed) as raised:
        await send_with_retry(send, sleep=waits)
    assert (send.count, waits) == (1, [])
    assert (
        str(raised.value) == "tandem-delivery-failed:kakao:blocked:permanent: blocked"
    )


async def test_the_platforms_retry_after_is_waited_for_up_to_a_limit(
    waits: Waits,
) -> None:
    assert await send_with_retry(Attempts(transient(1.5)), sleep=waits) == "sent"
    assert waits == [1.5]
    send = Attempts(transient(30))
    with pytest.raises(DeliveryFailed):
        await send_with_retry(send, sleep=waits)
    assert send.count == 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_delivery_id_is_new_once_within_its_ttl() -> None:
    clock = Clock()
    seen: SeenUpdates[str] = SeenUpdates(ttl_seconds=10, clock=clock)
    assert seen.first_time("update-1") is True
    assert seen.first_time("update-1") is False
    clock.now = 10.5
    assert seen.first_time("update-1") is True


def test_remembered_values_expire_and_the_oldest_go_first() -> None:
    clock = Clock()
    seen: SeenUpdates[str] = SeenUpdates(max_entries=2, ttl_seconds=5, clock=clock)
    seen.remember("a", "answer a")
    seen.remember("b", "answer b")
    seen.remember("c", "answer c")
    assert ("a" in seen, seen.value("b"), len(seen)) == (False, "answer b", 2)
    clock.now = 6
    assert (seen.value("c"), len(seen)) == (None, 0)
