"""The emotion scorer and its Rasa component, on a small pipeline trained here.

The fixture pipeline learns from the project's own customer-service examples only
(a few seconds); the sentences scored below are not among them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.model_training import train_nlu
from rasa.shared.nlu.training_data.message import Message

from bot.emotion.component import EmotionScorerComponent
from bot.emotion.datasets import read_examples
from bot.emotion.labels import EMOTIONS
from bot.emotion.rules import LEXICON_FLOOR
from bot.emotion.scoring import (
    META_KEY,
    EmotionModelError,
    EmotionScorer,
    calibrate,
    choose_thresholds,
    negative_score,
    text_language,
)
from bot.emotion.train import build_pipeline, train_pipeline

ANGRY_AND_NEUTRAL = [
    ("인터넷이 또 끊겼어요 진짜 짜증나네요", "인터넷 신청하려고요"),
    ("요금이 왜 이렇게 많이 나왔냐고요 장난해요?", "요금 얼마 나왔는지 알려주세요"),
    ("몇 번을 전화해야 해결해 줄 거예요", "전화번호 변경하고 싶어요"),
    ("this is ridiculous, my internet is down again", "how do I get home internet"),
    ("I'm so annoyed, you charged me twice", "how much is my bill"),
    ("still not fixed after a week, useless", "which plans do you have"),
]


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    nlp = train_pipeline(
        build_pipeline(), read_examples(), epochs=15, log=lambda _: None
    )
    path = tmp_path_factory.mktemp("emotion") / "tandem_emotion"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def scorer(pipeline_dir: Path) -> EmotionScorer:
    return EmotionScorer.load(pipeline_dir)


def _component(model_path: Path, tmp_path: Path) -> EmotionScorerComponent:
    config = {**EmotionScorerComponent.get_default_config(), "model_path": model_path}
    return EmotionScorerComponent.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("emotion"),
        ExecutionContext(graph_schema=None),
    )


def test_component_puts_scores_on_parsed_messages(
    pipeline_dir: Path, tmp_path: Path
) -> None:
    component = _component(pipeline_dir, tmp_path)
    korean, english = Message(data={"text": "짜증나"}), Message(data={"text": "hi"})
    component.process([korean, english])
    for message in (korean, english):
        emotion = message.as_dict(only_output_properties=True)["emotion"]
        assert set(emotion) == set(EMOTIONS)
        assert all(0.0 <= value <= 1.0 for value in emotion.values())


def test_component_scores_empty_text_as_calm(
    pipeline_dir: Path, tmp_path: Path
) -> None:
    component = _component(pipeline_dir, tmp_path)
    messages = [
        Message(data={"text": ""}),
        Message(data={}),
        Message(data={"text": " "}),
    ]
    component.process(messages)
    for message in messages:
        assert message.get("emotion") == dict.fromkeys(EMOTIONS, 0.0)


async def test_scores_survive_into_rasa_parse_data(
    pipeline_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real Rasa NLU model with the component in its pipeline; the keyword
    # classifier keeps the training tiny, and Rasa's cache stays in tmp_path.
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    config = tmp_path / "config.yml"
    config.write_text(
        "recipe: default.v1\nlanguage: xx\npipeline:\n"
        "  - name: WhitespaceTokenizer\n"
        "  - name: bot.emotion.component.EmotionScorerComponent\n"
        f"    model_path: {pipeline_dir}\n"
        "  - name: KeywordIntentClassifier\n",
        "utf-8",
    )
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: ask_bill\n    examples: |\n      - 요금\n      - bill\n"
        "  - intent: complain\n    examples: |\n      - 짜증\n      - annoyed\n",
        "utf-8",
    )
    model = train_nlu(str(config), str(nlu), str(tmp_path / "models"))
    assert model is not None
    agent = Agent.load(model)
    angry = await agent.parse_message("인터넷이 또 끊겼어요 진짜 짜증나네요")
    calm = await agent.parse_message("요금 알려주세요")
    assert set(angry["emotion"]) == set(EMOTIONS)
    assert negative_score(angry["emotion"]) > negative_score(calm["emotion"])


def test_component_without_a_pipeline_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(EmotionModelError, match=r"python -m bot\.emotion\.train"):
        _component(tmp_path / "missing", tmp_path)


@pytest.mark.parametrize(("angry", "neutral"), ANGRY_AND_NEUTRAL)
def test_angry_messages_score_above_neutral_ones(
    scorer: EmotionScorer, angry: str, neutral: str
) -> None:
    angry_scores, neutral_scores = scorer.model_scores([angry, neutral])
    assert negative_score(angry_scores) > negative_score(neutral_scores)


def test_bereavement_scores_distress_above_a_request(scorer: EmotionScorer) -> None:
    grief, request = scorer.score(["아버지가 돌아가셨어요", "요금제 바꾸고 싶어요"])
    assert grief["distress"] >= LEXICON_FLOOR > request["distress"]


def test_rules_can_be_switched_off(pipeline_dir: Path, tmp_path: Path) -> None:
    text = "씨발 이게 뭐야 어머니가 돌아가셨는데"
    without_rules = EmotionScorer.load(pipeline_dir, rules=[]).score([text])[0]
    assert without_rules["anger"] < LEXICON_FLOOR
    assert without_rules["distress"] < LEXICON_FLOOR
    only_grief = EmotionScorer.load(pipeline_dir, rules=["distress_words"])
    assert only_grief.score([text])[0]["anger"] == without_rules["anger"]
    assert only_grief.score([text])[0]["distress"] == LEXICON_FLOOR
    component = _component(pipeline_dir, tmp_path)
    message = Message(data={"text": text})
    component.process([message])
    assert message.get("emotion")["anger"] >= LEXICON_FLOOR


def test_an_unknown_rule_is_refused(pipeline_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown emotion rules"):
        EmotionScorer.load(pipeline_dir, rules=["sarcasm"])
    config = {"model_path": pipeline_dir, "rules": "profanity"}
    with pytest.raises(ValueError, match="rules must be a list of rule names"):
        EmotionScorerComponent.create(
            config,
            LocalModelStorage(tmp_path),
            Resource("emotion"),
            ExecutionContext(graph_schema=None),
        )


def test_saved_pipeline_scores_like_the_trained_one(
    scorer: EmotionScorer, pipeline_dir: Path
) -> None:
    texts = [angry for angry, _ in ANGRY_AND_NEUTRAL]
    reloaded = EmotionScorer(spacy.load(pipeline_dir), rules=None)
    assert reloaded.raw_scores(texts) == scorer.raw_scores(texts)


def test_calibration_thresholds_are_saved_and_applied(pipeline_dir: Path) -> None:
    nlp = spacy.load(pipeline_dir)
    nlp.meta[META_KEY] = {
        "thresholds": choose_thresholds(
            EmotionScorer(nlp, rules=None).raw_scores, read_examples()
        ),
    }
    calibrated = EmotionScorer(nlp, rules=None)
    assert set(calibrated.thresholds) == {"ko", "en"}
    text = "인터넷 또 안 돼요"
    raw = calibrated.raw_scores([text])[0]
    shifted = calibrated.model_scores([text])[0]
    for emotion in EMOTIONS:
        threshold = calibrated.thresholds["ko"][emotion]
        assert shifted[emotion] == pytest.approx(calibrate(raw[emotion], threshold))
        assert (shifted[emotion] >= 0.5) == (raw[emotion] >= threshold)


def test_calibrate_moves_the_threshold_to_one_half() -> None:
    assert calibrate(0.2, 0.2) == pytest.approx(0.5)
    assert calibrate(0.3, 0.2) > 0.5 > calibrate(0.1, 0.2)
    assert 0.0 < calibrate(0.0, 0.7) < calibrate(1.0, 0.7) <= 1.0


def test_text_language() -> None:
    assert text_language("요금 bill") == "ko"
    assert text_language("bill") == "en"


def test_a_pipeline_without_the_three_labels_is_refused(tmp_path: Path) -> None:
    nlp = spacy.blank("xx")
    nlp.add_pipe("textcat_multilabel").add_label("joy")  # type: ignore[attr-defined]
    with pytest.raises(EmotionModelError, match="labels"):
        EmotionScorer(nlp, rules=None)
    with pytest.raises(EmotionModelError, match="no textcat_multilabel"):
        EmotionScorer(spacy.blank("xx"), rules=None)


def test_training_needs_examples() -> None:
    with pytest.raises(ValueError, match="no training examples"):
        train_pipeline(build_pipeline(), [], epochs=1)


def test_meta_records_no_thresholds_by_default(pipeline_dir: Path) -> None:
    meta = json.loads((pipeline_dir / "meta.json").read_text("utf-8"))
    assert meta["name"] == "tandem_emotion"
    assert EmotionScorer.load(pipeline_dir).thresholds == {}
