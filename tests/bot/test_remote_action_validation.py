"""Action server responses are checked as strictly as Rasa's own validation does."""

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import bot.escalation_policy  # noqa: F401  (installs the check, as a model load does)
from bot.remote_action_validation import validate_action_result

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "language", "value": "en"}],
        "responses": [{"response": "utter_greet"}, {"text": "Hi"}],
    },
    {},
]
INVALID: list[Any] = [
    {"events": [{"name": "language"}]},
    {"events": "slot"},
    {"responses": ["hello"], "events": []},
    [],
]


def rasas_verdict(result: Any) -> bool:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError:
        return False
    return True


def test_the_check_is_installed_where_rasa_calls_it() -> None:
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:9"))
    assert action._validate_action_result(VALID[0]) is True
    assert RemoteAction._validate_action_result is validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_accepts_what_rasa_accepts(result: dict[str, Any]) -> None:
    assert rasas_verdict(result)
    assert RemoteAction("a", None)._validate_action_result(result)


@pytest.mark.parametrize("result", INVALID)
def test_rejects_what_rasa_rejects_with_its_message(result: Any) -> None:
    assert not rasas_verdict(result)
    with pytest.raises(jsonschema.ValidationError, match="Action endpoint is valid"):
        RemoteAction("a", None)._validate_action_result(result)
