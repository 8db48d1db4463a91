"""Who the customer is: a phone number, then a one-time code sent to it.

No account data is shown before this succeeds. A verified identity is kept in the
``verified_customer_id`` slot, which lasts for the conversation session only (slots
are not carried over to a new session), and only while the customer keeps talking:
after ``Dependencies.verification_idle`` without a message it no longer counts, so
a chat left open on a shared screen does not stay unlocked. Every form that needs
account data asks for the two verification slots first, through
``VerificationSlots``; a code is good for one verification, so asking again sends a
new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from itertools import pairwise
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backend import (
    BackendUnavailable,
    CodeCheck,
    CodeCheckResult,
    Customer,
)
from actions.backend.demo import CODE_LIFETIME, MAX_CODE_ATTEMPTS
from actions.code_requests import stored_moment
from actions.dependencies import Dependencies, UsesDependencies
from actions.formatting import format_clock, mask_phone_number
from actions.handoff_client import HandoffUnavailable
from actions.phone_numbers import find_mobile_number

logger = logging.getLogger(__name__)

VERIFICATION_SLOTS = ["phone_number", "otp_code"]
# Malformed phone numbers: after this many a person takes over. Numbers on no
# account are not told apart; the code requests' limits cover those.
MAX_PHONE_NUMBER_FAILURES = 3
CODE_LENGTH = 6
CODE_MINUTES = 5
_NOT_DIGITS = re.compile(r"\D")


def verified_customer_id(tracker: Tracker, idle_limit: dt.timedelta) -> int | None:
    value = tracker.get_slot("verified_customer_id")
    if value is None or silent_since_verification(tracker, idle_limit):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def silent_since_verification(tracker: Tracker, idle_limit: dt.timedelta) -> bool:
    """Whether the customer, since verifying last, was ever silent longer than
    ``idle_limit`` (the latest message included, so a return after a pause counts)."""
    moments: list[float] = []
    for event in reversed(tracker.events):
        timestamp = event.get("timestamp")
        is_verification = (
            event.get("event") == "slot" and event.get("name") == "verified_customer_id"
        )
        if isinstance(timestamp, (int, float)) and (
            is_verification or event.get("event") == "user"
        ):
            moments.append(timestamp)
        if is_verification:
            break
    limit = idle_limit.total_seconds()
    return any(later - earlier > limit for later, earlier in pairwise(moments))


def verified_since(tracker: Tracker, slot: str) -> bool:
    """Whether the customer verified with a code after ``slot`` was last set."""
    for event in reversed(tracker.events):
        if event.get("event") != "slot":
            continue
        if event.get("name") == "verified_customer_id":
            return event.get("value") is not None
        if event.get("name") == slot:
            return False
    return False


def verification_failed(tracker: Tracker) -> bool:
    return bool(tracker.get_slot("verification_failed"))


def phone_number_failures(tracker: Tracker) -> int:
    try:
        return int(tracker.get_slot("phone_number_failures") or 0)
    except (TypeError, ValueError):
        return 0


def handoff_after_failed_verification(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """Too many wrong codes, malformed numbers, codes or numbers asked for: a
    person takes over (the handoff reads the slot)."""
    if tracker.get_slot("verification_limited"):
        dispatcher.utter_message(response="utter_verification_limited")
    elif phone_number_failures(tracker) >= MAX_PHONE_NUMBER_FAILURES:
        dispatcher.utter_message(response="utter_phone_number_failed")
    else:
        dispatcher.utter_message(response="utter_verification_failed")
    return [SlotSet("verification_failed", True), FollowupAction("action_handoff")]


def _refuse_phone_number(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    response: str,
    phone_number: str,
) -> dict[str, Any]:
    failures = phone_number_failures(tracker) + 1
    if failures >= MAX_PHONE_NUMBER_FAILURES:
        return {
            "phone_number": None,
            "phone_number_failures": failures,
            "verification_failed": True,
        }
    dispatcher.utter_message(response=response, phone_number=phone_number)
    return {"phone_number": None, "phone_number_failures": failures}


class VerificationSlots(UsesDependencies):
    """Validation of the phone number and the one-time code, shared by every form
    that needs a verified customer.

    Every well-formed number is taken and answered alike, whether or not it is a
    customer's: only a customer's line gets a code, but the reply, the limits and
    the attempts are the same, so the chat cannot tell which numbers are ours.
    """

    def verification_slots(self, tracker: Tracker) -> list[str]:
        verified = verified_customer_id(tracker, self.dependencies.verification_idle)
        if verified is not None or verification_failed(tracker):
            return []
        return list(VERIFICATION_SLOTS)

    async def validate_phone_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        phone_number = find_mobile_number(str(slot_value))
        if phone_number is None:
            return _refuse_phone_number(
                dispatcher, tracker, "utter_invalid_phone_number", str(slot_value)
            )
        if tracker.get_slot("otp_sent_to") == phone_number:
            return {"phone_number": phone_number}
        try:
            refusal = await self._code_refusal(tracker, phone_number)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"phone_number": None}
        if refusal is not None:
            return await self._refuse(tracker, refusal)
        return {"phone_number": phone_number}

    async def validate_otp_code(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        # The code never stays in a slot: it is checked and forgotten.
        code = _NOT_DIGITS.sub("", str(slot_value))
        if len(code) != CODE_LENGTH:
            dispatcher.utter_message(response="utter_otp_code_format")
            return {"otp_code": None}
        phone_number = tracker.get_slot("phone_number")
        if not phone_number:
            return {"otp_code": None, "phone_number": None, "otp_sent_to": None}
        phone_number = str(phone_number)
        backend = self.dependencies.backend
        try:
            customer = await backend.find_customer_by_phone(phone_number)
            if customer is None:
                result = await self._check_code_of_no_customer(tracker, phone_number)
            else:
                result = await backend.check_verification_code(customer.id, code)
            if result.outcome in (CodeCheck.EXPIRED, CodeCheck.NO_CODE):
                refusal = await self._code_refusal(tracker, phone_number)
                if refusal is not None:
                    return {"otp_code": None, **await self._refuse(tracker, refusal)}
                await self._send_code(tracker, phone_number, customer)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"otp_code": None}
        if result.outcome is CodeCheck.VERIFIED and customer is not None:
            dispatcher.utter_message(
                response="utter_verified", customer_name=customer.name
            )
            return {
                "otp_code": None,
                # The code is used up: asking again sends a new one.
                "otp_sent_to": None,
                "verified_customer_id": str(customer.id),
                "verified_customer_name": customer.name,
            }
        if result.outcome is CodeCheck.WRONG:
            dispatcher.utter_message(
                response="utter_otp_wrong", attempts_left=result.attempts_left
            )
            return {"otp_code": None}
        if result.outcome is CodeCheck.TOO_MANY_ATTEMPTS:
            return {"otp_code": None, "verification_failed": True}
        dispatcher.utter_message(
            response="utter_otp_expired",
            masked_phone_number=mask_phone_number(phone_number),
            minutes=CODE_MINUTES,
            valid_until=code_valid_until(self.dependencies, tracker),
        )
        return {"otp_code": None}

    async def _code_refusal(self, tracker: Tracker, phone_number: str) -> str | None:
        return await self.dependencies.code_requests.refusal(
            self.dependencies.verification_limits,
            tracker.sender_id,
            phone_number,
            self.dependencies.clock(),
        )

    async def _refuse(self, tracker: Tracker, kind: str) -> dict[str, Any]:
        """Ends the verification; the handoff that follows says why, politely."""
        await report_refusal(self.dependencies, tracker.sender_id, kind)
        return {
            "phone_number": None,
            "verification_failed": True,
            "verification_limited": True,
        }

    async def _send_code(
        self, tracker: Tracker, phone_number: str, customer: Customer | None
    ) -> None:
        await send_code(self.dependencies, tracker.sender_id, phone_number, customer)

    async def _check_code_of_no_customer(
        self, tracker: Tracker, phone_number: str
    ) -> CodeCheckResult:
        """What the back end would answer for a code sent to a customer, from the
        code requests logged for a number that is no customer's."""
        log = self.dependencies.code_requests
        request = await log.latest(tracker.sender_id, phone_number)
        if request is None:
            return CodeCheckResult(CodeCheck.NO_CODE, 0)
        if request.wrong_attempts >= MAX_CODE_ATTEMPTS:
            return CodeCheckResult(CodeCheck.TOO_MANY_ATTEMPTS, 0)
        now = stored_moment(self.dependencies.clock())
        if now >= request.requested_at + CODE_LIFETIME:
            return CodeCheckResult(CodeCheck.EXPIRED, 0)
        await log.count_wrong_attempt(request.id)
        attempts_left = MAX_CODE_ATTEMPTS - request.wrong_attempts - 1
        if attempts_left == 0:
            return CodeCheckResult(CodeCheck.TOO_MANY_ATTEMPTS, 0)
        return CodeCheckResult(CodeCheck.WRONG, attempts_left)


def code_valid_until(dependencies: Dependencies, tracker: Tracker) -> str:
    """Until when a code sent now is good, on the business's clock: the same
    words whether or not the number is a customer's."""
    now = dependencies.clock()
    zone = dependencies.time_zone
    local = now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)
    return format_clock(
        local + CODE_LIFETIME, str(tracker.get_slot("language") or "ko")
    )


async def send_code(
    dependencies: Dependencies,
    sender_id: str,
    phone_number: str,
    customer: Customer | None,
) -> None:
    """Logs the request for any number, and sends a code if it is a customer's."""
    await dependencies.code_requests.log(sender_id, phone_number, dependencies.clock())
    if customer is not None:
        await dependencies.backend.send_verification_code(customer.id)


async def report_refusal(dependencies: Dependencies, sender_id: str, kind: str) -> None:
    # The count is for the supervisors; the refusal stands without it.
    try:
        await dependencies.handoff_client.report_refusal(sender_id, kind)
    except HandoffUnavailable as error:
        logger.warning("refusal %s of %s not counted: %s", kind, sender_id, error)


class ValidateVerificationForm(VerificationSlots, FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return self.verification_slots(tracker)


class ActionAskOtpCode(UsesDependencies, Action):
    """Asking for the code is sending it: once per phone number, again only when
    a code expired (the validator re-sends then). The validator has checked the
    limits before taking the number."""

    def name(self) -> str:
        return "action_ask_otp_code"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        phone_number = tracker.get_slot("phone_number")
        if not phone_number:
            dispatcher.utter_message(response="utter_ask_phone_number")
            return []
        if tracker.get_slot("otp_sent_to") == phone_number:
            dispatcher.utter_message(response="utter_ask_otp_code")
            return []
        phone_number = str(phone_number)
        backend = self.dependencies.backend
        try:
            customer = await backend.find_customer_by_phone(phone_number)
            await send_code(
                self.dependencies, tracker.sender_id, phone_number, customer
            )
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        # The same words for any number: "if this number is ours, a code was sent".
        dispatcher.utter_message(
            response="utter_otp_sent",
            masked_phone_number=mask_phone_number(phone_number),
            minutes=CODE_MINUTES,
            valid_until=code_valid_until(self.dependencies, tracker),
        )
        return [SlotSet("otp_sent_to", phone_number)]
