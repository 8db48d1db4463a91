"""Leaves a stack's queue empty after a test, so that a test which failed halfway
does not change what the next one sees (its place in the queue, the first queued
conversation in the console): a supervisor closes every open handoff."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tests.e2e.stack import Stack

SUPERVISOR = "sora"
# What the service answers when a conversation changed while we closed it: it is
# looked at again on the next pass.
_CHANGED_MEANWHILE = 409
PASSES = 3


def _call(
    stack: Stack, method: str, path: str, token: str = "", body: Any = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{stack.handoff_url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"null")


def close_open_handoffs(stack: Stack) -> list[int]:
    """Close what is queued, assigned or waiting offline; the ids closed."""
    status, signed_in = _call(
        stack,
        "POST",
        "/api/auth/login",
        body={"username": SUPERVISOR, "password": stack.agent_password},
    )
    assert status == 200, signed_in
    token = signed_in["token"]
    closed: list[int] = []
    for _ in range(PASSES):
        status, listed = _call(stack, "GET", "/api/handoffs", token)
        assert status == 200, listed
        status, offline = _call(stack, "GET", "/api/handoffs?status=offline", token)
        assert status == 200, offline
        handoffs = listed["handoffs"] + offline["handoffs"]
        if not handoffs:
            break
        for handoff in handoffs:
            if handoff["assigned_agent_id"] is None:
                status, body = _call(
                    stack,
                    "POST",
                    f"/api/handoffs/{handoff['id']}/claim",
                    token,
                    {"override_capacity": True},
                )
                if status == _CHANGED_MEANWHILE:
                    continue
                assert status == 200, body
            status, body = _call(
                stack,
                "POST",
                f"/api/handoffs/{handoff['id']}/close",
                token,
                {"resolution": "duplicate"},
            )
            if status == _CHANGED_MEANWHILE:
                continue
            assert status == 200, body
            closed.append(handoff["id"])
    _call(stack, "POST", "/api/auth/logout", token)
    return closed
