"""The stack's entry points with all processes real: Rasa's REST channel answers only
its token holders, the Rasa server reaches the action server with its token, and no
secret is on any command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import MODEL
from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rest_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack with bench/credentials.yml, as the benchmarks start it."""
    with running_stack(
        MODEL, tmp_path_factory.mktemp("rest-stack"), rest_channel=True
    ) as running:
        yield running


async def say(
    stack: Stack, sender: str, text: str, headers: dict[str, str]
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=60),
        ) as answer,
    ):
        return answer.status, await answer.json()


def command_lines() -> list[str]:
    lines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = path.read_bytes().split(b"\0")
        except OSError:
            continue  # the process ended meanwhile
        lines.append(" ".join(part.decode(errors="replace") for part in arguments))
    return lines


async def test_the_default_stack_has_no_rest_channel(stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": "anyone", "message": "hello there"},
        ) as answer,
    ):
        assert answer.status == 404


async def test_the_rest_channel_refuses_a_caller_without_the_token(
    rest_stack: Stack,
) -> None:
    assert await say(rest_stack, "someone", "hello there", {}) == (
        401,
        {
            "error": "unauthorized",
            "message": "The bearer token is missing: send 'Authorization: Bearer"
            " <token>' with the token from TANDEM_REST_TOKEN.",
        },
    )
    status, body = await say(
        rest_stack, "someone", "hello there", {"Authorization": "Bearer guess"}
    )
    assert (status, body["error"]) == (401, "unauthorized")


async def test_a_token_holder_reaches_the_bot_and_its_actions(
    rest_stack: Stack,
) -> None:
    headers = {"Authorization": f"Bearer {rest_stack.rest_token}"}
    status, replies = await say(rest_stack, "rest-customer", "hello there", headers)
    assert status == 200
    assert any("I'm Tandem" in reply.get("text", "") for reply in replies)
    # A custom action's answer: Rasa called the action server with its token.
    status, replies = await say(
        rest_stack, "rest-customer", "can I talk to a real person", headers
    )
    assert status == 200
    texts = " ".join(reply.get("text", "") for reply in replies)
    assert "number 1 in the queue" in texts, rest_stack.log_tail()
    assert "Failed to execute custom action" not in rest_stack.log_tail(400)


def test_no_secret_is_on_a_command_line(stack: Stack) -> None:
    lines = command_lines()
    assert any("bot.server" in line for line in lines)
    assert any("actions.server" in line for line in lines)
    assert len(stack.secret_values) == 4
    for secret in stack.secret_values:
        assert not any(secret in line for line in lines)
