"""Skill requests Open Builder sends again: the record of what was seen, in one
server's memory and in the machine's real Redis, and two Rasa servers' KakaoTalk
channels sharing it, so that a repeat reaching the other server is not run twice."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.kakao_repeats import (
    Earlier,
    KakaoRepeats,
    LocalRepeats,
    RedisRepeats,
)
from bot.channels.kakao_skill import notice
from tests.bot.redis_fixtures import client, prefix
from tests.bot.test_kakao_channel import USER, running_kakao, says, slow
from tests.ports import free_port

__all__ = ["client", "prefix"]

ANSWER = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "네"}}]}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["local", "redis"])
async def repeats(
    request: pytest.FixtureRequest, client: redis.asyncio.Redis, prefix: str
) -> KakaoRepeats:
    if request.param == "local":
        return LocalRepeats()
    return RedisRepeats(client, prefix)


async def test_the_first_request_runs_and_its_repeat_waits_then_gets_its_answer(
    repeats: KakaoRepeats,
) -> None:
    assert await repeats.claim("k") is None
    assert await repeats.claim("k") == Earlier(None)
    assert await repeats.claim("other") is None
    await repeats.settle("k", ANSWER)
    assert await repeats.claim("k") == Earlier(ANSWER)


async def test_a_settled_answer_is_forgotten_after_its_seconds_in_redis(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    repeats = RedisRepeats(client, prefix, repeat_seconds=0.2)
    assert await repeats.claim("k") is None
    await repeats.settle("k", ANSWER)
    assert 0 < await client.pttl(repeats.key("k")) <= 200
    await asyncio.sleep(0.3)
    assert await repeats.claim("k") is None


async def test_a_claim_left_by_a_stopped_server_lapses_in_redis(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    stopped = RedisRepeats(client, prefix, running_seconds=0.2)
    assert await stopped.claim("k") is None
    other = RedisRepeats(client, prefix)
    assert await other.claim("k") == Earlier(None)
    await asyncio.sleep(0.3)
    assert await other.claim("k") is None


async def test_the_answer_is_kept_as_json_and_an_unreadable_one_means_wait(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    repeats = RedisRepeats(client, prefix)
    await repeats.settle("k", ANSWER)
    assert json.loads(await client.get(repeats.key("k"))) == ANSWER
    await client.set(repeats.key("k"), b"\xff not json")
    assert await repeats.claim("k") == Earlier(None)


async def test_in_memory_answers_and_claims_lapse_by_the_clock() -> None:
    clock = Clock()
    repeats = LocalRepeats(repeat_seconds=5, running_seconds=60, clock=clock)
    assert await repeats.claim("running") is None
    assert await repeats.claim("settled") is None
    await repeats.settle("settled", ANSWER)
    clock.now += 5
    assert await repeats.claim("settled") is None
    assert await repeats.claim("running") == Earlier(None)
    clock.now += 55
    assert await repeats.claim("running") is None


@pytest.fixture
async def shared(
    client: redis.asyncio.Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> RedisRepeats:
    monkeypatch.setattr(Sanic, "test_mode", True)
    return RedisRepeats(client, prefix)


async def test_a_repeat_reaching_another_server_gets_the_first_servers_answer(
    shared: RedisRepeats,
) -> None:
    async with running_kakao(shared) as first, running_kakao(shared) as second:
        first.agent.script["요금 알려 주세요"] = says("55,000원이에요")
        _, answer = await first.say("요금 알려 주세요")
        _, again = await second.say("요금 알려 주세요")
        assert again == answer
        assert [m.text for m in first.agent.heard] == ["요금 알려 주세요"]
        assert second.agent.heard == []


async def test_a_repeat_reaching_another_server_mid_turn_is_told_to_wait(
    shared: RedisRepeats,
) -> None:
    async with running_kakao(shared) as first, running_kakao(shared) as second:
        started = asyncio.Event()
        slow_turn = slow("조회해 볼게요", "55,000원이에요")

        async def turn(message: UserMessage) -> None:
            started.set()
            await slow_turn(message)

        first.agent.script["느린 질문"] = turn
        running = asyncio.create_task(first.say("느린 질문", callback=True))
        await asyncio.wait_for(started.wait(), timeout=10)
        _, again = await second.say("느린 질문", callback=True)
        _, answer = await running
        assert answer["useCallback"] is True
        assert [o["simpleText"]["text"] for o in again["template"]["outputs"]] == [
            notice("duplicate", "ko")
        ]
        assert second.agent.heard == []


async def test_with_redis_unreachable_a_request_is_run_rather_than_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Sanic, "test_mode", True)
    nobody = redis.asyncio.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1
    )
    async with running_kakao(RedisRepeats(nobody, "down")) as kakao:
        kakao.agent.script["요금 알려 주세요"] = says("55,000원이에요")
        status, answer = await kakao.say("요금 알려 주세요")
        assert status == 200
        assert [o["simpleText"]["text"] for o in answer["template"]["outputs"]] == [
            "55,000원이에요"
        ]
        assert [m.sender_id for m in kakao.agent.heard] == [f"kakao:{USER}"]
    await nobody.close()
