"""What the result of a Kakao Event API task says about its one customer.

``GET {TANDEM_KAKAO_EVENT_API_URL}/v1/tasks/{taskId}`` answers::

    {"taskId": "...", "status": "...", "allRequestCount": 1, "successCount": 0,
     "fail": {"count": 1, "list": [{"user": {"type": "botUserKey", "id": "..."},
                                    "reason": "..."}]}}

where a listed user may also be the id alone, and the words may be ``reason`` or
``message``. Every task the channel sends names one customer, so the result is read
conservatively: it says the message failed only when the task clearly failed
(``successCount`` 0 with ``fail.count`` at least 1, or a status containing ``FAIL``);
a status without counts, or counts still at 0, is a task not finished yet; anything
else that does not fit (another task's id, several users, a success that also
fails, fields of the wrong type) is unreadable, logged and never reported.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DETAIL_CHARS = 200


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class TaskResult:
    outcome: Outcome
    detail: str = ""
    """Kakao's words for a failure, or what made the answer unreadable."""


class _Unreadable(Exception):
    pass


def read_task_result(body: object, task_id: str, user_id: str) -> TaskResult:
    """What Kakao's answer ``body`` says of task ``task_id``, sent to ``user_id``."""
    try:
        return _read(body, task_id, user_id)
    except _Unreadable as unreadable:
        return TaskResult(Outcome.UNREADABLE, str(unreadable)[:DETAIL_CHARS])


def _read(body: object, task_id: str, user_id: str) -> TaskResult:
    if not isinstance(body, dict):
        raise _Unreadable("the answer is not a JSON object")
    answered_task = body.get("taskId")
    if answered_task is not None and answered_task != task_id:
        raise _Unreadable("the answer is about another task")
    status = body.get("status")
    if status is not None and not isinstance(status, str):
        raise _Unreadable("status is not a string")
    fail = body.get("fail")
    if fail is not None and not isinstance(fail, dict):
        raise _Unreadable("fail is not an object")
    fail = fail or {}
    total = _count(body, "allRequestCount")
    succeeded = _count(body, "successCount")
    failed = _count(fail, "count")
    entries = fail.get("list")
    if entries is not None and not isinstance(entries, list):
        raise _Unreadable("fail.list is not a list")
    entries = entries or []
    if total is not None and total != 1:
        raise _Unreadable(f"a task for {total} users")
    if any(named != user_id for named in _named_users(entries)):
        raise _Unreadable("the failures name another user")
    says_fail = status is not None and "FAIL" in status.upper()
    if succeeded is not None and succeeded >= 1:
        if says_fail or (failed or 0) >= 1:
            raise _Unreadable(f"status {status!r} with a success and a failure")
        return TaskResult(Outcome.DELIVERED)
    if says_fail or (succeeded == 0 and (failed or 0) >= 1):
        return TaskResult(Outcome.FAILED, _failure_detail(status, entries))
    if status is None and succeeded is None:
        raise _Unreadable("neither a status nor counts")
    return TaskResult(Outcome.PENDING, f"status {status!r}")


def _count(mapping: Mapping[str, Any], key: str) -> int | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Unreadable(f"{key} is not a count")
    return value


def _named_users(entries: list[Any]) -> Iterator[str]:
    """The user ids the failure list names, in either of its forms."""
    for entry in entries:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict):
            user = user.get("id")
        if isinstance(user, str):
            yield user


def _failure_detail(status: str | None, entries: list[Any]) -> str:
    words = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        said = entry.get("reason") or entry.get("message")
        if isinstance(said, str) and said.strip():
            words.append(said.strip())
    detail = f"Kakao task {status or 'without a status'}"
    if words:
        detail += ": " + "; ".join(words)
    return detail[:DETAIL_CHARS]
