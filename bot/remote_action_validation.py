"""Checks action server responses against Rasa's schema without re-checking the schema.

Rasa 3.6 validates every response of the action server with ``jsonschema.validate``,
which first validates the schema itself against its meta-schema (JSON Schema 2020-12,
slow to walk) and then the response. The schema is Rasa's own constant, so checking it
once is enough; that took about a sixth of the Rasa server's CPU time in a turn that
runs a form (docs/benchmarks.md, "Bot reply latency"). The response is validated as
before, and an invalid one fails with the same error.

``install()`` replaces ``RemoteAction._validate_action_result``;
``bot.escalation_policy`` calls it, since every Tandem model loads that module in every
Rasa process.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import exceptions, validators
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@cache
def _validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the schema checked once."""
    error = exceptions.best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
