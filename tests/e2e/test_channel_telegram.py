"""A Telegram customer, through the real Rasa server, action server and handoff
service, with Telegram's API played by its stand-in: verification and the bill, a
handoff, the agent's replies (one the customer's block stops), the close, the
greeting back and the rating."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.messaging_customers import TelegramCustomer
from tests.e2e.participants import Agent, code_from_outbox, outbox_lines
from tests.e2e.stack import Stack, rasa_tracker
from tests.standins.telegram_api import post_update, text_update

pytestmark = pytest.mark.e2e

PHONE = "010-1234-5678"


async def test_a_telegram_customer_is_served_by_the_bot_and_an_agent(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    outbox = stack.var_dir / "dev_outbox.log"
    customer = TelegramCustomer(stack, chat_id=7100001)
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("mina", stack.agent_password)
        # Other tests share the stack: the numbers are compared with these.
        before = await telegram_numbers(stack)

        await customer.say("/start")
        await customer.reply_containing("챗봇 탠덤입니다")

        await customer.say("이번 달 요금 얼마예요?")
        await customer.reply_containing("휴대폰 번호")
        sent_before = len(outbox_lines(outbox))
        await customer.say(PHONE)
        await customer.reply_containing("인증번호를 보냈어요")
        await customer.say(await code_from_outbox(outbox, sent_before))
        await customer.reply_containing("본인 확인이 완료")
        await customer.reply_containing("청구 금액은")

        await customer.say("상담원 연결해 주세요")
        await customer.reply_containing("대기 순서는")
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert (handoff["channel"], handoff["language"]) == ("telegram", "ko")
        assert handoff["context"]["verified_identity"] is not None
        status, claimed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/claim"
        )
        assert (status, claimed["status"]) == (200, "assigned")

        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "안녕하세요, 상담원 민아입니다."},
        )
        assert (status, sent["delivery"]) == (201, "delivered")
        assert await customer.reply_containing("상담원 민아입니다") == (
            "Mina Kim: 안녕하세요, 상담원 민아입니다."
        )

        await customer.say("이번 달 요금이 두 번 청구된 것 같아요")
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        assert relayed["message"]["text"] == "이번 달 요금이 두 번 청구된 것 같아요"
        assert rasa_tracker(stack, customer.sender_id)["paused"] is True

        # The customer blocks the bot: Telegram refuses, the agent is told why.
        await customer.block_bot()
        status, problem = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "확인해 보겠습니다."},
        )
        assert status == 502
        assert (problem["error"], problem["channel"], problem["reason"]) == (
            "delivery_failed",
            "telegram",
            "blocked",
        )
        assert problem["permanent"] is True
        await customer.block_bot(False)

        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
        await customer.reply_containing("다시 챗봇이 도와드릴게요")
        await customer.say("5점이요")
        await customer.reply_containing("남기고 싶은 말씀")

        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        replies = [m for m in detail["messages"] if m["role"] == "agent"]
        assert [(m["delivery"], m["delivery_failure"]) for m in replies] == [
            ("delivered", None),
            ("failed", {"reason": "blocked", "permanent": True}),
        ]
        after = await telegram_numbers(stack)
        assert after["handoffs"] == before["handoffs"] + 1
        assert after["csat_agent_count"] == before["csat_agent_count"] + 1
        assert (
            after["delivery_failures_by_reason"]["blocked"]
            == before["delivery_failures_by_reason"]["blocked"] + 1
        )
    finally:
        await agent.close()


async def telegram_numbers(stack: Stack) -> dict[str, Any]:
    """Today's numbers of the Telegram channel, as a supervisor sees them."""
    supervisor = Agent(stack.handoff_url)
    try:
        await supervisor.login("sora", stack.agent_password)
        status, report = await supervisor.call("GET", "/api/metrics")
    finally:
        await supervisor.close()
    assert status == 200
    [telegram] = [row for row in report["channels"] if row["channel"] == "telegram"]
    return dict(telegram)


async def test_telegram_webhooks_without_the_secret_or_sent_twice_change_nothing(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    assert stack.platforms is not None
    customer = TelegramCustomer(stack, chat_id=7100002, language_code="en")
    webhook = f"{stack.rasa_url}/webhooks/telegram/webhook"
    update = text_update(990001, customer.chat_id, "hello there", language_code="en")

    assert (await post_update(webhook, update, None))[0] == 401
    assert (await post_update(webhook, update, "not-the-secret"))[0] == 403
    first = await post_update(webhook, update, stack.platforms.telegram_secret)
    again = await post_update(webhook, update, stack.platforms.telegram_secret)
    edited = await post_update(
        webhook,
        {"update_id": 990002, "edited_message": update["message"]},
        stack.platforms.telegram_secret,
    )

    assert (first[0], again, edited) == (
        200,
        (200, {"status": "duplicate"}),
        (200, {"status": "ignored"}),
    )
    await customer.reply_containing("I'm Tandem")
    events = rasa_tracker(stack, customer.sender_id)["events"]
    assert isinstance(events, list)
    said = [event["text"] for event in events if event["event"] == "user"]
    assert said == ["hello there"]
