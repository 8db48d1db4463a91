"""The Grafana dashboard queries only what the service exports, and all of it."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.dashboard_queries import dashboard, exposed, queried_names, queries

Client = TestClient[web.Request, web.Application]
SERVICE = "tandem_service_"


async def test_every_service_metric_queried_is_exported_and_has_a_panel(
    client: Client,
) -> None:
    response = await client.get("/metrics")
    families = exposed(text_string_to_metric_families(await response.text()))
    exported = set().union(*families.values())

    assert queried_names(SERVICE) <= exported, queried_names(SERVICE) - exported
    unqueried = {
        name
        for name, samples in families.items()
        if name.startswith(SERVICE) and not samples & queried_names(SERVICE)
    }
    assert unqueried == set()


def test_the_dashboard_is_a_grafana_model_with_a_datasource_variable() -> None:
    model = dashboard()
    (variable,) = model["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)) > 0
    # Every name a query uses is one of the three processes'.
    for expr in queries():
        for name in re.findall(r"\btandem_[a-z0-9_]+\b", expr):
            assert name.startswith(
                ("tandem_service_", "tandem_rasa_", "tandem_actions_")
            ), name
