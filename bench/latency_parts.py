"""What two of Tandem's changes to Rasa's per-turn work save, each timed beside Rasa's
own code in the same process: the check of an action server response, and one turn's
read and save in the SQL tracker store on a SQLite file (with an event broker, as
Tandem runs it).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
from rasa.core.actions.action import RemoteAction
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.remote_action_validation import validate_action_result
from bot.tracker_store import TandemSQLTrackerStore

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 200
TURNS = 12
# A form's answer from the action server: slots it validated and the next question.
ACTION_RESPONSE = {
    "events": [
        {"event": "slot", "timestamp": None, "name": "phone_number", "value": "x"},
        {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "y"},
    ],
    "responses": [{"response": "utter_ask_otp_code", "template": "utter_ask_otp_code"}],
}


class _Discarding(EventBroker):
    def publish(self, event: dict[str, Any]) -> None:
        pass


def _median_ms(run: Callable[[], Any], repeats: int = REPEATS) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def response_check_ms() -> dict[str, float]:
    schema = RemoteAction.action_response_format_spec()
    action = RemoteAction("action_x", None)
    return {
        "rasa": _median_ms(lambda: jsonschema.validate(ACTION_RESPONSE, schema)),
        "tandem": _median_ms(lambda: validate_action_result(action, ACTION_RESPONSE)),
    }


async def _turn_ms(store: SQLTrackerStore) -> float:
    """Median time of a turn's read and save, over a conversation of TURNS turns."""
    tracker = await store.get_or_create_tracker("bench")
    times = []
    for number in range(TURNS):
        started = time.perf_counter()
        tracker = await store.get_or_create_tracker("bench")
        tracker.update(UserUttered(f"message {number}", {"name": "ask_bill"}))
        tracker.update(SlotSet("frustration", 0.1 * (number % 3)))
        tracker.update(ActionExecuted("utter_bill"))
        tracker.update(BotUttered(f"answer {number}"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def tracker_store_turn_ms() -> dict[str, float]:
    domain = Domain.load(ROOT / "domain.yml")
    results = {}
    with tempfile.TemporaryDirectory(prefix="tandem-bench-store-") as folder:
        stores: dict[str, Callable[[str], SQLTrackerStore]] = {
            "rasa": lambda db: SQLTrackerStore(
                domain, db=db, event_broker=_Discarding()
            ),
            "tandem": lambda db: TandemSQLTrackerStore(
                domain, db=db, event_broker=_Discarding()
            ),
            # As endpoints.yml configures it.
            "tandem_cached": lambda db: TandemSQLTrackerStore(
                domain, db=db, event_broker=_Discarding(), cached_conversations=500
            ),
        }
        for name, make_store in stores.items():
            store = make_store(str(Path(folder) / f"{name}.db"))
            results[name] = asyncio.run(_turn_ms(store))
            store.engine.dispose()
    return results


def measure() -> dict[str, dict[str, float]]:
    return {
        "response_check_ms": response_check_ms(),
        "tracker_store_turn_ms": tracker_store_turn_ms(),
    }
