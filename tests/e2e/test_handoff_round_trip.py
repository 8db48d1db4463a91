"""A customer on socket.io is handed to an agent and back, with all processes real."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.participants import Agent, Customer
from tests.e2e.stack import Stack, rasa_tracker

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Script:
    language: str
    greeting: str
    greeting_reply: str
    ask_for_human: str
    queued_reply: str
    agent_reply: str
    customer_during_handoff: str
    welcome_back: str
    rating: str
    comment_question: str
    comment: str
    comment_thanks: str


KOREAN = Script(
    language="ko",
    greeting="안녕하세요",
    greeting_reply="챗봇 탠덤입니다",
    ask_for_human="상담원 연결해 주세요",
    queued_reply="대기 순서는 1번째",
    agent_reply="안녕하세요, 상담원 민아입니다. 무엇을 도와드릴까요?",
    customer_during_handoff="이번 달 요금이 두 번 청구된 것 같아요",
    welcome_back="다시 챗봇이 도와드릴게요",
    rating="5점이요",
    comment_question="남기고 싶은 말씀",
    comment="상담원분이 빠르게 정리해 주셔서 좋았어요",
    comment_thanks="소중한 의견 감사합니다",
)
ENGLISH = Script(
    language="en",
    greeting="hello there",
    greeting_reply="I'm Tandem",
    ask_for_human="can I talk to a real person",
    queued_reply="number 1 in the queue",
    agent_reply="Hi, this is Mina from customer care. How can I help?",
    customer_during_handoff="I think I was charged twice this month",
    welcome_back="I'm back",
    rating="4",
    comment_question="tell us more",
    comment="Mina sorted out the double charge quickly",
    comment_thanks="your comment goes straight to our team",
)


@pytest.mark.parametrize("script", [KOREAN, ENGLISH], ids=["korean", "english"])
async def test_round_trip(stack: Stack, script: Script) -> None:
    customer, agent = (
        Customer(stack.rasa_url, stack.handoff_url),
        Agent(stack.handoff_url),
    )
    try:
        await agent.login("mina", stack.agent_password)
        await customer.connect()

        await customer.say(script.greeting)
        await customer.reply_containing(script.greeting_reply)

        await customer.say(script.ask_for_human)
        await customer.reply_containing(script.queued_reply)

        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation
        assert handoff["status"] == "queued"
        assert handoff["language"] == script.language
        assert handoff["reason"] == "human_requested"

        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        assert status == 200
        context = detail["context"]
        assert context["channel"] == "socketio"
        assert context["intent"]["name"] == "request_human"
        assert context["transcript"][0]["text"] == script.greeting
        assert context["transcript"][-1]["text"] == script.ask_for_human
        assert any(turn["role"] == "bot" for turn in context["transcript"])

        status, claimed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/claim"
        )
        assert (status, claimed["status"]) == (200, "assigned")

        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": script.agent_reply},
        )
        assert status == 201, sent
        assert await customer.reply_containing(script.agent_reply) == script.agent_reply

        await customer.say(script.customer_during_handoff)
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        assert relayed["message"]["text"] == script.customer_during_handoff
        await customer.assert_silence(3)
        assert rasa_tracker(stack, customer.session_id)["paused"] is True

        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
        await customer.reply_containing(script.welcome_back)
        assert rasa_tracker(stack, customer.session_id)["paused"] is False

        # The first message after the take-over is answered by the bot again: the
        # rating it asked for, then the optional comment.
        await customer.say(script.rating)
        await customer.reply_containing(script.comment_question)
        await customer.say(script.comment)
        await customer.reply_containing(script.comment_thanks)
        await customer.say(script.greeting)
        await customer.reply_containing(script.greeting_reply)

        supervisor = Agent(stack.handoff_url)
        try:
            await supervisor.login("sora", stack.agent_password)
            status, report = await supervisor.call("GET", "/api/metrics")
        finally:
            await supervisor.close()
        assert status == 200
        [rated] = [c for c in report["comments"] if c["handoff_id"] == handoff["id"]]
        assert (rated["score"], rated["comment"]) == (
            int(script.rating[0]),
            script.comment,
        )
        assert rated["agent_display_name"] == "Mina Kim"

        status, final = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        agent_messages = [m for m in final["messages"] if m["role"] == "agent"]
        assert [m["text"] for m in agent_messages] == [script.agent_reply]
        assert agent_messages[0]["delivery"] == "delivered"
    finally:
        await customer.close()
        await agent.close()


async def test_an_angry_korean_customer_reaches_an_agent_with_priority_and_context(
    stack: Stack,
) -> None:
    customer, agent = (
        Customer(stack.rasa_url, stack.handoff_url),
        Agent(stack.handoff_url),
    )
    try:
        await agent.login("joon", stack.agent_password)
        await customer.connect()

        await customer.say("이번 달 요금이 왜 이렇게 많이 나왔어요?")
        await customer.next_reply()
        await customer.say("아 진짜 짜증나 죽겠네 장난해요?? 돈만 받아가고 이게 뭐예요")
        await customer.reply_containing("죄송합니다")
        await customer.reply_containing("대기 순서")

        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation
        assert (handoff["trigger"], handoff["priority"]) == ("emotion", "high")
        assert handoff["reason"] in ("angry_customer", "frustrated_customer")
        assert (handoff["language"], handoff["skill"]) == ("ko", "billing")

        # Everything the bot gathered arrives with the frame itself.
        context = handoff["context"]
        said = [
            turn["text"] for turn in context["transcript"] if turn["role"] == "user"
        ]
        assert said == [
            "이번 달 요금이 왜 이렇게 많이 나왔어요?",
            "아 진짜 짜증나 죽겠네 장난해요?? 돈만 받아가고 이게 뭐예요",
        ]
        assert any(turn["role"] == "bot" for turn in context["transcript"])
        assert context["intent"]["name"]
        history = context["emotion"]["history"]
        assert len(history) == 2
        assert history[-1]["anger"] > history[0]["anger"]
        assert context["emotion"]["scores"]["anger"] >= 0.5
        assert "본인 확인 안 됨" in context["summary"]["ko"]
        assert "Not verified" in context["summary"]["en"]
        assert context["verified_identity"] is None
        assert context["lookups"] == []
        assert context["channel"] == "socketio"
    finally:
        await customer.close()
        await agent.close()
