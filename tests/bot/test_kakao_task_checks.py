"""Checking an agent's reply sent through Kakao's Event API: the task's result is
asked for after a delay and a failure reported to the handoff service; unfinished
tasks, transient errors and reports the service did not take are asked again a few
times; unreadable answers are never reported; checks are capped, off at 0 seconds,
and outlive the server that queued them: a restart, or another server after the
lease, takes them up. Against Kakao's and the service's stand-ins; the shared queue
against the machine's real Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from rasa.shared.exceptions import RasaException

from bot.channels.attachments import AttachmentSettings
from bot.channels.delivery_reports import DeliveryReports
from bot.channels.kakao import KakaoInput, KakaoSettings
from bot.channels.kakao_check_queue import (
    LEASE_SECONDS,
    FileCheckQueue,
    MemoryCheckQueue,
    RedisCheckQueue,
)
from bot.channels.kakao_events import KakaoEventApi, KakaoPushOutput, PlatformAnswer
from bot.channels.kakao_task_checks import KakaoTaskChecks
from tests.bot.channel_testing import Gate, queue_failures, recorded, standin
from tests.bot.redis_fixtures import client, prefix
from tests.ports import free_port
from tests.standins import handoff_attachments
from tests.standins.kakao_api import ForcedAnswer, KakaoStandIn

__all__ = ["client", "prefix"]

BOT_ID = "5f6e7d8c9b0a1234567890ab"
REST_API_KEY = "rest-api-key"
SECRET = "skill-secret"
USER = "kakaouser01"
OTHER_USER = "kakaouser02"
SERVICE_SECRET = "shared"
CHECK_SECONDS = 0.02
BLOCKED_REPORT = {
    "status": "failed",
    "reason": "blocked",
    "permanent": True,
    "detail": "Kakao task FAIL: BLOCKED_USER",
}


@dataclass
class Setup:
    kakao: KakaoStandIn
    kakao_url: str
    service: str
    channel: KakaoInput

    @property
    def checks(self) -> KakaoTaskChecks:
        assert self.channel.task_checks is not None
        return self.channel.task_checks

    @property
    def output(self) -> KakaoPushOutput:
        output = self.channel.get_output_channel()
        assert isinstance(output, KakaoPushOutput)
        return output

    async def reply(self, message_id: int, text: str = "확인했습니다.") -> None:
        await self.output.send_response(
            f"kakao:{USER}",
            {"text": text, "agent": "Mina", "tandem_message_id": message_id},
        )

    async def checks_done(self) -> None:
        for _ in range(250):
            if await self.checks.outstanding() == 0 and self.checks.running == 0:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{await self.checks.outstanding()} checks still queued")

    async def reports(self) -> list[dict[str, Any]]:
        return [
            call["body"]
            for call in await recorded(self.service)
            if call.get("method") == "deliveries"
        ]

    def forced_results(self, *answers: tuple[int, Any]) -> None:
        self.kakao.forced_results += [
            ForcedAnswer(status=status, body=body) for status, body in answers
        ]


def settings(kakao_url: str, check_seconds: float = CHECK_SECONDS) -> KakaoSettings:
    return KakaoSettings(
        bot_id=BOT_ID,
        rest_api_key=REST_API_KEY,
        skill_secret=SECRET,
        event_api_url=kakao_url,
        task_check_seconds=check_seconds,
    )


@pytest.fixture
async def kakao(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    check_seconds = getattr(request, "param", CHECK_SECONDS)
    stand_in = KakaoStandIn(bot_id=BOT_ID, rest_api_key=REST_API_KEY)
    service_app = handoff_attachments.create_app(SERVICE_SECRET)
    async with standin(stand_in.app()) as kakao_url, standin(service_app) as service:
        channel = KakaoInput(
            settings(kakao_url, check_seconds),
            AttachmentSettings(service, SERVICE_SECRET, 4096),
        )
        try:
            yield Setup(stand_in, kakao_url, service, channel)
        finally:
            await channel.close()


# ---------------------------------------------------------------- results


async def test_a_reply_to_a_customer_who_blocked_the_channel_is_reported(
    kakao: Setup,
) -> None:
    kakao.kakao.blocked.add(USER)

    await kakao.reply(41)
    await kakao.checks_done()

    assert [event["users"] for event in kakao.kakao.events] == [
        [{"type": "botUserKey", "id": USER}]
    ]
    assert await kakao.reports() == [{"tandem_message_id": 41, **BLOCKED_REPORT}]


async def test_a_delivered_reply_is_checked_once_and_not_reported(
    kakao: Setup,
) -> None:
    kakao.kakao.blocked.add(OTHER_USER)

    await kakao.reply(42)
    await kakao.checks_done()

    [event] = kakao.kakao.events
    assert [check["task_id"] for check in kakao.kakao.task_checks] == [event["task_id"]]
    assert await kakao.reports() == []


async def test_a_reply_in_pieces_is_one_check_and_one_report(kakao: Setup) -> None:
    kakao.kakao.blocked.add(USER)

    await kakao.reply(43, "안내 " * 700)
    assert await kakao.checks.outstanding() == 1
    await kakao.checks_done()

    assert len(kakao.kakao.events) == 3
    assert len(kakao.kakao.task_checks) == 1
    assert await kakao.reports() == [{"tandem_message_id": 43, **BLOCKED_REPORT}]


async def test_an_unfinished_task_is_asked_again_until_it_finishes(
    kakao: Setup,
) -> None:
    kakao.kakao.blocked.add(USER)
    kakao.kakao.pending = 2

    await kakao.reply(44)
    await kakao.checks_done()

    assert len(kakao.kakao.task_checks) == 3
    assert await kakao.reports() == [{"tandem_message_id": 44, **BLOCKED_REPORT}]


async def test_transient_errors_are_asked_again(kakao: Setup) -> None:
    kakao.kakao.blocked.add(USER)
    kakao.forced_results((503, {"status": "FAIL"}), (429, {"message": "slow down"}))

    await kakao.reply(45)
    await kakao.checks_done()

    assert len(kakao.kakao.task_checks) == 3
    assert await kakao.reports() == [{"tandem_message_id": 45, **BLOCKED_REPORT}]


async def test_a_report_the_service_did_not_take_is_made_again(kakao: Setup) -> None:
    kakao.kakao.blocked.add(USER)
    await queue_failures(
        kakao.service, [{"status": 503, "body": {}, "method": "deliveries"}]
    )

    await kakao.reply(54)
    await kakao.checks_done()

    assert len(kakao.kakao.task_checks) == 2
    assert await kakao.reports() == [{"tandem_message_id": 54, **BLOCKED_REPORT}]


async def test_a_task_never_finished_is_given_up_with_a_warning(
    kakao: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    kakao.kakao.blocked.add(USER)
    kakao.kakao.pending = 100

    with caplog.at_level(logging.WARNING, logger="bot.channels.kakao_task_checks"):
        await kakao.reply(46)
        await kakao.checks_done()

    assert len(kakao.kakao.task_checks) == 5
    assert "after 5 checks; the reply stays as it was" in caplog.text
    assert await kakao.reports() == []


UNREADABLE: dict[str, tuple[int, Any]] = {
    "not-an-object": (200, ["FAIL"]),
    "another-task": (200, {"taskId": "other", "status": "FAIL", "successCount": 0}),
    "success-and-failure": (
        200,
        {"status": "FAIL", "successCount": 1, "fail": {"count": 1}},
    ),
    "refused": (401, {"status": "FAIL", "message": "invalid REST API key"}),
    "unknown-task": (404, {"status": "FAIL", "message": "unknown task"}),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
async def test_an_answer_not_understood_is_logged_and_never_reported(
    kakao: Setup, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    kakao.kakao.blocked.add(USER)
    kakao.forced_results(UNREADABLE[case])

    with caplog.at_level(logging.WARNING, logger="bot.channels.kakao_task_checks"):
        await kakao.reply(47)
        await kakao.checks_done()

    assert len(kakao.kakao.task_checks) == 1
    assert "was not understood, the reply stays as it was" in caplog.text
    assert await kakao.reports() == []


async def test_only_agents_replies_are_checked(kakao: Setup) -> None:
    await kakao.output.send_response(
        f"kakao:{USER}", {"text": "대기 순번 1번", "tandem_notice": True}
    )
    await kakao.output.send_response(f"kakao:{USER}", {"text": "상담은 어떠셨나요?"})
    await kakao.output.send_response(
        f"kakao:{USER}", {"text": "네", "tandem_message_id": True}
    )

    assert len(kakao.kakao.events) == 3
    assert await kakao.checks.outstanding() == 0


# ---------------------------------------------------------------- the stand-in


async def test_task_results_need_the_rest_api_key_and_a_task_kakao_took(
    kakao: Setup,
) -> None:
    def events(key: str) -> KakaoEventApi:
        return KakaoEventApi(
            kakao.channel._session,
            base_url=kakao.kakao_url,
            bot_id=BOT_ID,
            rest_api_key=key,
            event_name="tandem_message",
        )

    [task_id] = await events(REST_API_KEY).send_text(USER, "hello")

    wrong_key = await events("wrong").task_result(task_id)
    unknown = await events(REST_API_KEY).task_result("never-taken")
    finished = await events(REST_API_KEY).task_result(task_id)

    assert (wrong_key.status, unknown.status) == (401, 404)
    assert (finished.status, finished.body) == (
        200,
        {
            "taskId": task_id,
            "status": "SUCCESS",
            "allRequestCount": 1,
            "successCount": 1,
            "fail": {"count": 0, "list": []},
        },
    )


# ---------------------------------------------------------------- scheduling


@pytest.mark.parametrize("kakao", [0], indirect=True)
async def test_zero_seconds_turns_checking_off(kakao: Setup) -> None:
    kakao.kakao.blocked.add(USER)

    await kakao.reply(48)

    assert await kakao.checks.outstanding() == 0
    await asyncio.sleep(CHECK_SECONDS * 5)
    assert kakao.kakao.task_checks == []


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def checks_of(
    kakao: Setup,
    events: KakaoEventApi | None = None,
    **options: Any,
) -> KakaoTaskChecks:
    """Checks whose poller, once started, takes what is due and then waits for
    good: the test runs the rounds itself (``run_due``)."""
    assert kakao.channel.events is not None
    return KakaoTaskChecks(
        events or kakao.channel.events,
        DeliveryReports(
            AttachmentSettings(kakao.service, SERVICE_SECRET, 4096),
            kakao.channel._session,
        ),
        sleep=Gate(),
        **options,
    )


async def rounds_done(checks: KakaoTaskChecks) -> None:
    await asyncio.gather(*list(checks._rounds))


@pytest.mark.parametrize("kakao", [10], indirect=True)
async def test_closing_the_channel_stops_the_checks_and_keeps_them_queued(
    kakao: Setup,
) -> None:
    # The send does not wait for its check.
    await asyncio.wait_for(kakao.reply(49), timeout=2)
    await kakao.reply(50)
    poller = kakao.checks._poller
    assert poller is not None and not poller.done()

    await kakao.channel.close()

    assert poller.cancelled()
    assert await kakao.checks.outstanding() == 2
    assert kakao.kakao.task_checks == []


async def test_a_restart_takes_up_the_checks_the_last_run_left(
    kakao: Setup, tmp_path: Path
) -> None:
    kakao.kakao.blocked.add(USER)
    [task_id] = await kakao.output.events.send_text(USER, "hello")
    path = tmp_path / "channel_state.db"
    queue = FileCheckQueue(path)
    before = checks_of(kakao, queue=queue, first_delay=10.0)
    assert await before.schedule(60, USER, [task_id])
    await before.close()
    queue.close()

    reopened = FileCheckQueue(path)
    clock = Clock(time.time() + 10.0)
    after = checks_of(kakao, queue=reopened, first_delay=10.0, clock=clock)
    assert await after.outstanding() == 1
    after.start()
    for _ in range(100):
        if await kakao.reports():
            break
        await asyncio.sleep(0.02)
    await rounds_done(after)

    assert await kakao.reports() == [{"tandem_message_id": 60, **BLOCKED_REPORT}]
    assert await after.outstanding() == 0
    await after.close()
    reopened.close()


async def test_another_server_takes_up_a_stopped_servers_check_after_its_lease(
    kakao: Setup, client: redis.asyncio.Redis, prefix: str
) -> None:
    kakao.kakao.blocked.add(USER)
    [task_id] = await kakao.output.events.send_text(USER, "hello")
    clock = Clock(time.time())
    stopped = checks_of(kakao, queue=RedisCheckQueue(client, prefix), clock=clock)
    other = checks_of(kakao, queue=RedisCheckQueue(client, prefix), clock=clock)
    assert await stopped.schedule(61, USER, [task_id])

    # The first server takes the due check and stops before it asks Kakao.
    clock.now += 10.0
    [taken] = await stopped.queue.take_due(clock.now, 5)
    assert taken.message_id == 61
    assert await other.run_due() == 0
    clock.now += LEASE_SECONDS
    assert await other.run_due() == 1
    await rounds_done(other)

    assert await kakao.reports() == [{"tandem_message_id": 61, **BLOCKED_REPORT}]
    assert await other.outstanding() == 0
    await stopped.close()
    await other.close()


async def test_checks_beyond_the_cap_are_dropped_with_a_warning(
    kakao: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    checks = checks_of(kakao, first_delay=1.0, max_outstanding=2)

    with caplog.at_level(logging.WARNING, logger="bot.channels.kakao_task_checks"):
        scheduled = [
            await checks.schedule(number, USER, ["task"]) for number in (1, 2, 3)
        ]

    assert scheduled == [True, True, False]
    assert await checks.outstanding() == 2
    assert "Reply 3 is not checked with Kakao: 2 checks are waiting" in caplog.text
    await checks.close()
    assert kakao.kakao.task_checks == []


async def test_a_queue_that_cannot_be_reached_leaves_the_reply_unchecked(
    kakao: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = redis.asyncio.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1
    )
    checks = checks_of(kakao, queue=RedisCheckQueue(nobody, "down"), first_delay=1.0)

    with caplog.at_level(logging.WARNING, logger="bot.channels.kakao_task_checks"):
        assert not await checks.schedule(62, USER, ["task"])

    assert "Reply 62 is not checked with Kakao" in caplog.text
    await nobody.close()


async def test_the_checks_wait_longer_each_time_up_to_a_bound(kakao: Setup) -> None:
    kakao.kakao.pending = 100
    [task_id] = await kakao.output.events.send_text(USER, "hello")
    clock = Clock(1000.0)
    queue = MemoryCheckQueue()
    checks = checks_of(
        kakao, queue=queue, first_delay=50.0, further_tries=3, clock=clock
    )
    assert await checks.schedule(51, USER, [task_id])

    waits = []
    for _ in range(4):
        [(due, _check)] = queue.waiting()
        waits.append(due - clock.now)
        clock.now = due - 0.001
        assert await checks.run_due() == 0
        clock.now = due
        assert await checks.run_due() == 1
        await rounds_done(checks)

    assert waits == [50.0, 100.0, 120.0, 120.0]
    assert len(kakao.kakao.task_checks) == 4
    assert queue.waiting() == []
    await checks.close()


class Crashing(KakaoEventApi):
    """The Event API whose client breaks on one task's result."""

    async def task_result(self, task_id: str) -> PlatformAnswer:
        if task_id == "broken":
            raise RuntimeError("a bug")
        return await super().task_result(task_id)


async def test_a_check_that_breaks_touches_no_other(
    kakao: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    kakao.kakao.blocked.add(USER)
    [task_id] = await kakao.output.events.send_text(USER, "hello")
    crashing = Crashing(
        kakao.channel._session,
        base_url=kakao.kakao_url,
        bot_id=BOT_ID,
        rest_api_key=REST_API_KEY,
        event_name="tandem_message",
    )
    clock = Clock(1000.0)
    checks = checks_of(kakao, crashing, first_delay=1.0, clock=clock)

    with caplog.at_level(logging.ERROR, logger="bot.channels.kakao_task_checks"):
        assert await checks.schedule(52, USER, ["broken"])
        assert await checks.schedule(53, USER, [task_id])
        clock.now += 1.0
        assert await checks.run_due() == 2
        await rounds_done(checks)

    assert "The Kakao check of reply 52 failed" in caplog.text
    assert await kakao.reports() == [{"tandem_message_id": 53, **BLOCKED_REPORT}]
    assert await checks.outstanding() == 0
    await checks.close()


# ---------------------------------------------------------------- settings


ENVIRON = {
    "TANDEM_KAKAO_BOT_ID": BOT_ID,
    "TANDEM_KAKAO_REST_API_KEY": REST_API_KEY,
    "TANDEM_KAKAO_SKILL_SECRET": SECRET,
}


@pytest.mark.parametrize(("value", "seconds"), [("", 10.0), ("0", 0.0), ("2.5", 2.5)])
def test_the_check_delay_comes_from_the_environment(value: str, seconds: float) -> None:
    read = KakaoSettings.from_environment(
        {**ENVIRON, "TANDEM_KAKAO_TASK_CHECK_SECONDS": value}
    )
    assert read is not None
    assert read.task_check_seconds == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_a_wrong_check_delay_stops_the_start(value: str) -> None:
    with pytest.raises(RasaException, match="TANDEM_KAKAO_TASK_CHECK_SECONDS"):
        KakaoSettings.from_environment(
            {**ENVIRON, "TANDEM_KAKAO_TASK_CHECK_SECONDS": value}
        )
