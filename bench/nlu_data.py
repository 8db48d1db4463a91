"""The NLU benchmark's data: public data sets from the shared benchmark folder and the
bot's own intent examples, as (text, intent) pairs."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

Example = tuple[str, str]
OUT_OF_SCOPE = "oos"


@dataclass(frozen=True)
class Banking77:
    train: list[Example]
    test: list[Example]


@dataclass(frozen=True)
class Clinc150:
    train: list[Example]
    val: list[Example]
    test: list[Example]
    oos_train: list[Example]
    oos_val: list[Example]
    oos_test: list[Example]


def _read_csv(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file)]


def load_banking77(folder: Path) -> Banking77:
    return Banking77(
        train=_read_csv(folder / "banking77" / "train.csv"),
        test=_read_csv(folder / "banking77" / "test.csv"),
    )


def load_clinc150(folder: Path) -> Clinc150:
    raw = json.loads((folder / "clinc150" / "data_full.json").read_text("utf-8"))
    splits = {
        name: [(str(text), str(intent)) for text, intent in raw[name]]
        for name in ("train", "val", "test", "oos_train", "oos_val", "oos_test")
    }
    for name in ("oos_train", "oos_val", "oos_test"):
        if {intent for _, intent in splits[name]} != {OUT_OF_SCOPE}:
            raise ValueError(f"CLINC150 {name} holds intents other than {OUT_OF_SCOPE}")
    return Clinc150(**splits)


def load_bot_examples(nlu_folder: Path) -> list[Example]:
    """The bot's intent examples as plain text (entity mark-up removed)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(nlu_folder))
    return [
        (str(message.get("text")), str(message.get("intent")))
        for message in data.intent_examples
        if message.get("text")
    ]


def write_rasa_json(examples: list[Example], path: Path) -> None:
    """Rasa's JSON training format: texts are taken literally, with no entity
    mark-up to misread in brackets of the public data."""
    common_examples = [
        {"text": text, "intent": intent, "entities": []} for text, intent in examples
    ]
    path.write_text(
        json.dumps(
            {"rasa_nlu_data": {"common_examples": common_examples}},
            ensure_ascii=False,
        ),
        "utf-8",
    )
