"""Each customer's message rate: a token bucket per sender, bounded in memory."""

from __future__ import annotations

import pytest

from bot.message_rate import MessageRate, Verdict, slow_down_notice


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_is_taken_then_the_rate() -> None:
    clock = Clock()
    rate = MessageRate(per_minute=30, burst=3, clock=clock)

    taken = [(await rate.check("web:a")).allowed for _ in range(4)]
    clock.now += 2  # one message's worth at 30 a minute
    after_two_seconds = (await rate.check("web:a")).allowed

    assert taken == [True, True, True, False]
    assert after_two_seconds is True
    assert (await rate.check("web:a")).allowed is False


async def test_the_refusal_says_how_long_to_wait_and_to_tell_only_once() -> None:
    clock = Clock()
    rate = MessageRate(per_minute=6, burst=1, clock=clock)
    await rate.check("s")

    first, second = await rate.check("s"), await rate.check("s")
    clock.now += 10
    allowed = await rate.check("s")
    again = await rate.check("s")

    assert first == Verdict(allowed=False, wait_seconds=10, tell=True)
    assert second == Verdict(allowed=False, wait_seconds=10, tell=False)
    assert allowed.allowed
    # A new stretch over the rate is told again.
    assert again.tell


async def test_senders_do_not_share_a_bucket() -> None:
    rate = MessageRate(per_minute=1, burst=1, clock=Clock())

    assert (await rate.check("telegram:1")).allowed
    assert (await rate.check("telegram:2")).allowed
    assert not (await rate.check("telegram:1")).allowed


async def test_memory_is_bounded_by_dropping_the_least_recent_sender() -> None:
    rate = MessageRate(per_minute=1, burst=1, max_senders=2, clock=Clock())
    await rate.check("a")
    await rate.check("b")
    await rate.check("c")  # "a" is forgotten: a full bucket again

    assert (await rate.check("a")).allowed
    assert not (await rate.check("c")).allowed


async def test_the_clock_going_back_takes_nothing_away() -> None:
    clock = Clock()
    rate = MessageRate(per_minute=60, burst=2, clock=clock)
    await rate.check("s")
    clock.now -= 100

    assert (await rate.check("s")).allowed


def test_settings_come_from_the_environment() -> None:
    rate = MessageRate.from_environment(
        {
            "TANDEM_CUSTOMER_MESSAGES_PER_MINUTE": "12",
            "TANDEM_CUSTOMER_MESSAGE_BURST": "4",
        }
    )
    default = MessageRate.from_environment({})

    assert (rate.per_second, rate.burst) == (0.2, 4)
    assert (default.per_second, default.burst) == (1.0, 20)


@pytest.mark.parametrize("value", ["fast", "0", "-3", "nan", "inf"])
def test_a_rate_that_cannot_be_right_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="TANDEM_CUSTOMER_MESSAGES_PER_MINUTE"):
        MessageRate.from_environment({"TANDEM_CUSTOMER_MESSAGES_PER_MINUTE": value})


def test_the_notice_is_in_the_customers_language() -> None:
    assert slow_down_notice("ko", 12) == (
        "메시지가 너무 빠르게 들어오고 있어요. 12초 뒤에 다시 보내 주세요."
    )
    assert "12 s" in slow_down_notice("en", 12)
