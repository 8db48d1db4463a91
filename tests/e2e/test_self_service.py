"""Self-service over socket.io with all processes real: the customer proves who they
are with a one-time code read from the dev outbox, then sees the bill and why it
changed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e.participants import Customer, code_from_outbox, outbox_lines
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

PHONE = "010-1234-5678"


@dataclass(frozen=True)
class Script:
    ask_bill: str
    asks_phone: str
    code_sent: str
    verified: str
    bill: str
    ask_why: str
    bill_changes: tuple[str, ...]


KOREAN = Script(
    ask_bill="이번 달 요금 얼마예요?",
    asks_phone="휴대폰 번호",
    code_sent="인증번호를 보냈어요",
    verified="본인 확인이 완료",
    bill="청구 금액은",
    ask_why="지난달보다 요금이 왜 이렇게 많이 나왔어요?",
    bill_changes=("많아요", "적어요", "같아요"),
)
ENGLISH = Script(
    ask_bill="how much is my bill this month?",
    asks_phone="mobile number",
    code_sent="sent a 6-digit code",
    verified="you're verified",
    bill="your bill for",
    ask_why="why is my bill higher than last month?",
    bill_changes=("more than", "less than", "the same as"),
)


@pytest.mark.parametrize("script", [KOREAN, ENGLISH], ids=["korean", "english"])
async def test_verification_then_bill_and_line_items(
    stack: Stack, script: Script
) -> None:
    outbox = stack.var_dir / "dev_outbox.log"
    customer = Customer(stack.rasa_url, stack.handoff_url)
    try:
        await customer.connect()
        await customer.say(script.ask_bill)
        await customer.reply_containing(script.asks_phone)

        sent_before = len(outbox_lines(outbox))
        await customer.say(PHONE)
        sent = await customer.reply_containing(script.code_sent)
        assert "010-****-5678" in sent
        code = await code_from_outbox(outbox, sent_before)
        assert outbox_lines(outbox)[sent_before].split("\t")[1] == PHONE

        await customer.say(code)
        await customer.reply_containing(script.verified)
        bill = await customer.reply_containing(script.bill)
        # The bill comes with its line items, one per line.
        assert bill.count("\n· ") >= 1

        # Verified once: the next question is answered without a new code.
        await customer.say(script.ask_why)
        change = await customer.next_reply()
        assert any(word in change for word in script.bill_changes), change
        assert len(outbox_lines(outbox)) == sent_before + 1
    finally:
        await customer.close()


async def test_the_bot_refuses_a_session_id_it_did_not_issue(stack: Stack) -> None:
    intruder = Customer(stack.rasa_url, stack.handoff_url)
    intruder.session_id = uuid.uuid4().hex
    try:
        await intruder.client.connect(
            stack.rasa_url, socketio_path="/socket.io", transports=["websocket"]
        )
        await intruder.client.emit(
            "session_request", {"session_id": intruder.session_id}
        )
        refused = await asyncio.wait_for(intruder.refusals.get(), 10)
        assert refused["reason"] == "session_not_issued"

        await intruder.say("이번 달 요금 얼마예요?")
        refused = await asyncio.wait_for(intruder.refusals.get(), 10)
        assert refused["reason"] == "session_not_issued"
        await intruder.assert_silence(3)
    finally:
        await intruder.close()
