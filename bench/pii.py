"""Personal-data detection benchmark: precision and recall per kind of the bot's
detector (bot/personal_data.py) on tests/pii/labelled_messages.yml, and what masking
costs a message. Writes the "Personal data" section of docs/benchmarks.md.

    .venv/bot/bin/python -m bench.pii [--rounds 20] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from pathlib import Path

from bench.nlu_report import machine_description, replace_section
from bench.pii_set import LABELLED_SET, Score, Span, load_messages, score
from bot.personal_data import default_masker

DOCUMENT = Path(__file__).resolve().parent.parent / "docs/benchmarks.md"
TITLE = "Personal data"


def timings(texts: list[str], rounds: int) -> list[float]:
    """Microseconds to mask each message, every message ``rounds`` times."""
    masker = default_masker()
    for text in texts:
        # The first analysis builds Presidio's caches; a running bot has them.
        masker.mask(text)
    spent = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            masker.mask(text)
            spent.append((time.perf_counter() - started) * 1e6)
    return spent


def report(scores: dict[str, Score], spent: list[float], messages: int) -> str:
    rows = "\n".join(
        f"| {kind} | {s.labelled} | {s.found} | {s.right} | {s.precision:.3f} "
        f"| {s.recall:.3f} |"
        for kind, s in scores.items()
    )
    p99 = statistics.quantiles(spent, n=100)[98]
    return f"""
Masking customers' messages before they are stored (`bot/personal_data.py`: Presidio
on a blank spaCy pipeline with the patterns of `personal_data.yml`), on the
{messages} Korean and English messages of
`{LABELLED_SET.relative_to(DOCUMENT.parent.parent)}`, of which many are near-misses
(amounts, dates, order numbers, cards failing Luhn, RRNs with a wrong check digit).
A found span counts only if its kind, start and end are those labelled.
`make bench-pii`; measured on {machine_description()},
{datetime.date.today().isoformat()}.

| Kind | Labelled | Found | Right | Precision | Recall |
|---|---:|---:|---:|---:|---:|
{rows}

Cost of masking one message ({len(spent)} maskings): mean
{statistics.fmean(spent):.0f} µs, p99 {p99:.0f} µs.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    arguments = parser.parse_args()
    messages = load_messages()
    masker = default_masker()

    def find(text: str) -> list[Span]:
        return [Span(f.entity, f.start, f.end) for f in masker.find(text)]

    body = report(
        score(messages, find),
        timings([message.text for message in messages], arguments.rounds),
        len(messages),
    )
    print(body)
    if not arguments.no_write:
        replace_section(DOCUMENT, TITLE, body)


if __name__ == "__main__":
    main()
