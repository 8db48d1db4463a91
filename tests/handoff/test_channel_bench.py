"""The channel benchmark's figures (bench/channel_stats.py) and how it gives each
Telegram or Twilio turn the platform calls it caused (bench/channel_turns.py)."""

from __future__ import annotations

import pytest

from bench.channel_report import wrapped
from bench.channel_stats import Spread, ratios, share_within, spread
from bench.channel_turns import (
    Turn,
    attach_calls,
    rasa_handling_ms,
    telegram_recipient,
    twilio_recipient,
)


def test_the_spread_interpolates_between_the_nearest_ranks() -> None:
    figures = spread([float(value) for value in range(1, 101)])
    assert figures.count == 100
    assert figures.p50_ms == pytest.approx(50.5)
    assert figures.p90_ms == pytest.approx(90.1)
    assert figures.p99_ms == pytest.approx(99.01)
    assert figures.max_ms == 100.0


def test_a_phase_with_no_times_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="every turn of the phase failed"):
        spread([])
    with pytest.raises(ValueError):
        share_within([], 5000)


def test_the_share_within_the_limit_counts_the_limit_itself() -> None:
    assert share_within([4999.0, 5000.0, 5000.1, 7000.0], 5000) == 0.5


def test_ratios_set_each_percentile_against_the_baselines() -> None:
    baseline = Spread(10, 100.0, 200.0, 400.0, 500.0)
    channel = Spread(10, 150.0, 200.0, 200.0, 900.0)
    assert ratios(channel, baseline) == (1.5, 1.0, 0.5)
    with pytest.raises(ValueError, match="nothing was measured"):
        ratios(channel, Spread(1, 0.0, 0.0, 0.0, 0.0))


def test_a_turn_gets_the_calls_to_its_recipient_while_its_webhook_ran() -> None:
    first = Turn("Telegram", "telegram:7", "hello", sent_at=10.0, answered_at=10.5)
    second = Turn("Telegram", "telegram:7", "bill", sent_at=11.0, answered_at=11.4)
    calls = [
        {"method": "sendMessage", "payload": {"chat_id": 7, "text": "hi"}},
        {"method": "sendMessage", "payload": {"chat_id": 8, "text": "other chat"}},
        {"method": "answerCallbackQuery", "payload": {"callback_query_id": "q"}},
        {"method": "sendMessage", "payload": {"chat_id": 7, "text": "your bill"}},
        {"method": "sendMessage", "payload": {"chat_id": 7, "text": "code?"}},
    ]
    attach_calls(
        [first, second], calls, [10.2, 10.3, 10.35, 11.1, 11.3], telegram_recipient
    )
    assert first.out_at == [10.2]
    assert second.out_at == [11.1, 11.3]
    assert first.first_ms == pytest.approx(200)
    assert second.first_ms == pytest.approx(100)
    assert second.last_ms == pytest.approx(300)


def test_a_turn_no_call_reached_failed() -> None:
    turn = Turn("Twilio SMS", "+821000000001", "hello", sent_at=1.0, answered_at=2.0)
    late = {"method": "Messages.create", "form": {"To": "+821000000001", "Body": "x"}}
    attach_calls([turn], [late], [2.5], twilio_recipient)
    assert turn.out_at == []
    assert turn.failure == "no message reached the platform"
    assert turn.first_ms is None


def test_a_record_without_arrival_times_is_refused() -> None:
    with pytest.raises(ValueError, match="without arrival times"):
        attach_calls([], [{"method": "sendMessage"}], [], telegram_recipient)


def test_the_report_fills_prose_and_keeps_tables() -> None:
    table = "| a | b |\n|---|---|\n| 1 | 2 |"
    text = wrapped(f"one\ntwo   three\n\n{table}\n\n- item\n  more")
    assert text == f"one two three\n\n{table}\n\n- item\n  more\n"


def test_rasas_handling_times_are_read_per_input_channel() -> None:
    log = (
        "[rasa     ] 2026-12-03 12:28:13 INFO     bot.observability.processor_hooks"
        "  - message from kakao handled in 85 ms\n"
        "[handoff  ] 2026-12-03 12:28:13,682 INFO aiohttp.access: POST /api/rasa\n"
        "[rasa     ] ... - message from socketio handled in 1204 ms\n"
        "[rasa     ] ... - message from kakao handled in 33 ms\n"
    )
    assert rasa_handling_ms(log) == {"kakao": [85.0, 33.0], "socketio": [1204.0]}
