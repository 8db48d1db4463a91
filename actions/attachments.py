"""A photo or a file the customer shares while the bot is in charge.

The channels store the file with the handoff service and send the bot
``/share_attachment{"attachment_kind":"image"|"document"}``
(bot/message_attachments.py). The bot cannot read a photo of a bill or a router's
lights, a person can: it offers one (yes: ``action_handoff`` with the reason
``attachment``, actions/handoff_decision.py).
Several files in a row are one offer: while it stands, the next files are taken
without a word. A file in the middle of a form changes the subject: the form ends,
so the customer's yes or no answers the offer, not the form's question. While an
agent has the conversation the bot is paused and the file only reaches the agent.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import end_active_form
from actions.handoff_context import current_session_events
from actions.handoff_decision import ATTACHMENT_OFFER


def offer_standing(tracker: Tracker) -> bool:
    """True when the bot's latest message of the session offered a person for a
    shared file, and nothing since."""
    for event in reversed(current_session_events(tracker)):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == ATTACHMENT_OFFER
    return False


class ActionOfferAttachmentHelp(Action):
    """Offers a person to look at the file the customer shared."""

    def name(self) -> str:
        return "action_offer_attachment_help"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        if not offer_standing(tracker):
            dispatcher.utter_message(response=ATTACHMENT_OFFER)
        return end_active_form(tracker)
