"""Sign-up: a new mobile line or home internet, ordered in the chat.

``signup_form`` collects the plan, name, contact number, address and preferred
installation date, validating each; shows a summary to confirm; then stores the
order in the back end and gives the customer its number. A customer can change an
answer (``change_signup_field``) or cancel (``cancel``) at any point.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.addresses import is_plausible_address
from actions.backend import BackendUnavailable, OrderRequest
from actions.dates import parse_date
from actions.dependencies import UsesDependencies
from actions.formatting import ENGLISH, format_date
from actions.phone_numbers import find_mobile_number
from actions.plan_names import find_plan_name

SIGNUP_SLOTS = [
    "signup_plan",
    "signup_name",
    "signup_contact",
    "signup_address",
    "signup_install_date",
    "signup_confirmed",
]
# How far ahead an installation can be booked.
MAX_DAYS_AHEAD = 60
MAX_NAME_LENGTH = 50
_NAME = re.compile(r"^[가-힣A-Za-z][가-힣A-Za-z .'\-]*$")
# Which answer a correction is about, by the words customers use for it.
FIELD_WORDS = [
    ("signup_install_date", ("설치", "날짜", "일정", "date", "day", "install")),
    ("signup_address", ("주소", "address")),
    ("signup_contact", ("연락처", "전화", "번호", "contact", "phone", "number")),
    ("signup_name", ("이름", "성함", "name")),
    ("signup_plan", ("요금제", "상품", "plan")),
]


def field_named_in(text: str) -> str | None:
    lowered = text.lower()
    for slot, words in FIELD_WORDS:
        if any(word in lowered for word in words):
            return slot
    return None


def language_of(tracker: Tracker) -> str:
    return str(tracker.get_slot("language") or "ko")


class ValidateSignupForm(UsesDependencies, FormValidationAction):
    def name(self) -> str:
        return "validate_signup_form"

    async def validate_signup_plan(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        plan_name = find_plan_name(str(slot_value))
        try:
            catalogue = await self.dependencies.backend.plans()
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"signup_plan": None}
        names = [plan.name for plan in catalogue]
        if plan_name not in names:
            dispatcher.utter_message(
                response="utter_unknown_plan_choice", plans=", ".join(names)
            )
            return {"signup_plan": None}
        return {"signup_plan": plan_name}

    async def validate_signup_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        name = " ".join(str(slot_value).split())
        if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
            dispatcher.utter_message(response="utter_invalid_name")
            return {"signup_name": None}
        return {"signup_name": name}

    async def validate_signup_contact(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        phone_number = find_mobile_number(str(slot_value))
        if phone_number is None:
            dispatcher.utter_message(
                response="utter_invalid_phone_number", phone_number=slot_value
            )
            return {"signup_contact": None}
        return {"signup_contact": phone_number}

    async def validate_signup_address(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        address = " ".join(str(slot_value).split())
        if not is_plausible_address(address):
            dispatcher.utter_message(response="utter_invalid_address")
            return {"signup_address": None}
        return {"signup_address": address}

    async def validate_signup_install_date(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        now = self.dependencies.clock().date()
        day = parse_date(str(slot_value), now)
        if day is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"signup_install_date": None}
        if day <= now:
            dispatcher.utter_message(response="utter_date_not_in_future")
            return {"signup_install_date": None}
        if day > now + dt.timedelta(days=MAX_DAYS_AHEAD):
            dispatcher.utter_message(response="utter_date_too_far", days=MAX_DAYS_AHEAD)
            return {"signup_install_date": None}
        return {"signup_install_date": day.isoformat()}

    async def validate_signup_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is True:
            return {"signup_confirmed": True}
        dispatcher.utter_message(response="utter_signup_what_to_change")
        return {"signup_confirmed": None}


class ActionAskSignupConfirmed(UsesDependencies, Action):
    """Shows the order to confirm, with the date written the customer's way."""

    def name(self) -> str:
        return "action_ask_signup_confirmed"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        if (tracker.latest_message.get("intent") or {}).get("name") == "deny":
            # The validator has just asked what to change.
            return []
        language = language_of(tracker)
        install_date = dt.date.fromisoformat(
            str(tracker.get_slot("signup_install_date"))
        )
        plan_name = str(tracker.get_slot("signup_plan"))
        try:
            catalogue = {
                plan.name: plan for plan in await self.dependencies.backend.plans()
            }
        except BackendUnavailable:
            catalogue = {}
        plan = catalogue.get(plan_name)
        dispatcher.utter_message(
            response="utter_ask_signup_confirmed",
            plan=plan.name_en if plan and language == ENGLISH else plan_name,
            install_date=format_date(install_date, language),
        )
        return []


class ActionSubmitSignup(UsesDependencies, Action):
    def name(self) -> str:
        return "action_submit_signup"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in SIGNUP_SLOTS]
        language = language_of(tracker)
        if tracker.get_slot("signup_confirmed") is not True:
            return reset
        try:
            request = OrderRequest(
                plan_name=str(tracker.get_slot("signup_plan")),
                name=str(tracker.get_slot("signup_name")),
                contact_phone=str(tracker.get_slot("signup_contact")),
                address=str(tracker.get_slot("signup_address")),
                install_date=dt.date.fromisoformat(
                    str(tracker.get_slot("signup_install_date"))
                ),
                language=ENGLISH if language == ENGLISH else "ko",
            )
        except ValueError:
            dispatcher.utter_message(response="utter_signup_incomplete")
            return reset
        try:
            order = await self.dependencies.backend.create_order(request)
        except (BackendUnavailable, ValueError):
            dispatcher.utter_message(response="utter_backend_unavailable")
            return reset
        dispatcher.utter_message(
            response="utter_signup_done",
            order_number=order.order_number,
            install_date=format_date(order.install_date, language),
        )
        return reset


class ActionResetSignupField(Action):
    """The customer wants to change an answer: clear it so the form asks again."""

    def name(self) -> str:
        return "action_reset_signup_field"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        slot = field_named_in(tracker.latest_message.get("text") or "")
        if slot is None:
            dispatcher.utter_message(response="utter_signup_what_to_change")
            return [SlotSet("signup_confirmed", None)]
        return [
            SlotSet(slot, None),
            SlotSet("signup_confirmed", None),
            SlotSet("requested_slot", slot),
        ]
