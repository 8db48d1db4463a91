"""The FAQ-only featurizers and response selector answer retrieval-intent messages
as Rasa's do and leave every other message alone, in a real Rasa NLU model."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.faq_only import FaqCountVectorsFeaturizer, intent_name

NLU = """version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hello
      - hi there
  - intent: faq/opening_hours
    examples: |
      - when are you open
      - opening hours
  - intent: faq/roaming
    examples: |
      - roaming abroad
      - does my phone work abroad
responses:
  utter_faq/opening_hours:
    - text: We are open from 9 to 6.
  utter_faq/roaming:
    - text: Roaming works in 180 countries.
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Agent:
    folder = tmp_path_factory.mktemp("faq-selector")
    config = folder / "config.yml"
    config.write_text(
        "recipe: default.v1\nlanguage: en\npipeline:\n"
        "  - name: WhitespaceTokenizer\n"
        "  - name: KeywordIntentClassifier\n"
        "  - name: bot.nlu.faq_only.FaqCountVectorsFeaturizer\n"
        "    intents: [faq]\n"
        "  - name: bot.nlu.faq_only.FaqResponseSelector\n"
        "    epochs: 30\n",
        "utf-8",
    )
    nlu = folder / "nlu.yml"
    nlu.write_text(NLU, "utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(folder / "cache"))
        model = train_nlu(str(config), str(nlu), str(folder / "models"))
    assert model is not None
    return Agent.load(model)


async def test_a_faq_question_gets_its_answer(agent: Agent) -> None:
    parsed = await agent.parse_message("when are you open")
    assert parsed["intent"]["name"] == "faq"
    # One selector for every retrieval intent answers under Rasa's "default" key.
    answer = parsed["response_selector"]["default"]["response"]
    assert answer["intent_response_key"] == "faq/opening_hours"
    assert answer["responses"] == [{"text": "We are open from 9 to 6."}]


async def test_other_messages_are_not_run_through_the_selector(agent: Agent) -> None:
    parsed = await agent.parse_message("hello")
    assert parsed["intent"]["name"] == "greet"
    assert "response_selector" not in parsed


def component(agent: Agent, kind: type) -> Any:
    runner = agent.processor.graph_runner  # type: ignore[union-attr]
    return next(
        node._component
        for node in runner._instantiated_nodes.values()
        if isinstance(node._component, kind)
    )


def test_the_featurizer_featurizes_the_faq_messages_only(agent: Agent) -> None:
    tokenizer = component(agent, WhitespaceTokenizer)
    featurizer = component(agent, FaqCountVectorsFeaturizer)
    greeting = Message(data={"text": "hello", "intent": {"name": "greet"}})
    faq = Message(data={"text": "opening hours", "intent": {"name": "faq"}})
    tokenizer.process([greeting, faq])
    featurizer.process([greeting, faq])
    assert greeting.features == []
    assert {feature.type for feature in faq.features} == {"sequence", "sentence"}


async def test_a_message_nothing_classified_is_not_run_either(agent: Agent) -> None:
    parsed = await agent.parse_message("zzz qqq")
    assert "response_selector" not in parsed


def test_intent_name_of_messages() -> None:
    assert intent_name(Message(data={"intent": {"name": "faq"}})) == "faq"
    assert intent_name(Message(data={"intent": {"name": None}})) is None
    assert intent_name(Message(data={})) is None


@pytest.mark.parametrize("intents", ["faq", [""], [3], None])
def test_the_featurizer_refuses_a_wrong_intent_list(intents: object) -> None:
    with pytest.raises(ValueError, match="intents"):
        FaqCountVectorsFeaturizer.validate_config(
            {**FaqCountVectorsFeaturizer.get_default_config(), "intents": intents}
        )
