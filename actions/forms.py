"""Leaving a form halfway: the customer says "cancel" and the answers are dropped."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.signup import SIGNUP_SLOTS

# What each form collected, dropped on cancel. A verified identity is kept: it
# belongs to the session, not to the form.
FORM_SLOTS = {
    "verification_form": ["phone_number", "otp_code", "otp_sent_to"],
    "autopay_date_form": ["autopay_day", "autopay_confirmed", "otp_code"],
    "signup_form": SIGNUP_SLOTS,
    "outage_form": ["district"],
}


class ActionCancelForm(Action):
    def name(self) -> str:
        return "action_cancel_form"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        form = tracker.active_loop_name
        dispatcher.utter_message(response="utter_cancelled")
        if form is None:
            return []
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *(SlotSet(slot, None) for slot in FORM_SLOTS.get(form, [])),
        ]
