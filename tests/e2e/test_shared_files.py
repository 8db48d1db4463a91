"""A web chat customer shares a photo, through the real Rasa server, action server
and handoff service: in the middle of a form the bot drops the form and offers a
person, yes hands off with the reason ``attachment``, and the agent's transcript
names the photo. The message is sent as the chat page sends it after uploading the
file (tests/e2e/test_browser_chat_attachments.py drives the page itself)."""

from __future__ import annotations

import pytest

from tests.e2e.participants import Agent, Customer
from tests.e2e.stack import Stack, rasa_tracker

pytestmark = pytest.mark.e2e

SHARED_PHOTO = {
    "tandem_attachment": {
        "id": "Yp3v1bN6QmJr0c9xW2kT8sLd",
        "media_type": "image/jpeg",
        "filename": "router-lights.jpg",
        "size_bytes": 48213,
        "url": "/files/Yp3v1bN6QmJr0c9xW2kT8sLd?expires=1900000000&signature=x",
    }
}


async def test_a_photo_in_the_outage_form_is_offered_a_person_who_gets_it(
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
        await customer.say('/share_attachment{"attachment_kind":"image"}', SHARED_PHOTO)
        await customer.reply_containing("Thanks for the photo")
        assert not rasa_tracker(stack, customer.session_id)["active_loop"]
        # A second photo while the offer stands: nothing more is said.
        await customer.say('/share_attachment{"attachment_kind":"image"}', SHARED_PHOTO)
        await customer.assert_silence(3)

        await customer.say("yes please")
        await customer.reply_containing("in the queue")
        created = await agent.frame("handoff.created")
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation
        assert (handoff["trigger"], handoff["reason"]) == (
            "explicit_request",
            "attachment",
        )
        said = [
            turn["text"]
            for turn in handoff["context"]["transcript"]
            if turn["role"] == "user"
        ]
        assert said[-3:] == [
            "[photo: router-lights.jpg]",
            "[photo: router-lights.jpg]",
            "yes please",
        ]
        status, _ = await agent.call("POST", f"/api/handoffs/{handoff['id']}/claim")
        assert status == 200
        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
    finally:
        await customer.close()
        await agent.close()
