"""Out of business hours: a callback or a ticket instead of a queue nobody works.

``action_handoff`` finds the agents gone and calls ``offer_offline_contact``: the bot
says when people are back and opens ``offline_contact_form``, which asks for a
callback (number and preferred time) or a ticket (the customer's issue), confirms, and
``action_submit_offline_contact`` stores it with the handoff service as an offline
handoff, worked from the offline worklist when the agents are back.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.business_hours import (
    BusinessHoursError,
    HoursStatus,
    describe_next_open,
    load_business_hours,
)
from actions.dependencies import UsesDependencies
from actions.handoff_client import HandoffLimited, HandoffUnavailable
from actions.handoff_context import current_session_events, handoff_context
from actions.phone_numbers import normalize_mobile_number
from actions.service_contract import MODES, field

logger = logging.getLogger(__name__)

FORM = "offline_contact_form"
CHOICE = "offline_contact_choice"
CALLBACK_NUMBER = "callback_number"
CALLBACK_TIME = "callback_time"
TICKET_DESCRIPTION = "ticket_description"
CONFIRMED = "offline_contact_confirmed"
PENDING_REASON = "pending_handoff_reason"
PENDING_ROUTING = "pending_handoff_routing"

CALLBACK, TICKET = MODES.CALLBACK, MODES.TICKET
DETAIL_SLOTS = {
    CALLBACK: (CALLBACK_NUMBER, CALLBACK_TIME),
    TICKET: (TICKET_DESCRIPTION,),
}
FORM_SLOTS = (CHOICE, CALLBACK_NUMBER, CALLBACK_TIME, TICKET_DESCRIPTION, CONFIRMED)
ROUTING_FIELDS = ("trigger", "skill", "priority")
# A form reached some other way than through action_handoff was still a request for
# a person.
DEFAULT_REASON = "human_requested"

MAX_CALLBACK_TIME_CHARS: int = field(
    "HandoffContextFields", "callback", "preferred_time"
)["maxLength"]
# The bot's own limit, within the service's (tests/bot/test_service_contract.py sends
# a ticket this long).
MAX_DESCRIPTION_CHARS = 1000
# Shorter messages ("네", "ok") say nothing a ticket could carry.
MIN_PREFILL_CHARS = 5
# Messages with these intents say nothing about the customer's problem, so they never
# become a ticket's description.
NON_DESCRIPTIVE_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform_phone",
        "rate_service",
        "request_human",
        "nlu_fallback",
        "choose_callback",
        "choose_ticket",
        "cancel_offline_contact",
    }
)

# rasa-sdk stops the action server with exit code 1 when importing an actions module
# raises ImportError: a broken business_hours.yml is reported once, at start, with
# the line and field at fault, rather than to the first customer out of hours.
try:
    load_business_hours()
except BusinessHoursError as error:
    raise ImportError(f"Invalid business hours: {error}") from error


def reset_form_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def offer_offline_contact(
    dispatcher: CollectingDispatcher,
    status: HoursStatus,
    language: str,
    reason: str,
    **routing: str,
) -> list[EventType]:
    """Says when agents are back and opens the callback-or-ticket form.

    ``reason`` and ``routing`` (``trigger``, ``skill``, ``priority``) are kept for the
    offline handoff the form ends in. The events activate the form directly, so the
    form asks its first question right after ``action_handoff``.
    """
    unknown = set(routing) - set(ROUTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown routing fields: {sorted(unknown)}")
    dispatcher.utter_message(
        response="utter_handoff_closed_hours",
        next_open=describe_next_open(status, language),
    )
    return [
        *reset_form_slots(),
        SlotSet(PENDING_REASON, reason),
        SlotSet(PENDING_ROUTING, dict(routing) or None),
        ActiveLoop(FORM),
    ]


def describing_message(tracker: Tracker) -> str | None:
    """The customer's latest message of this session that could describe their issue."""
    for event in reversed(current_session_events(tracker)):
        if event.get("event") != "user":
            continue
        text = str(event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if (
            intent in NON_DESCRIPTIVE_INTENTS
            or text.startswith("/")
            or not MIN_PREFILL_CHARS <= len(text) <= MAX_DESCRIPTION_CHARS
        ):
            continue
        return text
    return None


def bounded_text(
    slot: str,
    value: Any,
    limit: int,
    dispatcher: CollectingDispatcher,
    invalid_response: str,
) -> dict[str, Any]:
    """A free-text answer, stripped, between 1 and ``limit`` characters."""
    if value is None:
        return {slot: None}
    text = str(value).strip()
    if not text or len(text) > limit:
        dispatcher.utter_message(response=invalid_response)
        return {slot: None}
    return {slot: text}


class ValidateOfflineContactForm(FormValidationAction):
    def name(self) -> str:
        return "validate_offline_contact_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        details = DETAIL_SLOTS.get(tracker.slots.get(CHOICE) or "", ())
        return [CHOICE, *details, CONFIRMED]

    async def validate_offline_contact_choice(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value not in DETAIL_SLOTS:
            return {CHOICE: None}
        slots: dict[str, Any] = {CHOICE: slot_value}
        if slot_value == TICKET and not tracker.get_slot(TICKET_DESCRIPTION):
            # The confirmation shows the prefilled text; the customer can change it.
            slots[TICKET_DESCRIPTION] = describing_message(tracker)
        return slots

    async def validate_callback_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:
            return {CALLBACK_NUMBER: None}
        # The entity ruler finds a number inside a sentence ("010-1234-5678이에요").
        candidates = [
            str(entity.get("value"))
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == "phone_number"
        ]
        candidates.append(str(slot_value))
        for candidate in candidates:
            number = normalize_mobile_number(candidate)
            if number is not None:
                return {CALLBACK_NUMBER: number}
        dispatcher.utter_message(response="utter_invalid_callback_number")
        return {CALLBACK_NUMBER: None}

    async def validate_callback_time(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return bounded_text(
            CALLBACK_TIME,
            slot_value,
            MAX_CALLBACK_TIME_CHARS,
            dispatcher,
            "utter_invalid_callback_time",
        )

    async def validate_ticket_description(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return bounded_text(
            TICKET_DESCRIPTION,
            slot_value,
            MAX_DESCRIPTION_CHARS,
            dispatcher,
            "utter_invalid_ticket_description",
        )

    async def validate_offline_contact_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is True:
            return {CONFIRMED: True}
        if slot_value is None:
            return {CONFIRMED: None}
        # "No" to "shall I send it?" means the details are wrong: ask for them again.
        dispatcher.utter_message(response="utter_offline_contact_change")
        details = DETAIL_SLOTS.get(tracker.get_slot(CHOICE) or "", ())
        return {CONFIRMED: None, **dict.fromkeys(details)}


def offline_handoff_request(tracker: Tracker) -> dict[str, Any] | None:
    """The body of the offline handoff, or None when the form is not complete."""
    choice = tracker.get_slot(CHOICE)
    if choice not in DETAIL_SLOTS or tracker.get_slot(CONFIRMED) is not True:
        return None
    details = {slot: tracker.get_slot(slot) for slot in DETAIL_SLOTS[choice]}
    if any(not value for value in details.values()):
        return None
    context = handoff_context(
        tracker, tracker.get_slot(PENDING_REASON) or DEFAULT_REASON
    )
    routing = tracker.get_slot(PENDING_ROUTING)
    if isinstance(routing, dict):
        context.update(
            {key: value for key, value in routing.items() if key in ROUTING_FIELDS}
        )
    context["mode"] = choice
    if choice == CALLBACK:
        context["callback"] = {
            "phone_number": details[CALLBACK_NUMBER],
            "preferred_time": details[CALLBACK_TIME],
        }
    else:
        context["ticket"] = {"description": details[TICKET_DESCRIPTION]}
    return context


def finished_events() -> list[EventType]:
    """Forgets the form and the pending handoff, whatever became of them."""
    return [
        *reset_form_slots(),
        SlotSet(PENDING_REASON, None),
        SlotSet(PENDING_ROUTING, None),
    ]


class ActionSubmitOfflineContact(UsesDependencies, Action):
    """Stores the confirmed callback or ticket as an offline handoff."""

    def name(self) -> str:
        return "action_submit_offline_contact"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        request = offline_handoff_request(tracker)
        if request is None:
            logger.error("Offline contact is incomplete")
            dispatcher.utter_message(response="utter_offline_contact_unavailable")
            return finished_events()
        try:
            created = await self.dependencies.handoff_client.request_handoff(request)
        except HandoffLimited as error:
            logger.warning("Offline contact refused: %s", error)
            dispatcher.utter_message(response="utter_handoff_limited")
            return finished_events()
        except HandoffUnavailable as error:
            logger.error("Offline contact failed: %s", error)
            dispatcher.utter_message(response="utter_offline_contact_unavailable")
            return finished_events()
        if request["mode"] == CALLBACK:
            dispatcher.utter_message(
                response="utter_offline_callback_booked",
                reference=str(created.handoff_id),
                callback_number=request["callback"]["phone_number"],
                callback_time=request["callback"]["preferred_time"],
            )
        else:
            dispatcher.utter_message(
                response="utter_offline_ticket_created",
                reference=str(created.handoff_id),
            )
        return finished_events()


class ActionCancelOfflineContact(Action):
    """The customer wants neither a callback nor a ticket after all."""

    def name(self) -> str:
        return "action_cancel_offline_contact"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_offline_contact_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *finished_events()]
