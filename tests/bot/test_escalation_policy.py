"""The escalation policy on real Rasa trackers and domain."""

from pathlib import Path
from typing import Any

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.escalation_policy import EscalationPolicy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


@pytest.fixture
def policy(tmp_path: Path) -> EscalationPolicy:
    config = {
        **EscalationPolicy.get_default_config(),
        "handoff_intents": ["dispute_bill", "complain", "request_human"],
        "feedback_loops": ["csat_comment_form"],
    }
    return EscalationPolicy.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("escalation"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def predicted(
    policy: EscalationPolicy, domain: Domain, events: list[Any]
) -> str | None:
    tracker = DialogueStateTracker.from_events("c", events, domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def turn(intent: str, *slot_events: SlotSet) -> list[Any]:
    return [
        ActionExecuted("action_listen"),
        UserUttered(intent, {"name": intent, "confidence": 1.0}),
        *slot_events,
    ]


@pytest.mark.parametrize(
    "escalation", ["angry_customer", "frustrated_customer", "distressed_customer"]
)
def test_hands_off_on_an_emotional_turn(
    policy: EscalationPolicy, domain: Domain, escalation: str
) -> None:
    events = turn("ask_bill", SlotSet("escalation", escalation))
    assert predicted(policy, domain, events) == "action_handoff"


def test_offers_a_person_on_a_repeated_question(
    policy: EscalationPolicy, domain: Domain
) -> None:
    events = turn("ask_bill", SlotSet("escalation", "repeated_question"))
    assert predicted(policy, domain, events) == "utter_offer_person"


def test_does_not_offer_twice_in_a_row(
    policy: EscalationPolicy, domain: Domain
) -> None:
    events = [
        *turn("ask_bill", SlotSet("escalation", "repeated_question")),
        ActionExecuted("utter_offer_person"),
        *turn("affirm"),
    ]
    assert predicted(policy, domain, events) is None


def test_stays_quiet_on_a_calm_turn(policy: EscalationPolicy, domain: Domain) -> None:
    assert predicted(policy, domain, turn("ask_bill")) is None


def test_listens_after_the_handoff(policy: EscalationPolicy, domain: Domain) -> None:
    events = [
        *turn("ask_bill", SlotSet("escalation", "angry_customer")),
        ActionExecuted("action_handoff"),
    ]
    assert predicted(policy, domain, events) == "action_listen"


def test_listens_after_offering_a_person(
    policy: EscalationPolicy, domain: Domain
) -> None:
    events = [
        *turn("affirm"),
        ActionExecuted("action_core_fallback"),
        ActionExecuted("utter_offer_person"),
    ]
    assert predicted(policy, domain, events) == "action_listen"


def test_listens_after_the_core_fallback(
    policy: EscalationPolicy, domain: Domain
) -> None:
    events = [*turn("deny"), ActionExecuted("action_core_fallback")]
    assert predicted(policy, domain, events) == "action_listen"


def test_stays_quiet_after_other_actions(
    policy: EscalationPolicy, domain: Domain
) -> None:
    events = [
        *turn("ask_bill", SlotSet("escalation", "angry_customer")),
        ActionExecuted("utter_greet"),
    ]
    assert predicted(policy, domain, events) is None


def test_ignores_external_intents(policy: EscalationPolicy, domain: Domain) -> None:
    events = turn("EXTERNAL_handoff_closed", SlotSet("escalation", "angry_customer"))
    assert predicted(policy, domain, events) is None


def test_ends_a_form_for_a_handoff_intent(
    policy: EscalationPolicy, domain: Domain
) -> None:
    form = [ActionExecuted("customer_lookup_form"), ActiveLoop("customer_lookup_form")]
    assert predicted(policy, domain, [*form, *turn("dispute_bill")]) == "action_handoff"
    assert predicted(policy, domain, turn("dispute_bill")) is None


def form_happy_path(domain: Domain, form: str) -> PolicyPrediction:
    """What the RulePolicy predicts while a form runs: the form, as a prediction
    that uses no user input."""
    probabilities = [0.0] * domain.num_actions
    probabilities[domain.index_for_action(form)] = 1.0
    return PolicyPrediction(
        probabilities, "RulePolicy", policy_priority=6, is_no_user_prediction=True
    )


def ensemble_choice(
    policy: EscalationPolicy, domain: Domain, form: str, events: list[Any]
) -> str:
    """What Rasa's ensemble runs when this policy meets the form's happy path."""
    opened = [ActionExecuted(form), ActiveLoop(form)]
    tracker = DialogueStateTracker.from_events("c", [*opened, *events], domain.slots)
    ours = policy.predict_action_probabilities(tracker, domain)
    best = DefaultPolicyPredictionEnsemble._pick_best_policy(
        [form_happy_path(domain, form), ours]
    )
    return domain.action_names_or_texts[best.max_confidence_index]


@pytest.mark.parametrize(
    "events",
    [
        turn("dispute_bill"),
        turn("inform", SlotSet("escalation", "frustrated_customer")),
        turn("inform", SlotSet("escalation", "distressed_customer")),
    ],
)
def test_a_handoff_beats_the_form_in_rasas_ensemble(
    policy: EscalationPolicy, domain: Domain, events: list[Any]
) -> None:
    assert ensemble_choice(policy, domain, "outage_form", events) == "action_handoff"


def test_a_calm_turn_leaves_the_form_alone(
    policy: EscalationPolicy, domain: Domain
) -> None:
    assert ensemble_choice(policy, domain, "outage_form", turn("inform")) == (
        "outage_form"
    )


@pytest.mark.parametrize(
    "events",
    [
        turn("complain"),
        turn("dispute_bill"),
        turn("request_human"),
        turn("inform", SlotSet("escalation", "angry_customer")),
        turn("inform", SlotSet("escalation", "frustrated_customer")),
    ],
)
def test_a_comment_on_a_rating_is_kept_not_handed_off(
    policy: EscalationPolicy, domain: Domain, events: list[Any]
) -> None:
    assert ensemble_choice(policy, domain, "csat_comment_form", events) == (
        "csat_comment_form"
    )


def angry_turn() -> list[Any]:
    parse_data = {
        "text": "WHY IS MY BILL SO HIGH",
        "intent": {"name": "ask_bill", "confidence": 1.0},
        "entities": [],
        "language": "en",
        "emotion": {"anger": 0.95, "frustration": 0.7, "distress": 0.0},
    }
    return [
        ActionExecuted("action_listen"),
        UserUttered(parse_data["text"], parse_data["intent"], [], parse_data),
    ]


def test_books_the_message_and_hands_off_on_its_mood(
    policy: EscalationPolicy, domain: Domain
) -> None:
    tracker = DialogueStateTracker.from_events("c", angry_turn(), domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    assert domain.action_names_or_texts[prediction.max_confidence_index] == (
        "action_handoff"
    )
    slots = {event.key: event.value for event in prediction.events}
    assert slots["language"] == "en"
    assert slots["escalation"] == "angry_customer"
    assert slots["frustration"] == 1.0
    assert len(slots["emotion_history"]) == 1


def test_the_booking_reaches_the_tracker_whichever_policy_wins(
    policy: EscalationPolicy, domain: Domain
) -> None:
    form = [ActionExecuted("outage_form"), ActiveLoop("outage_form")]
    turn_events = turn("inform")
    tracker = DialogueStateTracker.from_events("c", [*form, *turn_events], domain.slots)
    ours = policy.predict_action_probabilities(tracker, domain)
    best = DefaultPolicyPredictionEnsemble._pick_best_policy(
        [form_happy_path(domain, "outage_form"), ours]
    )
    assert best.policy_name == "RulePolicy"
    assert {event.key for event in best.events} >= {"frustration", "emotion_history"}


def test_books_nothing_twice(policy: EscalationPolicy, domain: Domain) -> None:
    tracker = DialogueStateTracker.from_events("c", angry_turn(), domain.slots)
    first = policy.predict_action_probabilities(tracker, domain)
    tracker.update_with_events(first.events, domain)
    tracker.update(ActionExecuted("action_handoff"))
    again = policy.predict_action_probabilities(tracker, domain)
    assert again.events == []
