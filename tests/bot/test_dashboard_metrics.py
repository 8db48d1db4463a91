"""The Grafana dashboard queries only what the Rasa server and the action server
export, and all of it."""

from __future__ import annotations

import pytest

from actions.metrics import ActionMetrics
from bot.observability.rasa_metrics import RasaMetrics
from tests.dashboard_queries import exposed, queried_names


@pytest.mark.parametrize(
    ("prefix", "registry"),
    [
        ("tandem_rasa_", RasaMetrics().registry),
        ("tandem_actions_", ActionMetrics().registry),
    ],
)
def test_every_metric_queried_is_exported_and_has_a_panel(
    prefix: str, registry: object
) -> None:
    families = exposed(registry.collect())  # type: ignore[attr-defined]
    exported = set().union(*families.values())
    queried = queried_names(prefix)

    assert queried, f"no panel queries {prefix}…"
    assert queried <= exported, queried - exported
    unqueried = {name for name, samples in families.items() if not samples & queried}
    assert unqueried == set()
