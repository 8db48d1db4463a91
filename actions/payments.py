"""Payments: whether the bill is paid, how the customer pays, and moving the
automatic payment to another day of the month."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import (
    BackendUnavailable,
    Customer,
    CustomerBackend,
    PaymentAccount,
)
from actions.dates import parse_day_of_month
from actions.dependencies import UsesDependencies
from actions.formatting import (
    ENGLISH,
    format_date,
    format_day_of_month,
    format_month,
    format_won,
)
from actions.verification import (
    VerificationSlots,
    handoff_after_failed_verification,
    verification_failed,
    verified_customer_id,
    verified_since,
)

AUTOPAY_SLOTS = ["autopay_day", "autopay_confirmed"]
FIRST_AUTOPAY_DAY, LAST_AUTOPAY_DAY = 1, 28
METHOD_NAMES = {
    "card": ("카드 자동이체", "automatic card payment"),
    "bank_transfer": ("계좌 자동이체", "automatic bank transfer"),
    "giro": ("지로 납부", "giro (paper bill)"),
}


def describe_method(account: PaymentAccount, language: str) -> str:
    korean, english = METHOD_NAMES.get(account.method, (account.method,) * 2)
    return f"{english if language == ENGLISH else korean} ({account.detail})"


async def answer_payment_status(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    backend: CustomerBackend,
    customer: Customer,
) -> list[EventType]:
    language = str(tracker.get_slot("language") or "ko")
    bill = await backend.current_bill(customer.id)
    account = await backend.payment_account(customer.id)
    if bill is None:
        dispatcher.utter_message(response="utter_no_bill")
    else:
        response = "utter_bill_paid" if bill.paid else "utter_bill_unpaid"
        dispatcher.utter_message(
            response=response,
            period=format_month(bill.period, language),
            amount=format_won(bill.amount_won, language),
            due_date=format_date(bill.due_date, language),
        )
    if account is None or account.autopay_day is None:
        dispatcher.utter_message(response="utter_no_autopay")
    else:
        dispatcher.utter_message(
            response="utter_autopay_info",
            method=describe_method(account, language),
            autopay_day=format_day_of_month(account.autopay_day, language),
        )
    return []


class ValidateAutopayDateForm(VerificationSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_autopay_date_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if (
            verification_failed(tracker)
            or tracker.get_slot("autopay_confirmed") is False
        ):
            return []
        required = [*self.verification_slots(tracker), *AUTOPAY_SLOTS]
        if tracker.get_slot("autopay_confirmed") and not verified_since(
            tracker, "autopay_confirmed"
        ):
            # A change to the account needs a code of its own, however recently
            # the customer verified: whoever has the open chat may not be them.
            required.append("otp_code")
        return required

    async def validate_autopay_day(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        customer_id = verified_customer_id(tracker, self.dependencies.verification_idle)
        if customer_id is None:
            return {"autopay_day": None}
        try:
            account = await self.dependencies.backend.payment_account(customer_id)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"autopay_day": None}
        if account is None or account.autopay_day is None:
            dispatcher.utter_message(response="utter_no_autopay")
            return {"autopay_day": None, "autopay_confirmed": False}
        day = parse_day_of_month(str(slot_value))
        if day is None or not FIRST_AUTOPAY_DAY <= day <= LAST_AUTOPAY_DAY:
            dispatcher.utter_message(response="utter_invalid_autopay_day")
            return {"autopay_day": None}
        return {"autopay_day": str(day)}


class ActionChangeAutopayDay(UsesDependencies, Action):
    def name(self) -> str:
        return "action_change_autopay_day"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        if verification_failed(tracker):
            return handoff_after_failed_verification(dispatcher, tracker)
        reset = [SlotSet("autopay_day", None), SlotSet("autopay_confirmed", None)]
        customer_id = verified_customer_id(tracker, self.dependencies.verification_idle)
        day = tracker.get_slot("autopay_day")
        if customer_id is None:
            dispatcher.utter_message(response="utter_verification_required")
            return reset
        if day is None:
            # The customer has no automatic payment; the form already said so.
            return reset
        if tracker.get_slot("autopay_confirmed") is not True:
            dispatcher.utter_message(response="utter_autopay_unchanged")
            return reset
        if not verified_since(tracker, "autopay_confirmed"):
            dispatcher.utter_message(response="utter_verification_required")
            return reset
        language = str(tracker.get_slot("language") or "ko")
        try:
            account = await self.dependencies.backend.change_autopay_day(
                customer_id, int(day)
            )
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return reset
        except ValueError:
            dispatcher.utter_message(response="utter_no_autopay")
            return reset
        dispatcher.utter_message(
            response="utter_autopay_changed",
            autopay_day=format_day_of_month(int(account.autopay_day or 0), language),
            method=describe_method(account, language),
        )
        return reset
