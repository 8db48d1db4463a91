"""The escalation benchmark's arithmetic and its report, on outcomes made by hand."""

from __future__ import annotations

import pytest

from bench.escalation_scoring import (
    Outcome,
    RunFacts,
    keyword_baseline,
    reason_confusion,
    render_report,
    replace_section,
    score,
    worst_misses,
)
from bench.escalation_set import Label


def label(reason: str | None, *accept: str, language: str = "en") -> Label:
    return Label(
        language=language,
        needs_person=reason is not None,
        reason=reason,
        accept=frozenset(accept),
        note=None,
    )


def outcome(
    item_id: str,
    expected: Label,
    got: str | None,
    trigger: str | None = None,
    *,
    text: str = "text",
    kind: str = "message",
    confidence: float | None = None,
    turn: int | None = None,
    by_turn: int | None = None,
) -> Outcome:
    return Outcome(
        kind=kind,
        item_id=item_id,
        text=text,
        label=expected,
        handed_off=got is not None,
        reason=got,
        trigger=trigger,
        status="queued" if got is not None else None,
        handoff_turn=turn,
        handoff_by_turn=by_turn,
        intent="some_intent",
        confidence=confidence,
    )


OUTCOMES = [
    outcome("a", label("human_requested"), "human_requested", "explicit_request"),
    outcome("b", label("angry_customer", "billing_dispute"), "billing_dispute"),
    outcome("c", label("cancellation"), "human_requested", "explicit_request"),
    outcome("d", label("distressed_customer"), None),
    outcome("e", label(None), None),
    outcome("f", label(None), None),
    outcome("g", label(None), None),
    outcome("h", label(None), "human_requested", "explicit_request"),
]


def test_precision_recall_and_false_handoffs() -> None:
    scores = score(OUTCOMES)
    assert (scores.items, scores.needing, scores.simple) == (8, 4, 4)
    assert scores.precision == pytest.approx(3 / 4)
    assert scores.recall == pytest.approx(3 / 4)
    assert scores.f1 == pytest.approx(3 / 4)
    assert scores.false_handoff_rate == pytest.approx(1 / 4)


def test_the_reason_counts_only_on_caught_items_and_accepts_alternatives() -> None:
    scores = score(OUTCOMES)
    assert scores.reason_accuracy == pytest.approx(2 / 3)
    assert scores.reason_exact_accuracy == pytest.approx(1 / 3)
    # b's trigger is missing, c's belongs to another reason.
    assert scores.trigger_accuracy == pytest.approx(1 / 3)


def test_scores_of_nothing_are_undefined_not_zero() -> None:
    scores = score([outcome("e", label(None), None)])
    assert scores.precision is None
    assert scores.recall is None
    assert scores.f1 is None
    assert scores.false_handoff_rate == 0


def test_a_handoff_after_the_labelled_turn_is_late() -> None:
    on_time = outcome(
        "x", label("technical_fault"), "technical_fault", turn=3, by_turn=3
    )
    late = outcome("y", label("technical_fault"), "technical_fault", turn=4, by_turn=3)
    assert not on_time.late
    assert late.late
    assert score([on_time, late]).late == 1


def test_the_confusion_pairs_labelled_and_given_reasons() -> None:
    confusion = reason_confusion(OUTCOMES)
    assert confusion["cancellation", "human_requested"] == 1
    assert confusion["distressed_customer", "no handoff"] == 1
    assert confusion["simple", "human_requested"] == 1
    assert ("simple", "no handoff") not in confusion


def test_worst_misses_put_missed_urgent_customers_first() -> None:
    misses = worst_misses(
        [
            outcome("wrong", label("cancellation"), "human_requested", confidence=0.99),
            outcome("false", label(None), "human_requested", confidence=0.9),
            outcome("missed", label("contract_change"), None, confidence=0.5),
            outcome("unsure", label("contract_change"), None, confidence=0.2),
            outcome("urgent", label("bereavement"), None, confidence=0.1),
            outcome("fine", label("bereavement"), "bereavement"),
        ]
    )
    assert [miss.item_id for miss in misses] == [
        "urgent",
        "missed",
        "unsure",
        "false",
        "wrong",
    ]


def test_the_keyword_baseline_falls_for_human_in_another_sense() -> None:
    baseline = keyword_baseline(
        [
            outcome("a", label("human_requested"), None, text="상담원 연결해 주세요"),
            outcome("b", label("human_requested"), None, text="talk to a HUMAN"),
            outcome("c", label("cancellation"), None, text="cancel my line"),
            outcome("d", label(None), None, text="you sound almost human"),
            outcome("e", label(None), None, text="how much is my bill"),
            outcome("f", label(None), None, text="ignored", kind="conversation"),
        ]
    )
    assert baseline.items == 5
    assert baseline.recall == pytest.approx(2 / 3)
    assert baseline.false_handoff_rate == pytest.approx(1 / 2)


def test_replacing_a_section_keeps_the_others() -> None:
    document = (
        "# Benchmarks\n\nIntro.\n\n## Speed\n\nfast\n\n"
        "## Knowing when to hand off\n\nold numbers\n\n### Reasons\n\nold table\n\n"
        "## Memory\n\nsmall\n"
    )
    updated = replace_section(document, "## Knowing when to hand off", "new\n")
    assert updated == (
        "# Benchmarks\n\nIntro.\n\n## Speed\n\nfast\n\n"
        "## Knowing when to hand off\n\nnew\n\n## Memory\n\nsmall\n"
    )
    assert replace_section(updated, "## Knowing when to hand off", "new\n") == updated


def test_a_missing_section_is_appended() -> None:
    updated = replace_section("# Benchmarks\n\nIntro.\n", "## Knowing", "body")
    assert updated == "# Benchmarks\n\nIntro.\n\n## Knowing\n\nbody\n"


def test_the_report_states_the_goals_and_the_misses() -> None:
    facts = RunFacts(
        date="2026-11-22 18:00 UTC",
        machine="AMD EPYC, 2 cores, 24 GiB",
        model="`models/tandem.tar.gz`",
        tree="tree at commit abc",
        seconds=12.0,
    )
    report = render_report(
        [*OUTCOMES, outcome("conv", label(None), None, kind="conversation")], facts
    )
    prose = " ".join(report.split())
    assert (
        "recall of \u201cneeds a person\u201d \u2265 0.95: 0.75, **not met**" in prose
    )
    assert "false handoffs \u2264 5% of simple requests: 20.0%, **not met**" in prose
    assert "| messages | both | 8 | 4 | 0.75 | 0.75 | 0.75 | 1 (25.0%) |" in report
    assert "| conversations | en | 1 | 0 |" in report
    assert "| 1 | d | en | text | distressed_customer | no handoff |" in report
    assert "AMD EPYC, 2 cores, 24 GiB" in prose


def test_the_report_counts_the_items_the_bot_failed_on() -> None:
    failed = Outcome(
        kind="message",
        item_id="x",
        text="hello",
        label=label(None),
        handed_off=False,
        intent=None,
    )
    facts = RunFacts(date="d", machine="m", model="x", tree="t", seconds=1.0)
    prose = " ".join(render_report([*OUTCOMES, failed], facts).split())
    assert "The bot failed on 1 of the 9 items" in prose
    assert "failed on" not in " ".join(render_report(OUTCOMES, facts).split())
