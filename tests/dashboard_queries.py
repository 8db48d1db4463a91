"""The Grafana dashboard's queries, and the sample names a registry exposes.

Shared by the service's and the bot's dashboard tests, each in its own
environment: every ``tandem_…`` name the dashboard queries must be one the code
exports, and every family the code exports must have a panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "tandem.json"
_NAME = re.compile(r"\btandem_[a-z0-9_]+\b")
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return loaded


def queries() -> list[str]:
    return [
        target["expr"]
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def queried_names(prefix: str) -> set[str]:
    return {
        name
        for expr in queries()
        for name in _NAME.findall(expr)
        if name.startswith(prefix)
    }


def exposed(families: Iterable[Any]) -> dict[str, set[str]]:
    """Each family's name and the sample names Prometheus stores for it."""
    return {
        family.name: {family.name + suffix for suffix in _SUFFIXES[family.type]}
        for family in families
    }
