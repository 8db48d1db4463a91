"""When the bot does not understand: ask to rephrase once, then offer a person.

Two kinds of misunderstanding count: a message the NLU could not place
(``nlu_fallback``, answered by ``action_ask_to_rephrase``), and a message it placed
but the dialogue could not go on from, such as a "yes" to no question (the core
fallback, ``action_core_fallback``). The ``misunderstood`` slot remembers that the
previous message was not understood; its slot mapping resets it on any understood
message, so only misunderstandings in a row count. A second one in a row becomes
``utter_offer_person`` (the rules in data/rules/small_talk.yml, or this module's core
fallback), whose "yes" hands off (data/rules/handoff.yml).
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


class ActionAskToRephrase(Action):
    def name(self) -> str:
        return "action_ask_to_rephrase"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("misunderstood", True)]


def misunderstood_before_latest_message(tracker: Tracker) -> bool:
    """The ``misunderstood`` slot as it was before the customer's latest message
    (that message's own slot mapping has reset it already)."""
    before_latest = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            before_latest = True
        elif (
            before_latest
            and event.get("event") == "slot"
            and event.get("name") == "misunderstood"
        ):
            return bool(event.get("value"))
    return False


class ActionCoreFallback(Action):
    """The dialogue cannot go on from what the customer said: ask to rephrase, or,
    after a misunderstanding just before, offer a person.

    Unlike Rasa's default fallback it keeps the message in the conversation, so its
    mood and language still count."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[EventType]:
        if misunderstood_before_latest_message(tracker):
            return [
                SlotSet("misunderstood", True),
                FollowupAction("utter_offer_person"),
            ]
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("misunderstood", True)]
