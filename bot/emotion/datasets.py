"""Reads labelled texts: GoEmotions, KOTE and Tandem's own customer-service examples.

Every reader returns :class:`LabelledText` items whose ``emotions`` are Tandem's three
(see :mod:`bot.emotion.labels`), so training and benchmarks see one format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.emotion.labels import (
    EMOTIONS,
    GOEMOTIONS_TO_EMOTIONS,
    KOTE_TO_EMOTIONS,
    map_labels,
)

OWN_EXAMPLES = Path(__file__).parent / "data" / "customer_service.tsv"
# Held out from training, for the benchmark.
OWN_EVAL_EXAMPLES = Path(__file__).parent / "data" / "customer_service_eval.tsv"
# The training splits ship with the repository; the test splits, used only by the
# benchmark, live outside it (TANDEM_BENCHDATA_DIR, which also overrides both).
VENDORED_DIR = Path(__file__).parent / "data" / "public"
DEFAULT_BENCHDATA_DIR = Path("../shared/benchdata")


@dataclass(frozen=True)
class LabelledText:
    text: str
    emotions: frozenset[str]
    language: str


class DatasetError(ValueError):
    """A data file is missing or has a malformed line."""


def benchdata_dir() -> Path:
    return Path(os.environ.get("TANDEM_BENCHDATA_DIR", DEFAULT_BENCHDATA_DIR))


def data_root(dataset: str, split: str) -> Path:
    """Where ``dataset/split.tsv`` is read from when no folder is given."""
    if (
        "TANDEM_BENCHDATA_DIR" not in os.environ
        and (VENDORED_DIR / dataset / f"{split}.tsv").is_file()
    ):
        return VENDORED_DIR
    return benchdata_dir()


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(
            f"{path} not found: point --benchdata or TANDEM_BENCHDATA_DIR at the "
            "folder that holds goemotions/ and kote/"
        )
    return path.read_text("utf-8").splitlines()


def _label_names(path: Path) -> list[str]:
    return [line.strip() for line in _read_lines(path) if line.strip()]


def _label_ids(field: str, names: list[str], where: str) -> list[str]:
    try:
        return [names[int(part)] for part in field.split(",") if part.strip()]
    except (ValueError, IndexError) as error:
        raise DatasetError(f"{where}: bad label ids {field!r}") from error


def read_goemotions(split: str, root: Path | None = None) -> list[LabelledText]:
    """GoEmotions ``split`` (train, dev, test): ``text \\t label ids \\t id``."""
    folder = (root or data_root("goemotions", split)) / "goemotions"
    names = _label_names(folder / "labels.txt")
    path = folder / f"{split}.tsv"
    items = []
    for number, line in enumerate(_read_lines(path), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise DatasetError(f"{path}:{number}: expected 3 tab-separated fields")
        labels = _label_ids(fields[1], names, f"{path}:{number}")
        emotions = map_labels(labels, GOEMOTIONS_TO_EMOTIONS)
        items.append(LabelledText(fields[0], frozenset(emotions), "en"))
    return items


def read_kote(split: str, root: Path | None = None) -> list[LabelledText]:
    """KOTE ``split`` (val, test): ``id \\t text \\t label ids``."""
    folder = (root or data_root("kote", split)) / "kote"
    names = _label_names(folder / "labels.txt")
    path = folder / f"{split}.tsv"
    items = []
    for number, line in enumerate(_read_lines(path), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise DatasetError(f"{path}:{number}: expected 3 tab-separated fields")
        labels = _label_ids(fields[2], names, f"{path}:{number}")
        emotions = map_labels(labels, KOTE_TO_EMOTIONS)
        items.append(LabelledText(fields[1], frozenset(emotions), "ko"))
    return items


def read_examples(path: Path = OWN_EXAMPLES) -> list[LabelledText]:
    """Tandem's own examples: ``language \\t emotions (comma-separated or -) \\t text``.

    Lines starting with ``#`` and blank lines are skipped.
    """
    items = []
    for number, line in enumerate(_read_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] not in ("ko", "en") or not fields[2].strip():
            raise DatasetError(
                f"{path}:{number}: expected 'ko|en <tab> emotions <tab> text'"
            )
        emotions = set() if fields[1] == "-" else set(fields[1].split(","))
        unknown = emotions - set(EMOTIONS)
        if unknown:
            raise DatasetError(f"{path}:{number}: unknown emotions {sorted(unknown)}")
        items.append(LabelledText(fields[2], frozenset(emotions), fields[0]))
    return items
