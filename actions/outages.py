"""Outages: "is there an outage in my area?", answered by district."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import BackendUnavailable
from actions.dependencies import UsesDependencies
from actions.districts import find_district
from actions.formatting import ENGLISH, format_time
from actions.time_zone import local_time

SERVICE_NAMES = {
    "mobile": ("휴대폰", "mobile"),
    "internet": ("인터넷", "internet"),
    "iptv": ("IPTV", "IPTV"),
}


class ValidateOutageForm(FormValidationAction):
    def name(self) -> str:
        return "validate_outage_form"

    async def validate_district(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        district = find_district(str(slot_value))
        if district is None:
            dispatcher.utter_message(response="utter_unknown_district")
        return {"district": district}


class ActionCheckOutage(UsesDependencies, Action):
    def name(self) -> str:
        return "action_check_outage"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        language = str(tracker.get_slot("language") or "ko")
        district = find_district(str(tracker.get_slot("district") or ""))
        if district is None:
            dispatcher.utter_message(response="utter_unknown_district")
            return []
        try:
            outages = await self.dependencies.backend.active_outages(district)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not outages:
            dispatcher.utter_message(response="utter_no_outage", district=district)
            return []
        zone = self.dependencies.time_zone
        for outage in outages:
            korean, english = SERVICE_NAMES.get(outage.service, (outage.service,) * 2)
            details = {
                "district": district,
                "service": english if language == ENGLISH else korean,
                "cause": outage.cause_en if language == ENGLISH else outage.cause_ko,
                "since": format_time(local_time(outage.started_at, zone), language),
            }
            if outage.expected_end is not None:
                dispatcher.utter_message(
                    response="utter_outage",
                    expected_end=format_time(
                        local_time(outage.expected_end, zone), language
                    ),
                    **details,
                )
            else:
                dispatcher.utter_message(response="utter_outage_no_estimate", **details)
        return []
