"""Handing the conversation to a person, and taking it back afterwards."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.business_hours import current_status
from actions.dependencies import UsesDependencies
from actions.handoff_client import HandoffLimited, HandoffUnavailable, QueuedHandoff
from actions.handoff_context import handoff_context
from actions.handoff_decision import decide_handoff
from actions.offline_contact import offer_offline_contact
from actions.service_contract import field

logger = logging.getLogger(__name__)

# After a handoff the conversation starts afresh for the mood tracking.
RESET_MOOD = [SlotSet("escalation", None), SlotSet("frustration", 0.0)]
_SCORE = re.compile(r"(?<!\d)([1-5])(?!\d)")
_SCORE_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
CSAT_COMMENT_FORM = "csat_comment_form"
CSAT_RATING_SLOT = "csat_rating_id"
CSAT_COMMENT_SLOT = "csat_comment"
MAX_COMMENT_LENGTH: int = field("CsatCommentRequest", "comment")["maxLength"]
# The message metadata bot/message_speakers.py reads: the customer now waits.
QUEUED = "queued"


def end_active_form(tracker: Tracker) -> list[EventType]:
    """Closes a half-filled form so it does not resume when the bot takes over."""
    if tracker.active_loop_name:
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


def rating_from(text: str) -> int | None:
    """The 1–5 score in a customer's answer ("4점이요", "5 stars", "four")."""
    match = _SCORE.search(text)
    if match:
        return int(match.group(1))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _SCORE_WORDS:
            return _SCORE_WORDS[word]
    return None


def queued_message(queued: QueuedHandoff) -> dict[str, Any]:
    """What the customer is told once the service has the handoff: with an agent
    already, or the position, the expected wait or that it is unknown, and how
    to stop waiting; the service's later updates say it in the same words."""
    if queued.queue_position is None:
        return {"response": "utter_handoff_assigned"}
    wait = queued.estimated_wait_seconds
    if wait is None:
        return {
            "response": "utter_handoff_queued_unknown_wait",
            "queue_position": queued.queue_position,
        }
    minutes = max(1, math.ceil(wait / 60))
    if minutes == 1:
        return {
            "response": "utter_handoff_queued_minute",
            "queue_position": queued.queue_position,
        }
    return {
        "response": "utter_handoff_queued",
        "queue_position": queued.queue_position,
        "wait_minutes": minutes,
    }


class ActionHandoff(UsesDependencies, Action):
    """Queues the conversation for an agent with its context, then pauses the bot.

    Outside business hours nothing is queued: the bot says when people are back and
    offers a callback or a ticket instead (``actions/offline_contact.py``).
    """

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        decision = decide_handoff(tracker)
        events = end_active_form(tracker)
        hours = current_status(
            self.dependencies.clock(), self.dependencies.business_hours
        )
        metrics = self.dependencies.metrics
        if not hours.open:
            metrics.handoff(decision.reason, "offline")
            return [
                *events,
                *offer_offline_contact(
                    dispatcher,
                    hours,
                    tracker.get_slot("language") or "ko",
                    decision.reason,
                    trigger=decision.trigger,
                    skill=decision.skill,
                    priority=decision.priority,
                ),
            ]
        context = handoff_context(
            tracker,
            decision.reason,
            trigger=decision.trigger,
            skill=decision.skill,
            priority=decision.priority,
        )
        try:
            queued = await self.dependencies.handoff_client.request_handoff(context)
        except HandoffLimited as error:
            # The log line names the conversation by its log id (actions/server.py).
            logger.warning("Handoff refused: %s", error)
            metrics.handoff(decision.reason, "limited")
            dispatcher.utter_message(response="utter_handoff_limited")
            return events
        except HandoffUnavailable as error:
            logger.error("Handoff failed: %s", error)
            metrics.handoff(decision.reason, "unavailable")
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return events
        metrics.handoff(decision.reason, "queued")
        if decision.opening_response:
            dispatcher.utter_message(response=decision.opening_response)
        message = queued_message(queued)
        if message["response"] != "utter_handoff_assigned":
            # Marked, so the web chat shows the customer waiting for a person.
            message["handoff_status"] = QUEUED
        dispatcher.utter_message(**message)
        return [*events, *RESET_MOOD, ConversationPaused()]


class ActionHandoffClosed(Action):
    """The agent closed the handoff: greet the customer back and ask for a rating."""

    def name(self) -> str:
        return "action_handoff_closed"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff_closed")
        dispatcher.utter_message(response="utter_ask_csat")
        return []


class ActionHandoffCancelled(Action):
    """The customer left the queue: the bot is in charge again."""

    def name(self) -> str:
        return "action_handoff_cancelled"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff_cancelled")
        return []


class ActionSubmitCsat(UsesDependencies, Action):
    """Sends the customer's 1–5 rating to the handoff service's numbers."""

    def name(self) -> str:
        return "action_submit_csat"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        score = rating_from(str(tracker.latest_message.get("text") or ""))
        if score is None:
            dispatcher.utter_message(response="utter_ask_csat")
            return []
        handoff_id = tracker.get_slot("handoff_id")
        try:
            rating_id = await self.dependencies.handoff_client.submit_rating(
                tracker.sender_id,
                score,
                int(handoff_id) if handoff_id is not None else None,
            )
        except HandoffUnavailable as error:
            # The rating is lost, not the conversation: thank the customer anyway,
            # and ask for no comment that could not be kept either.
            logger.error("Rating not stored: %s", error)
            dispatcher.utter_message(response="utter_csat_thanks")
            return [SlotSet("handoff_id", None)]
        # The score is kept whatever happens next; the form asks for a comment.
        return [
            SlotSet("handoff_id", None),
            SlotSet(CSAT_RATING_SLOT, rating_id),
            SlotSet(CSAT_COMMENT_SLOT, None),
            ActiveLoop(CSAT_COMMENT_FORM),
        ]


class ActionSubmitCsatComment(UsesDependencies, Action):
    """Adds the customer's comment to the rating they just gave."""

    def name(self) -> str:
        return "action_submit_csat_comment"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        rating_id = tracker.get_slot(CSAT_RATING_SLOT)
        comment = str(tracker.get_slot(CSAT_COMMENT_SLOT) or "").strip()
        if rating_id is not None and comment:
            try:
                await self.dependencies.handoff_client.comment_on_rating(
                    int(rating_id), tracker.sender_id, comment[:MAX_COMMENT_LENGTH]
                )
            except HandoffUnavailable as error:
                logger.error("Comment not stored: %s", error)
        dispatcher.utter_message(response="utter_csat_comment_thanks")
        return _forget_rating()


class ActionSkipCsatComment(Action):
    """The customer has nothing to add to the rating."""

    def name(self) -> str:
        return "action_skip_csat_comment"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_csat_thanks")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_forget_rating()]


def _forget_rating() -> list[EventType]:
    return [SlotSet(CSAT_RATING_SLOT, None), SlotSet(CSAT_COMMENT_SLOT, None)]
