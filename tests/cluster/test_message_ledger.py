"""The fault test's accounting (tests/cluster/message_ledger.py) finds each kind of
broken guarantee, and nothing when every message arrived once."""

from __future__ import annotations

from tests.cluster.message_ledger import (
    Ledger,
    Stored,
    Transition,
    duplicates_on_the_socket,
    problems,
    tokens_in,
)

CUSTOMER = "cqabcdefghij"
AGENT = "aqabcdefghij"


def talked() -> tuple[Ledger, list[Stored], list[Transition]]:
    """One customer message and one agent reply, each where it belongs, once."""
    ledger = Ledger()
    ledger.customer_message(CUSTOMER, "s1", 7).acknowledged = True
    ledger.agent_reply(AGENT, 7, "mina").accepted = True
    ledger.agent_saw(f"고객 메시지 {CUSTOMER} 입니다", 100)
    ledger.customer_received(f"상담원 답변 {AGENT} 입니다", 101)
    ledger.claims_won[7].append("mina")
    stored = [
        Stored(100, 7, "user", f"고객 메시지 {CUSTOMER} 입니다", None),
        Stored(101, 7, "agent", f"상담원 답변 {AGENT} 입니다", "delivered"),
    ]
    transitions = [
        Transition(7, "queued", "ingest", None),
        Transition(7, "assigned", "agent", "mina"),
    ]
    return ledger, stored, transitions


def test_every_message_once_is_no_problem() -> None:
    ledger, stored, transitions = talked()

    assert problems(ledger, stored, transitions, []) == []


def test_tokens_are_found_in_text() -> None:
    assert tokens_in(f"a {CUSTOMER}, b {AGENT}. cqshort aqTOOUPPERCASE") == [
        CUSTOMER,
        AGENT,
    ]


def test_a_customer_message_stored_twice_and_seen_twice_is_found() -> None:
    ledger, stored, transitions = talked()
    stored.append(Stored(102, 7, "user", f"고객 메시지 {CUSTOMER} 입니다", None))
    ledger.agent_saw(CUSTOMER, 102)

    found = problems(ledger, stored, transitions, [])

    assert found == [
        f"customer {CUSTOMER}: stored 2 times, not once",
        f"customer {CUSTOMER}: reached the agent as [100, 102]",
    ]


def test_an_acknowledged_message_the_agent_never_saw_is_lost() -> None:
    ledger, stored, transitions = talked()
    ledger.to_agent.clear()

    assert problems(ledger, stored, transitions, []) == [
        f"customer {CUSTOMER}: reached the agent as []"
    ]


def test_an_unacknowledged_message_may_be_missing_but_not_doubled() -> None:
    ledger, stored, transitions = talked()
    ledger.customer_messages[CUSTOMER].acknowledged = False
    ledger.to_agent.clear()
    assert problems(ledger, stored[1:], transitions, []) == []

    stored.append(stored[0])
    assert problems(ledger, stored, transitions, []) == [
        f"customer {CUSTOMER} (unacknowledged): stored 2 times"
    ]


def test_an_accepted_reply_lost_or_doubled_for_the_customer_is_found() -> None:
    ledger, stored, transitions = talked()
    ledger.customer_received(AGENT, 101)
    # The same message twice is one message, which the page shows once.
    assert problems(ledger, stored, transitions, []) == []
    assert duplicates_on_the_socket(ledger) == 1

    ledger.customer_received(AGENT, 109)
    assert problems(ledger, stored, transitions, []) == [
        f"agent {AGENT}: reached the customer as ['101', '109'] (different messages)"
    ]

    ledger.to_customer.clear()
    assert problems(ledger, stored, transitions, []) == [
        f"agent {AGENT}: accepted but never reached the customer"
    ]


def test_a_refusal_without_the_trouble_notice_is_found() -> None:
    ledger, stored, transitions = talked()
    ledger.customer_messages[CUSTOMER].refused_untold = 1

    assert problems(ledger, stored, transitions, []) == [
        f"customer {CUSTOMER}: 1 refusals came without the trouble notice"
    ]


def test_paused_conversations_and_double_assignments_are_found() -> None:
    ledger, stored, transitions = talked()
    ledger.claims_won[7].append("joon")
    transitions.append(Transition(7, "assigned", "dispatcher", "joon"))

    assert problems(ledger, stored, transitions, ["s1"]) == [
        "conversation s1: paused with no open handoff",
        "handoff 7: assigned 2 times",
        "handoff 7: claimed by ['mina', 'joon']",
    ]


def test_a_claim_won_by_one_agent_and_assigned_to_another_is_found() -> None:
    ledger, stored, transitions = talked()
    ledger.claims_won[7] = ["joon"]

    assert problems(ledger, stored, transitions, []) == [
        "handoff 7: claimed by ['joon'] but assigned to ['mina']"
    ]
