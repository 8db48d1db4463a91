"""Measures the emotion component beside a baseline trained in the same run.

On GoEmotions test (English), KOTE test (Korean) and the project's held-out
customer-service examples: F1 of the negative decision (anger or frustration) and of
distress, for the component with and without its rules and for a TF-IDF +
logistic-regression baseline (``bench/emotion_baseline.py``) trained on the same data;
what each rule adds; parse latency through the Rasa component; memory and size. Prints
the report and writes the "Emotion" section of docs/benchmarks.md and
results/emotion/report.json.

    .venv/bot/bin/python -m bench.emotion [--model models/emotion/tandem_emotion]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sklearn
import spacy
from rasa.shared.nlu.training_data.message import Message

from bench.emotion_baseline import TfidfLogisticBaseline
from bench.emotion_report import SECTION_HEADING, render, replace_section
from bot.emotion.component import EmotionScorerComponent
from bot.emotion.datasets import (
    OWN_EVAL_EXAMPLES,
    DatasetError,
    LabelledText,
    read_examples,
    read_goemotions,
    read_kote,
)
from bot.emotion.evaluation import binary_scores
from bot.emotion.labels import DISTRESS, NEGATIVE_EMOTIONS
from bot.emotion.rules import RULE_NAMES, EmotionRules
from bot.emotion.scoring import (
    DECISION_THRESHOLD,
    DEFAULT_MODEL_PATH,
    META_KEY,
    EmotionModelError,
    EmotionScorer,
    apply_thresholds,
    choose_thresholds,
    negative_score,
)
from bot.emotion.train import DEFAULT_SEED, load_training_data

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "results" / "emotion" / "report.json"
LATENCY_MESSAGES = 2000
MEMORY_MESSAGES = 1000
WARM_UP_MESSAGES = 50
COMPONENT = "component (model + rules)"
MODEL_ONLY = "component, model only"
BASELINE = "baseline: TF-IDF + logistic regression"

Scores = list[dict[str, float]]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_kib / 1024**2,
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "sklearn": sklearn.__version__,
    }


def measure_memory(model: Path, texts: list[str]) -> dict[str, float]:
    """RSS growth and peak Python allocations of loading the pipeline and scoring."""
    before = _rss_mb()
    tracemalloc.start()
    scorer = EmotionScorer.load(model)
    for text in texts:
        scorer.score([text])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    disk = sum(path.stat().st_size for path in model.rglob("*") if path.is_file())
    return {
        "messages": len(texts),
        "component_rss_mb": _rss_mb() - before,
        "component_tracemalloc_peak_mb": peak / 1024**2,
        "component_disk_mb": disk / 1024**2,
    }


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100)
    return {"p50": statistics.median(samples_ms), "p99": cuts[98]}


def measure_latency(
    scorer: EmotionScorer,
    baseline: Callable[[list[str]], Scores],
    texts: list[str],
) -> dict[str, Any]:
    component = EmotionScorerComponent(scorer)
    for text in texts[:WARM_UP_MESSAGES]:
        component.process([Message(data={"text": text})])
        baseline([text])
    component_ms, baseline_ms = [], []
    for text in texts:
        message = Message(data={"text": text})
        started = time.perf_counter()
        component.process([message])
        component_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        baseline([text])
        baseline_ms.append((time.perf_counter() - started) * 1000)
    return {
        "messages": len(texts),
        "component": _percentiles(component_ms),
        "baseline": _percentiles(baseline_ms),
    }


def _decision(
    items: Sequence[LabelledText], scores: Scores, negative: bool
) -> dict[str, Any]:
    if negative:
        gold = [bool(item.emotions & set(NEGATIVE_EMOTIONS)) for item in items]
        predicted = [negative_score(s) >= DECISION_THRESHOLD for s in scores]
    else:
        gold = [DISTRESS in item.emotions for item in items]
        predicted = [s[DISTRESS] >= DECISION_THRESHOLD for s in scores]
    return asdict(binary_scores(gold, predicted))


def rule_effects(
    items: Sequence[LabelledText], model_scores: Scores
) -> dict[str, dict[str, int]]:
    """For each rule alone: texts it fires on, decisions it makes right and wrong."""
    effects = {}
    for rule in RULE_NAMES:
        rules = EmotionRules.from_data_dir(enabled=[rule])
        distress = rule == "distress_words"
        fires = fixed = broken = 0
        for item, scores in zip(items, model_scores, strict=True):
            if not getattr(rules.hits(item.text), rule):
                continue
            fires += 1
            after = rules.apply(item.text, scores)
            if distress:
                gold = DISTRESS in item.emotions
                was, now = (s[DISTRESS] >= DECISION_THRESHOLD for s in (scores, after))
            else:
                gold = bool(item.emotions & set(NEGATIVE_EMOTIONS))
                was, now = (
                    negative_score(s) >= DECISION_THRESHOLD for s in (scores, after)
                )
            if was != now:
                fixed += now == gold
                broken += now != gold
        effects[rule] = {"fires": fires, "fixed": fixed, "broken": broken}
    return effects


def evaluate(
    name: str,
    items: list[LabelledText],
    scorer: EmotionScorer,
    baseline: Callable[[list[str]], Scores],
) -> dict[str, Any]:
    texts = [item.text for item in items]
    model_only = scorer.model_scores(texts)
    systems = {
        COMPONENT: scorer.score(texts),
        MODEL_ONLY: model_only,
        BASELINE: baseline(texts),
    }
    result: dict[str, Any] = {"name": name, "size": len(items)}
    for decision, negative in (("negative", True), ("distress", False)):
        per_system = {
            system: _decision(items, scores, negative)
            for system, scores in systems.items()
        }
        result[decision] = {
            "gold_positive": next(iter(per_system.values()))["support"],
            "systems": per_system,
        }
    result["rules"] = rule_effects(items, model_only)
    return result


def run(model: Path, benchdata: Path | None) -> dict[str, Any]:
    goemotions_test = read_goemotions("test", benchdata)
    kote_test = read_kote("test", benchdata)
    # Korean and English alternating, like a mixed customer base.
    mixed = [
        item.text
        for pair in zip(kote_test, goemotions_test, strict=False)
        for item in pair
    ]
    memory = measure_memory(model, mixed[:MEMORY_MESSAGES])
    print(f"memory: {memory}", flush=True)

    scorer = EmotionScorer.load(model)
    meta = scorer.nlp.meta.get(META_KEY, {})
    data = load_training_data(benchdata, int(meta.get("seed", DEFAULT_SEED)))
    started, cpu_started = time.perf_counter(), time.process_time()
    trained = TfidfLogisticBaseline().fit(data.train)
    thresholds = choose_thresholds(trained.raw_scores, data.dev)
    baseline_seconds = time.perf_counter() - started
    baseline_cpu_seconds = time.process_time() - cpu_started
    print(f"baseline trained in {baseline_seconds:.0f} s", flush=True)

    def baseline(texts: list[str]) -> Scores:
        return apply_thresholds(texts, trained.raw_scores(texts), thresholds)

    data_sets = [
        evaluate("GoEmotions test (English)", goemotions_test, scorer, baseline),
        evaluate("KOTE test (Korean)", kote_test, scorer, baseline),
        evaluate(
            "customer-service, held out (both)",
            read_examples(OWN_EVAL_EXAMPLES),
            scorer,
            baseline,
        ),
    ]
    latency = measure_latency(scorer, baseline, mixed[:LATENCY_MESSAGES])
    memory["baseline_pickle_mb"] = len(pickle.dumps(trained)) / 1024**2
    return {
        "machine": machine_facts(),
        "systems": [COMPONENT, MODEL_ONLY, BASELINE],
        "component": {
            "model": str(model),
            "epochs": meta.get("epochs"),
            "training_seconds": meta.get("training_seconds"),
            "training_cpu_seconds": meta.get("training_cpu_seconds"),
            "thresholds": meta.get("thresholds"),
        },
        "baseline": {
            "training_seconds": baseline_seconds,
            "training_cpu_seconds": baseline_cpu_seconds,
            "thresholds": thresholds,
        },
        "data_sets": data_sets,
        "latency_ms": latency,
        "memory": memory,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.emotion")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--benchdata", type=Path, default=None)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave the docs alone"
    )
    args = parser.parse_args(argv)
    try:
        report = run(args.model, args.benchdata)
    except (EmotionModelError, DatasetError) as error:
        print(f"bench-emotion: {error}", file=sys.stderr)
        return 2
    body = render(report)
    print(body)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
        DOCS.write_text(
            replace_section(DOCS.read_text("utf-8"), SECTION_HEADING, body), "utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
