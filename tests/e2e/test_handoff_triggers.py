"""Handoff triggers that only show with the real processes: a complex request in the
middle of a form, and a customer the bot keeps failing to understand."""

from __future__ import annotations

import pytest

from tests.e2e.participants import Agent, Customer
from tests.e2e.stack import Stack, rasa_tracker

pytestmark = pytest.mark.e2e


async def claim_and_close(agent: Agent, handoff_id: int) -> None:
    """Leaves the shared stack's queue as it was for the tests after this one."""
    status, claimed = await agent.call("POST", f"/api/handoffs/{handoff_id}/claim")
    assert (status, claimed["status"]) == (200, "assigned")
    status, closed = await agent.call("POST", f"/api/handoffs/{handoff_id}/close")
    assert (status, closed["status"]) == (200, "resolved")


async def test_a_compensation_request_ends_the_outage_form_and_hands_off(
    stack: Stack,
) -> None:
    customer, agent = (
        Customer(stack.rasa_url, stack.handoff_url),
        Agent(stack.handoff_url),
    )
    try:
        await agent.login("joon", stack.agent_password)
        await customer.connect()

        await customer.say("is there an internet outage in my area?")
        await customer.reply_containing("district")
        assert rasa_tracker(stack, customer.session_id)["active_loop"]["name"] == (
            "outage_form"
        )
        await customer.say(
            "I was offline the whole day yesterday, I want compensation for that"
        )
        await customer.reply_containing("in the queue")

        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation
        assert (handoff["trigger"], handoff["reason"], handoff["skill"]) == (
            "complex_topic",
            "discount_request",
            "retention",
        )
        tracker = rasa_tracker(stack, customer.session_id)
        assert tracker["paused"] is True
        assert not tracker["active_loop"]
        await claim_and_close(agent, handoff["id"])
    finally:
        await customer.close()
        await agent.close()


async def test_two_misunderstandings_then_yes_reach_a_person(stack: Stack) -> None:
    customer, agent = (
        Customer(stack.rasa_url, stack.handoff_url),
        Agent(stack.handoff_url),
    )
    try:
        await agent.login("mina", stack.agent_password)
        await customer.connect()

        # Gibberish the NLU cannot place, then a "yes" to no question: two
        # misunderstandings of the two kinds, in a row.
        await customer.say("ㅁㄴㅇㄹ ㅋㅌㅊㅍ")
        await customer.reply_containing("이해하지 못했어요")
        await customer.say("네")
        await customer.reply_containing("상담원을 연결해 드릴까요")
        await customer.say("네")
        await customer.reply_containing("대기 순서")

        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation
        assert (handoff["trigger"], handoff["reason"]) == (
            "repeated_failure",
            "bot_not_understanding",
        )
        await claim_and_close(agent, handoff["id"])
    finally:
        await customer.close()
        await agent.close()
