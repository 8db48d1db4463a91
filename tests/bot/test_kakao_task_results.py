"""Reading Kakao's result of an Event API task: a failure only when it clearly
says the customer's single task failed, not finished when it has no counts yet,
and anything of another shape unreadable, never a failure."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.kakao_task_results import Outcome, read_task_result

TASK = "6f1c0e2a9b8d4c3e"
USER = "a1b2c3d4e5f6"


def result(**fields: Any) -> dict[str, Any]:
    return {"taskId": TASK, **fields}


def failure(user: object = None, **entry: Any) -> dict[str, Any]:
    listed = {"user": user or {"type": "botUserKey", "id": USER}, **entry}
    return {"count": 1, "list": [listed]}


DELIVERED = {
    "success": result(
        status="SUCCESS",
        allRequestCount=1,
        successCount=1,
        fail={"count": 0, "list": []},
    ),
    "no-fail-field": result(status="ALL_SUCCESS", successCount=1),
    "no-task-id": {"status": "SUCCESS", "successCount": 1},
}

FAILED = {
    "blocked": (
        result(
            status="FAIL",
            allRequestCount=1,
            successCount=0,
            fail=failure(reason="BLOCKED_USER"),
        ),
        "Kakao task FAIL: BLOCKED_USER",
    ),
    "user-as-id-with-message": (
        result(
            status="DONE",
            allRequestCount=1,
            successCount=0,
            fail=failure(USER, message="not a friend"),
        ),
        "Kakao task DONE: not a friend",
    ),
    "counts-without-status": (
        result(successCount=0, fail={"count": 1}),
        "Kakao task without a status",
    ),
    "fail-status-without-counts": (result(status="FAILED"), "Kakao task FAILED"),
}

PENDING = {
    "processing": result(status="PROCESSING"),
    "taken-not-counted": result(status="SUCCESS", allRequestCount=1),
    "counts-at-zero": result(
        status="RUNNING", allRequestCount=1, successCount=0, fail={"count": 0}
    ),
    "counts-without-status": result(successCount=0),
}

UNREADABLE = {
    "list": [result(status="FAIL")],
    "text": "FAIL",
    "empty": {},
    "another-task": {**result(status="FAIL"), "taskId": "another"},
    "status-not-text": result(status=0, successCount=0, fail={"count": 1}),
    "count-as-text": result(status="FAIL", successCount="0"),
    "count-as-boolean": result(status="SUCCESS", successCount=True),
    "negative-count": result(successCount=0, fail={"count": -1}),
    "fail-not-object": result(successCount=0, fail=[{"user": USER}]),
    "fail-list-not-list": result(successCount=0, fail={"count": 1, "list": {}}),
    "several-users": result(status="FAIL", allRequestCount=2, successCount=0),
    "another-user-failed": result(
        status="FAIL", successCount=0, fail=failure("someone-else")
    ),
    "success-and-fail-status": result(status="PARTIAL_FAIL", successCount=1),
    "success-and-failure": result(
        status="SUCCESS", successCount=1, fail=failure(reason="x")
    ),
}


@pytest.mark.parametrize("case", list(DELIVERED))
def test_a_task_that_reached_the_customer_is_delivered(case: str) -> None:
    assert read_task_result(DELIVERED[case], TASK, USER).outcome is Outcome.DELIVERED


@pytest.mark.parametrize("case", list(FAILED))
def test_a_task_that_clearly_failed_is_failed_with_kakaos_words(case: str) -> None:
    body, detail = FAILED[case]
    read = read_task_result(body, TASK, USER)
    assert (read.outcome, read.detail) == (Outcome.FAILED, detail)


@pytest.mark.parametrize("case", list(PENDING))
def test_a_task_without_a_final_count_is_not_finished(case: str) -> None:
    assert read_task_result(PENDING[case], TASK, USER).outcome is Outcome.PENDING


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_answer_of_another_shape_is_unreadable_never_failed(case: str) -> None:
    read = read_task_result(UNREADABLE[case], TASK, USER)
    assert read.outcome is Outcome.UNREADABLE
    assert read.detail


def test_kakaos_words_are_cut_short_and_never_name_the_user() -> None:
    body = result(
        status="FAIL",
        successCount=0,
        fail={"count": 1, "list": [{"user": USER, "reason": "x" * 500}]},
    )
    read = read_task_result(body, TASK, USER)
    assert read.outcome is Outcome.FAILED
    assert len(read.detail) == 200
    assert USER not in read.detail
