"""Trackers for action tests, built from the JSON files in tests/bot/trackers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker

TRACKERS = Path(__file__).parent / "trackers"


def load_tracker(name: str, **changes: Any) -> Tracker:
    """A tracker from tests/bot/trackers/NAME.json, with top-level keys replaced."""
    state = json.loads((TRACKERS / f"{name}.json").read_text("utf-8"))
    state.update(changes)
    return Tracker(
        sender_id=state["sender_id"],
        slots=state["slots"],
        latest_message=state["latest_message"],
        events=state["events"],
        paused=state["paused"],
        followup_action=state["followup_action"],
        active_loop=state["active_loop"],
        latest_action_name=state["latest_action_name"],
    )


def message_tracker(
    text: str,
    language: str | None,
    slots: dict[str, Any],
    intent: str = "greet",
    entities: list[dict[str, Any]] | None = None,
    sender_id: str = "c",
) -> Tracker:
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent},
        "entities": entities or [],
    }
    if language:
        latest["language"] = language
    return Tracker(sender_id, slots, latest, [], False, None, {}, "action_listen")
