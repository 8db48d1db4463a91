"""A WhatsApp customer through Twilio, with the real Rasa server, action server and
handoff service and Twilio's API played by its stand-in: verification and the bill,
a handoff, the agent's replies (one Twilio refuses, one it reports undelivered later),
the close, the greeting back and the rating; and webhooks Twilio did not sign."""

from __future__ import annotations

import pytest

from tests.e2e.messaging_customers import TwilioCustomer
from tests.e2e.participants import Agent, code_from_outbox, outbox_lines
from tests.e2e.stack import Stack, rasa_tracker
from tests.standins.twilio_api import inbound_params, post_webhook

pytestmark = pytest.mark.e2e

PHONE = "010-1234-5678"


async def test_a_whatsapp_customer_is_served_by_the_bot_and_an_agent(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    outbox = stack.var_dir / "dev_outbox.log"
    customer = TwilioCustomer(stack, "+821055500001", whatsapp=True)
    agent = Agent(stack.handoff_url)
    try:
        await agent.login("mina", stack.agent_password)

        await customer.say("hello there")
        await customer.reply_containing("I'm Tandem")

        await customer.say("how much is my bill this month?")
        await customer.reply_containing("mobile number")
        sent_before = len(outbox_lines(outbox))
        await customer.say(PHONE)
        await customer.reply_containing("sent a 6-digit code")
        await customer.say(await code_from_outbox(outbox, sent_before))
        await customer.reply_containing("you're verified")
        await customer.reply_containing("your bill for")

        await customer.say("can I talk to a real person")
        await customer.reply_containing("in the queue")
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert (handoff["channel"], handoff["language"]) == ("whatsapp", "en")
        status, _ = await agent.call("POST", f"/api/handoffs/{handoff['id']}/claim")
        assert status == 200

        status, sent = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "Hi, this is Mina from customer care."},
        )
        assert (status, sent["delivery"]) == (201, "delivered")
        assert await customer.reply_containing("this is Mina") == (
            "Mina Kim: Hi, this is Mina from customer care."
        )

        await customer.say("I think I was charged twice this month")
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        assert relayed["message"]["text"] == "I think I was charged twice this month"
        assert rasa_tracker(stack, customer.sender_id)["paused"] is True

        # Twilio refuses the next one (the customer unsubscribed): the agent sees why.
        await customer.fail_deliveries(21610)
        status, problem = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "Let me check that for you."},
        )
        assert status == 502
        assert (problem["error"], problem["channel"], problem["reason"]) == (
            "delivery_failed",
            "whatsapp",
            "blocked",
        )
        await customer.fail_deliveries(None)

        # Twilio takes this one and reports later that it could not deliver it.
        status, taken = await agent.call(
            "POST",
            f"/api/handoffs/{handoff['id']}/messages",
            {"text": "Are you still there?"},
        )
        assert (status, taken["delivery"]) == (201, "delivered")
        await customer.report_status(
            "Mina Kim: Are you still there?", "undelivered", 30004
        )
        # The console first had it delivered, then gets it again, failed.
        updated = await agent.failed_delivery(handoff["id"], taken["id"])
        assert updated["message"]["delivery_failure"] == {
            "reason": "blocked",
            "permanent": True,
        }

        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
        await customer.reply_containing("I'm back")
        await customer.say("4")
        await customer.reply_containing("tell us more")

        status, detail = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        replies = [m for m in detail["messages"] if m["role"] == "agent"]
        assert [m["delivery"] for m in replies] == ["delivered", "failed", "failed"]
        assert replies[1]["delivery_failure"] == {
            "reason": "blocked",
            "permanent": True,
        }
        assert replies[2]["id"] == taken["id"]
        assert replies[2]["delivery_failure"] == {
            "reason": "blocked",
            "permanent": True,
        }
    finally:
        await agent.close()


async def test_twilio_webhooks_unsigned_or_redelivered_change_nothing(
    channel_stack: Stack,
) -> None:
    stack = channel_stack
    assert stack.platforms is not None
    platforms = stack.platforms
    customer = TwilioCustomer(stack, "+821055500002", whatsapp=False)
    webhook = f"{stack.rasa_url}/webhooks/twilio/webhook"
    params = inbound_params(
        platforms.twilio_account_sid, customer.number, platforms.sms_number, "hello"
    )
    token = platforms.twilio_auth_token

    unsigned = await post_webhook(webhook, params.items(), token, signed="")
    forged = await post_webhook(webhook, params.items(), "not-the-token")
    first = await post_webhook(webhook, params.items(), token)
    again = await post_webhook(webhook, params.items(), token)
    # A video stays at Twilio (photos and PDFs go to the service:
    # tests/bot/test_twilio_attachments.py).
    video = inbound_params(
        platforms.twilio_account_sid,
        customer.number,
        platforms.sms_number,
        "",
        media=[("https://api.twilio.com/media/ME1", "video/mp4")],
    )
    media_only = await post_webhook(webhook, video.items(), token)

    assert [unsigned[0], forged[0], first[0], again[0], media_only[0]] == [
        401,
        403,
        200,
        200,
        200,
    ]
    events = rasa_tracker(stack, customer.sender_id)["events"]
    assert isinstance(events, list)
    said = [event for event in events if event["event"] == "user"]
    assert [event["text"] for event in said] == ["hello", "[동영상]"]
    assert said[1]["metadata"]["media"][0]["url"] == "https://api.twilio.com/media/ME1"
