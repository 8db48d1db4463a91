"""Renders the emotion benchmark as the "Emotion" section of docs/benchmarks.md."""

from __future__ import annotations

import re
from typing import Any

SECTION_HEADING = "## Emotion"


def replace_section(document: str, heading: str, body: str) -> str:
    """``document`` with the section under ``heading`` (up to the next heading of the
    same level) replaced by ``body``; appended when it is not there yet."""
    level = heading.split(" ", 1)[0]
    section = f"{heading}\n\n{body.rstrip()}\n"
    pattern = re.compile(
        rf"^{re.escape(heading)}[ \t]*\n.*?(?=^{re.escape(level)} |\Z)",
        re.MULTILINE | re.DOTALL,
    )
    if pattern.search(document):
        replaced = pattern.sub(lambda _: section + "\n", document, count=1)
        return replaced.rstrip() + "\n"
    return f"{document.rstrip()}\n\n{section}"


def _f(value: float) -> str:
    return f"{value:.3f}"


def _decision_row(system: str, scores: dict[str, Any]) -> str:
    return (
        f"| {system} | {_f(scores['precision'])} | {_f(scores['recall'])} "
        f"| **{_f(scores['f1'])}** |"
    )


def _decision_table(report: dict[str, Any], decision: str) -> list[str]:
    lines = []
    for data_set in report["data_sets"]:
        lines += [
            f"*{data_set['name']}* — {data_set['size']} texts, "
            f"{data_set[decision]['gold_positive']} {decision}:",
            "",
            "| system | precision | recall | F1 |",
            "|---|---|---|---|",
        ]
        for system in report["systems"]:
            lines.append(_decision_row(system, data_set[decision]["systems"][system]))
        lines.append("")
    return lines


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    component = report["component"]
    baseline = report["baseline"]
    latency = report["latency_ms"]
    memory = report["memory"]
    lines = [
        "Measured by `make bench-emotion` (`bench/emotion.py`) on "
        f"{machine['date']}: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']:.0f} GiB, Python {machine['python']}, "
        f"spaCy {machine['spacy']}, scikit-learn {machine['sklearn']}.",
        "",
        "What is measured: the component (`bot/emotion/`: a spaCy `textcat_multilabel` "
        "over hashed word and character n-grams, calibrated per language, then the "
        "rules) against a **baseline trained in the same run on the same examples**: "
        "TF-IDF (word 1–2 grams, character 1–4 grams) and one logistic regression per "
        "emotion, calibrated the same way. Both decide *negative* when the anger or "
        "frustration score is 0.5 or more, and *distress* when the distress score is. "
        "Gold labels come from the data sets' labels through the mapping in "
        "`bot/emotion/labels.py`: on GoEmotions, negative is anger, annoyance, "
        "disappointment, disapproval or disgust and distress is sadness, grief, fear, "
        "nervousness or remorse; on KOTE, negative is the complaint-and-anger family "
        "(불평/불만, 화남/분노, 짜증, 어이없음, 지긋지긋, 안타까움/실망, 힘듦/지침, "
        "귀찮음, 증오/혐오, 역겨움/징그러움) and distress is 슬픔, 절망, 서러움, "
        "공포/무서움, 불안/걱정, 패배/자기혐오. The customer-service set is the "
        "project's own held-out examples (`bot/emotion/data/customer_service_eval.tsv`,"
        " never trained on; small and written by the same people as the training "
        "examples, so it shows the domain, not a general figure).",
        "",
        "### Negative (anger or frustration)",
        "",
        *_decision_table(report, "negative"),
        "### Distress",
        "",
        *_decision_table(report, "distress"),
        "### What each rule adds",
        "",
        "Each rule alone on top of the calibrated model: how often it fires, and how "
        "many decisions it changes to right and to wrong (negative for profanity, "
        "shouting and repeated punctuation; distress for distress words). The rules "
        "are written for messages aimed at the operator; online comments curse, shout "
        "and grieve about everything else too, so the public sets are their hard case. "
        "Above the decisions, the rules also raise the scores of messages that are "
        "already negative or distressed, which is what the conversation-level "
        "thresholds in the actions read.",
        "",
        "| data set | rule | fires on | decisions made right | decisions made wrong |",
        "|---|---|---|---|---|",
    ]
    for data_set in report["data_sets"]:
        for rule, effect in data_set["rules"].items():
            lines.append(
                f"| {data_set['name']} | {rule} | {effect['fires']} "
                f"| {effect['fixed']} | {effect['broken']} |"
            )
    lines += [
        "",
        "### Speed, size and training",
        "",
        "| | component | baseline |",
        "|---|---|---|",
        f"| parse latency p50 / p99, one message at a time | "
        f"{latency['component']['p50']:.2f} / {latency['component']['p99']:.2f} ms | "
        f"{latency['baseline']['p50']:.2f} / {latency['baseline']['p99']:.2f} ms |",
        f"| model size | {memory['component_disk_mb']:.1f} MB on disk | "
        f"{memory['baseline_pickle_mb']:.1f} MB pickled |",
        f"| memory: RSS growth from loading and scoring "
        f"{memory['messages']} messages | {memory['component_rss_mb']:.1f} MB | — |",
        f"| memory: peak Python allocations (tracemalloc) while loading and scoring "
        f"| {memory['component_tracemalloc_peak_mb']:.1f} MB | — |",
        f"| training time, wall / CPU | {component['training_seconds']} / "
        f"{component['training_cpu_seconds']} s ({component['epochs']} epochs, "
        "when the model was built, calibration included) | "
        f"{baseline['training_seconds']:.0f} / "
        f"{baseline['training_cpu_seconds']:.0f} s (in this run) |",
        "",
        f"Latency is the Rasa component's `process` on {latency['messages']} "
        "messages from the two test sets, Korean and English alternating, each "
        "parsed alone; the baseline's figure is its vectoriser and three classifiers "
        "on one message. Both run on a machine shared with other work, so take the "
        "tail with care.",
        "",
        "### Against the published figures",
        "",
        "The papers report macro-F1 over every fine-grained label: GoEmotions test "
        "0.46 with BERT-base (0.50 re-run) over 28 labels, KOTE 0.56 with KcELECTRA "
        "over 44. The figures above are for a different and easier task — two grouped "
        "yes/no decisions — so they cannot be compared with those numbers, in either "
        "direction. KOTE's labels are the union of several raters' choices (7.9 labels "
        "a comment on average), so about two thirds of its comments count as negative; "
        "its F1 is high partly because of that base rate. Both data sets are online "
        "comments, not customer-service chat.",
    ]
    return "\n".join(lines)
