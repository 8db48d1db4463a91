"""Answers that need a verified customer, run once ``verification_form`` is done.

Every account question (bill, plan, payment status …) activates the verification
form; the form finishes at once for a customer already verified in this session.
Then ``action_answer_verified_request`` answers the question that started it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import billing, payments, plans
from actions.backend import BackendUnavailable, Customer, CustomerBackend
from actions.dependencies import Dependencies, UsesDependencies
from actions.verification import (
    handoff_after_failed_verification,
    verification_failed,
    verified_customer_id,
)

AccountAnswer = Callable[
    [CollectingDispatcher, Tracker, CustomerBackend, Customer],
    Awaitable[list[EventType]],
]

ANSWERS: dict[str, AccountAnswer] = {
    "ask_bill": billing.answer_current_bill,
    "ask_bill_history": billing.answer_bill_history,
    "ask_bill_breakdown": billing.answer_bill_change,
    "ask_payment_status": payments.answer_payment_status,
    "ask_my_plan": plans.answer_my_plan,
    "ask_plan_recommendation": plans.answer_plan_recommendation,
}


def pending_request(tracker: Tracker) -> str | None:
    """The latest account question the customer asked in this conversation."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return None
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in ANSWERS:
            return str(intent)
    return None


async def verified_customer(
    dispatcher: CollectingDispatcher, tracker: Tracker, dependencies: Dependencies
) -> Customer | None:
    """The verified customer, or ``None`` after telling the customer why not."""
    customer_id = verified_customer_id(tracker, dependencies.verification_idle)
    if customer_id is None:
        dispatcher.utter_message(response="utter_verification_required")
        return None
    customer = await dependencies.backend.customer(customer_id)
    if customer is None:
        dispatcher.utter_message(response="utter_verification_required")
    return customer


class ActionAnswerVerifiedRequest(UsesDependencies, Action):
    def name(self) -> str:
        return "action_answer_verified_request"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        if verification_failed(tracker):
            return handoff_after_failed_verification(dispatcher, tracker)
        request = pending_request(tracker)
        if request is None:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return []
        backend = self.dependencies.backend
        try:
            customer = await verified_customer(dispatcher, tracker, self.dependencies)
            if customer is None:
                return []
            return await ANSWERS[request](dispatcher, tracker, backend, customer)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
