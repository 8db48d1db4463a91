"""Trains Tandem's emotion pipeline: ``python -m bot.emotion.train OUTPUT_DIR``.

Training data: GoEmotions train (English), KOTE val less a held-out tenth (Korean) and
the project's own customer-service examples in ``data/customer_service.tsv``, which
count several times because they are the kind of text the bot will see. The
calibration thresholds (see :mod:`bot.emotion.scoring`) are chosen on GoEmotions dev
(English) and the held-out KOTE tenth (Korean) and stored in the pipeline's meta. KOTE
test and GoEmotions test are never read here: the benchmark evaluates on them.

Deterministic for a given seed; three to four minutes on two otherwise idle cores.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.training import Example
from spacy.util import compounding, fix_random_seed, minibatch

from bot.emotion.datasets import (
    DatasetError,
    LabelledText,
    read_examples,
    read_goemotions,
    read_kote,
)
from bot.emotion.evaluation import binary_scores
from bot.emotion.features import ARCHITECTURE
from bot.emotion.labels import EMOTIONS, NEGATIVE_EMOTIONS
from bot.emotion.rules import EmotionRules
from bot.emotion.scoring import (
    DECISION_THRESHOLD,
    DEFAULT_MODEL_PATH,
    META_KEY,
    PIPE_NAME,
    EmotionScorer,
    choose_thresholds,
    negative_score,
)

OWN_EXAMPLE_WEIGHT = 5
KOTE_DEV_SHARE = 0.1
DEFAULT_EPOCHS = 6
DEFAULT_SEED = 13


def _log(line: str) -> None:
    # Progress shows up at once when the output goes to a log file.
    print(line, flush=True)


def build_pipeline() -> Language:
    """A blank multi-language tokenizer and an untrained multi-label classifier."""
    nlp = spacy.blank("xx")
    textcat = nlp.add_pipe(
        PIPE_NAME, config={"model": {"@architectures": ARCHITECTURE}}
    )
    for emotion in EMOTIONS:
        textcat.add_label(emotion)  # type: ignore[attr-defined]
    nlp.meta["name"] = "tandem_emotion"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = (
        "Anger, frustration and distress in Korean and English customer messages"
    )
    return nlp


def _example(nlp: Language, item: LabelledText) -> Example:
    cats = {emotion: float(emotion in item.emotions) for emotion in EMOTIONS}
    return Example.from_dict(nlp.make_doc(item.text), {"cats": cats})


def train_pipeline(
    nlp: Language,
    items: Sequence[LabelledText],
    epochs: int,
    seed: int = DEFAULT_SEED,
    log: Callable[[str], None] = _log,
) -> Language:
    """Trains ``nlp`` (from :func:`build_pipeline`) in place and returns it."""
    if not items:
        raise ValueError("no training examples")
    fix_random_seed(seed)
    shuffler = random.Random(seed)
    examples = [_example(nlp, item) for item in items]
    optimizer = nlp.initialize(lambda: examples)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        shuffler.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=compounding(16.0, 128.0, 1.001)):
            nlp.update(batch, sgd=optimizer, losses=losses)
        log(
            f"epoch {epoch}/{epochs}: loss {losses.get(PIPE_NAME, 0.0):.2f} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return nlp


def negative_f1(nlp: Language, items: Sequence[LabelledText]) -> float:
    """F1 of the calibrated negative decision, rules included."""
    scorer = EmotionScorer(nlp, EmotionRules.from_data_dir())
    scores = scorer.score(item.text for item in items)
    gold = [bool(item.emotions & set(NEGATIVE_EMOTIONS)) for item in items]
    predicted = [negative_score(s) >= DECISION_THRESHOLD for s in scores]
    return binary_scores(gold, predicted).f1


def split_kote_val(
    items: list[LabelledText], seed: int
) -> tuple[list[LabelledText], list[LabelledText]]:
    """KOTE val, shuffled with ``seed``: (training part, held-out dev part)."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    held_out = int(len(shuffled) * KOTE_DEV_SHARE)
    return shuffled[held_out:], shuffled[:held_out]


@dataclass(frozen=True)
class TrainingData:
    train: list[LabelledText]
    # Held out for calibration: GoEmotions dev (English), a tenth of KOTE val (Korean).
    dev: list[LabelledText]
    counts: dict[str, int]


def load_training_data(benchdata: Path | None, seed: int) -> TrainingData:
    """The training and calibration data, the same for every run with ``seed``."""
    kote_train, kote_dev = split_kote_val(read_kote("val", benchdata), seed)
    goemotions_train = read_goemotions("train", benchdata)
    own = read_examples()
    return TrainingData(
        train=[*goemotions_train, *kote_train, *own * OWN_EXAMPLE_WEIGHT],
        dev=[*read_goemotions("dev", benchdata), *kote_dev],
        counts={
            "goemotions_train": len(goemotions_train),
            "kote_val": len(kote_train),
            "own": len(own),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.emotion.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("output_dir", nargs="?", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument(
        "--benchdata",
        type=Path,
        default=None,
        help="folder with goemotions/ and kote/ (default: $TANDEM_BENCHDATA_DIR, "
        "else bot/emotion/data/public)",
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")

    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        data = load_training_data(args.benchdata, args.seed)
    except DatasetError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    _log(f"training on {data.counts} (own examples x{OWN_EXAMPLE_WEIGHT})")
    nlp = train_pipeline(build_pipeline(), data.train, args.epochs, args.seed)
    raw_scores = EmotionScorer(nlp, rules=None).raw_scores
    thresholds = choose_thresholds(raw_scores, data.dev)
    nlp.meta[META_KEY] = {"thresholds": thresholds}
    dev_f1 = {
        language: round(
            negative_f1(nlp, [item for item in data.dev if item.language == language]),
            4,
        )
        for language in thresholds
    }
    _log(f"thresholds {thresholds}; negative F1 on dev {dev_f1}")
    elapsed = time.perf_counter() - started
    nlp.meta[META_KEY] = {
        "thresholds": thresholds,
        "dev_negative_f1": dev_f1,
        "epochs": args.epochs,
        "seed": args.seed,
        "training_examples": data.counts,
        "training_seconds": round(elapsed),
        # CPU time says more than wall time on a machine shared with other work.
        "training_cpu_seconds": round(time.process_time() - cpu_started),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(args.output_dir)
    _log(f"emotion pipeline written to {args.output_dir} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
