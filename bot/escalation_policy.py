"""A dialogue policy that hands the conversation to a person when the mood calls for it.

Rules hand off on what the customer asks for (a person, a cancellation, a dispute…).
This policy covers what the customer does not ask for: very high anger or distress in a
message, frustration that has built up over the conversation, or the same question a
third time. On the first prediction after a customer message it folds the message into
the conversation's language and mood (``bot.message_tracking``) and returns the slot
changes with its prediction, whichever policy wins; when that sets the ``escalation``,
it predicts ``action_handoff`` (or, for a repeated question, ``utter_offer_person``)
with full confidence, and after the handoff, the offer or the core fallback it listens.

A handoff wins even in the middle of a form. Rasa's ensemble lets a prediction made
"without user input" (the RulePolicy's happy path of an active form) overrule every
other, whatever its priority; a handoff prediction is therefore marked the same way,
and this policy's priority, above the RulePolicy's, decides between the two.

It also ends a half-filled form when the customer raises something that goes to a
person anyway (``handoff_intents``: asking for one, a cancellation, a dispute…), so no
form needs a rule of its own for each of those. A form that collects feedback
(``feedback_loops``: the comment on a rating) is the exception: whatever the customer
writes there is the comment, kept word for word. An upset comment is what that form is
for, and a comment on an agent names a person ("the agent sorted it out quickly") as
often as a request for one does; the customer who wants a person after all asks again
once the comment is stored.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot import remote_action_validation
from bot.message_tracking import ESCALATION_SLOT, book_messages

# Every Tandem model loads this module, so every Rasa process that runs one gets the
# faster check of action server responses.
remote_action_validation.install()

HANDOFF_ACTION = "action_handoff"
OFFER_ACTION = "utter_offer_person"
CORE_FALLBACK_ACTION = "action_core_fallback"
LISTEN_AFTER = frozenset({OFFER_ACTION, CORE_FALLBACK_ACTION})
# Escalations that hand off at once; a repeated question only offers a person.
HANDOFF_ESCALATIONS = frozenset(
    {"angry_customer", "frustrated_customer", "distressed_customer"}
)
OFFER_ESCALATIONS = frozenset({"repeated_question"})
EXTERNAL_PREFIX = "EXTERNAL_"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT],
    is_trainable=True,
)
class EscalationPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "handoff_intents": [], "feedback_loops": []}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self._handoff_intents = frozenset(config.get("handoff_intents") or [])
        self._feedback_loops = frozenset(config.get("feedback_loops") or [])

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        # Nothing is learned; an empty resource keeps the graph's loading uniform.
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        bookkeeping = book_messages(tracker)
        events = bookkeeping.events()
        action = self._action_for(tracker, bookkeeping.slots[ESCALATION_SLOT])
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(probabilities, events=events)
        probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(
            probabilities,
            events=events,
            is_no_user_prediction=action == HANDOFF_ACTION,
        )

    def _action_for(
        self, tracker: DialogueStateTracker, escalation: str | None
    ) -> str | None:
        if tracker.latest_action_name == HANDOFF_ACTION:
            # Paused, the bot predicts nothing anyway; if the handoff failed, the
            # customer has been told so and the bot waits for their next message.
            return ACTION_LISTEN_NAME
        if tracker.latest_action_name in LISTEN_AFTER:
            # The offer is a question, however it came (a rule, the core fallback's
            # follow-up); after the core fallback the customer rephrases. Either
            # way the customer speaks next.
            return ACTION_LISTEN_NAME
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            return None
        latest = tracker.latest_message
        intent = latest.intent.get("name") if latest is not None else None
        if not intent or intent.startswith(EXTERNAL_PREFIX):
            return None
        if tracker.active_loop_name in self._feedback_loops:
            return None
        if escalation in HANDOFF_ESCALATIONS:
            return HANDOFF_ACTION
        if tracker.active_loop_name and intent in self._handoff_intents:
            return HANDOFF_ACTION
        if escalation in OFFER_ESCALATIONS and not self._just_offered(tracker):
            return OFFER_ACTION
        return None

    @staticmethod
    def _just_offered(tracker: DialogueStateTracker) -> bool:
        """Whether the bot's last action was the offer this message answers."""
        previous = tracker.get_last_event_for(
            ActionExecuted, action_names_to_exclude=[ACTION_LISTEN_NAME]
        )
        return previous is not None and previous.action_name == OFFER_ACTION
