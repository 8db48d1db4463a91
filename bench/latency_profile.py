"""Where a bot's reply time goes, read from the timestamps Rasa puts on the events of
a conversation's tracker.

Rasa stamps each event when it happens, so within one turn the time from the
customer's message (stamped once it is understood) to each following event is the
time spent on that step: predicting and running an action, or the slot extraction
that runs custom slot mappings through the action server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

USER = "user"
LISTEN = "action_listen"


def step_label(event: dict[str, Any]) -> str:
    if event.get("event") == "action":
        return str(event.get("name"))
    return f"{event.get('event')} event"


def turn_steps(events: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """For each customer turn, milliseconds spent on each step up to the moment the
    bot listens again (steps of the same name in one turn are added up)."""
    turns: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    previous = 0.0
    for event in events:
        timestamp = float(event.get("timestamp") or 0.0)
        if event.get("event") == USER:
            current = {}
            turns.append(current)
        elif current is not None:
            label = step_label(event)
            current[label] = current.get(label, 0.0) + (timestamp - previous) * 1000
            if label == LISTEN:
                current = None
        previous = timestamp
    return turns


def median_steps(trackers: Iterable[Sequence[dict[str, Any]]]) -> dict[str, float]:
    """Median milliseconds of each step over all turns, the whole turn as ``total``;
    a step missing from a turn counts as zero there."""
    turns = [turn for events in trackers for turn in turn_steps(events)]
    labels = {label for turn in turns for label in turn}
    medians = {
        label: float(np.median([turn.get(label, 0.0) for turn in turns]))
        for label in labels
    }
    medians["total"] = float(np.median([sum(turn.values()) for turn in turns]))
    return medians
