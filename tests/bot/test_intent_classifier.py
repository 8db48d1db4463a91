"""The intent classifier as Rasa uses it: trained into a model storage, persisted,
loaded by a fresh instance, asked to classify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_classifier import SparseLinearIntentClassifier

EXAMPLES = {
    "ask_bill": [
        "이번 달 요금 얼마예요?",
        "요금 조회해 주세요",
        "청구 금액 알려주세요",
        "핸드폰 요금 얼마 나왔어요",
        "how much is my bill?",
        "check my bill",
        "what do I owe this month",
        "show me my phone bill",
    ],
    "request_human": [
        "상담원 연결해 주세요",
        "사람이랑 이야기하고 싶어요",
        "상담사 바꿔줘",
        "직원 연결 부탁드려요",
        "can I talk to a real person",
        "connect me to an agent",
        "I want a human",
        "let me speak to someone",
    ],
    "greet": [
        "안녕하세요",
        "안녕",
        "반갑습니다",
        "하이",
        "hello",
        "hi there",
        "good morning",
        "hey",
    ],
}


def training_data() -> TrainingData:
    return TrainingData(
        [
            Message(data={"text": text, "intent": intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


@pytest.fixture
def resource() -> Resource:
    return Resource("intent_classifier")


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test-model")


def train(
    storage: LocalModelStorage,
    resource: Resource,
    context: ExecutionContext,
    data: TrainingData,
    **config: Any,
) -> SparseLinearIntentClassifier:
    full_config = {**SparseLinearIntentClassifier.get_default_config(), **config}
    classifier = SparseLinearIntentClassifier.create(
        full_config, storage, resource, context
    )
    classifier.train(data)
    return classifier


def load(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> SparseLinearIntentClassifier:
    return SparseLinearIntentClassifier.load(
        SparseLinearIntentClassifier.get_default_config(), storage, resource, context
    )


def parse(classifier: SparseLinearIntentClassifier, text: str) -> dict[str, Any]:
    message = Message(data={"text": text})
    classifier.process([message])
    return message.as_dict(only_output_properties=True)


@pytest.fixture
def loaded(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> SparseLinearIntentClassifier:
    train(storage, resource, context, training_data())
    return load(storage, resource, context)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("이번 달 요금이 얼마죠", "ask_bill"),
        ("상담원이랑 연결해줘", "request_human"),
        ("안녕하세요~", "greet"),
        ("how much is my bill this month", "ask_bill"),
        ("I want to talk to a person", "request_human"),
        ("hello there", "greet"),
    ],
)
def test_loaded_model_classifies_korean_and_english(
    loaded: SparseLinearIntentClassifier, text: str, intent: str
) -> None:
    assert parse(loaded, text)["intent"]["name"] == intent


def test_ranking_is_sorted_probabilities_headed_by_the_intent(
    loaded: SparseLinearIntentClassifier,
) -> None:
    parsed = parse(loaded, "요금 조회")
    ranking = parsed["intent_ranking"]
    confidences = [entry["confidence"] for entry in ranking]
    assert {entry["name"] for entry in ranking} == set(EXAMPLES)
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= confidence <= 1.0 for confidence in confidences)
    assert sum(confidences) == pytest.approx(1.0, abs=1e-5)
    assert parsed["intent"] == ranking[0]
    assert all(isinstance(confidence, float) for confidence in confidences)


def test_unrelated_text_gets_low_confidence(
    loaded: SparseLinearIntentClassifier,
) -> None:
    known = parse(loaded, "요금 조회해 주세요")["intent"]["confidence"]
    unrelated = parse(loaded, "zxqv 🙂")["intent"]["confidence"]
    assert unrelated < known
    assert unrelated < 0.6


def test_empty_message_gets_a_valid_ranking(
    loaded: SparseLinearIntentClassifier,
) -> None:
    for message in (Message(data={"text": ""}), Message(data={})):
        loaded.process([message])
        ranking = message.get("intent_ranking")
        assert len(ranking) == len(EXAMPLES)
        assert all(0.0 <= entry["confidence"] <= 1.0 for entry in ranking)


def test_ranking_length_cuts_the_ranking(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> None:
    classifier = train(storage, resource, context, training_data(), ranking_length=2)
    parsed = parse(classifier, "hello")
    assert parsed["intent_ranking"][0]["name"] == "greet"
    assert len(parsed["intent_ranking"]) == 2


def test_loaded_model_predicts_exactly_like_the_trained_one(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> None:
    trained = train(storage, resource, context, training_data())
    loaded = load(storage, resource, context)
    for text in ("청구서 보여줘", "agent please", "좋은 아침"):
        assert parse(loaded, text) == parse(trained, text)


def test_two_intents_with_too_few_examples_to_calibrate(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> None:
    data = TrainingData(
        [
            Message(data={"text": "hello", "intent": "greet"}),
            Message(data={"text": "안녕하세요", "intent": "greet"}),
            Message(data={"text": "bye", "intent": "goodbye"}),
        ]
    )
    train(storage, resource, context, data)
    loaded = load(storage, resource, context)
    assert parse(loaded, "hello")["intent"]["name"] == "greet"
    assert parse(loaded, "bye")["intent"]["name"] == "goodbye"


def test_one_intent_trains_nothing_and_predicts_nothing(
    storage: LocalModelStorage, resource: Resource, context: ExecutionContext
) -> None:
    data = TrainingData([Message(data={"text": "hello", "intent": "greet"})])
    train(storage, resource, context, data)
    loaded = load(storage, resource, context)
    assert "intent" not in parse(loaded, "hello")


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"word_ngram_range": [2, 1]}, "word_ngram_range"),
        ({"char_ngram_range": [0, 3]}, "char_ngram_range"),
        ({"char_ngram_range": "2-5"}, "char_ngram_range"),
        ({"C": 0}, "C must be"),
        ({"calibration_folds": -1}, "calibration_folds"),
    ],
)
def test_bad_config_is_refused_with_the_key_named(
    storage: LocalModelStorage,
    resource: Resource,
    context: ExecutionContext,
    config: dict[str, Any],
    error: str,
) -> None:
    with pytest.raises(ValueError, match=error):
        SparseLinearIntentClassifier.create(
            {**SparseLinearIntentClassifier.get_default_config(), **config},
            storage,
            resource,
            context,
        )
