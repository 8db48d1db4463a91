"""Every message the fault test's customers and agents sent, what the other side
received, and what the service stored; and the checks made of them afterwards.

What "sent" means, for each side:

- A customer's message is *sent* once a Rasa server acknowledged it
  (``{"ok": true}`` on socket.io's callback): its turn is over, stored in the
  conversation and handed to the event broker. An attempt without that answer
  (the socket dropped, the assistant having trouble) is sent again, with the
  same id and marked as resent, until it is acknowledged or the test gives up on
  it. A message never acknowledged may have got through once, or not at all.
- An agent's reply is *sent* once the service answered it with 2xx. A reply the
  service refused with an error, or never answered (its instance killed), is sent
  again with the same client id, which the service takes as the same message.

Each message carries a token of its own in its text, which is what the checks
count by.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

TOKEN = re.compile(r"\b(?:cq|aq)[a-z]{10}\b")


def tokens_in(text: str) -> list[str]:
    return TOKEN.findall(text or "")


@dataclass
class CustomerMessage:
    token: str
    conversation: str
    handoff_id: int | None
    attempts: int = 0
    acknowledged: bool = False
    # Answers {"ok": false}: each must have come with the trouble notice.
    refused: int = 0
    refused_untold: int = 0


@dataclass
class AgentReply:
    token: str
    handoff_id: int
    agent: str
    attempts: int = 0
    accepted: bool = False
    statuses: list[int | str] = field(default_factory=list)


@dataclass
class Stored:
    """A message as the service's database holds it."""

    message_id: int
    handoff_id: int
    role: str
    text: str
    delivery: str | None


@dataclass
class Ledger:
    customer_messages: dict[str, CustomerMessage] = field(default_factory=dict)
    agent_replies: dict[str, AgentReply] = field(default_factory=dict)
    # Token -> the service's message id of each copy that reached the other side
    # (the customer's socket; the agent's live feed or a reading of the handoff).
    to_customer: dict[str, list[int | None]] = field(
        default_factory=lambda: defaultdict(list)
    )
    to_agent: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    # Handoff id -> the agents whose claim of it the service answered with 200.
    claims_won: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    trouble_notices: int = 0

    def customer_message(
        self, token: str, conversation: str, handoff_id: int | None
    ) -> CustomerMessage:
        message = CustomerMessage(token, conversation, handoff_id)
        self.customer_messages[token] = message
        return message

    def agent_reply(self, token: str, handoff_id: int, agent: str) -> AgentReply:
        reply = AgentReply(token, handoff_id, agent)
        self.agent_replies[token] = reply
        return reply

    def customer_received(self, text: str, message_id: int | None) -> None:
        for token in tokens_in(text):
            self.to_customer[token].append(message_id)

    def agent_saw(self, text: str, message_id: int) -> None:
        for token in tokens_in(text):
            self.to_agent[token].add(message_id)


@dataclass(frozen=True)
class Transition:
    handoff_id: int
    to_status: str
    actor: str
    assigned_agent: str | None


def problems(
    ledger: Ledger,
    stored: list[Stored],
    transitions: list[Transition],
    paused_without_handoff: list[str],
) -> list[str]:
    """Everything that breaks the guarantees, one line each; empty when none."""
    found: list[str] = []
    by_token: dict[str, list[Stored]] = defaultdict(list)
    for row in stored:
        for token in tokens_in(row.text):
            by_token[token].append(row)

    for token, message in ledger.customer_messages.items():
        rows = [row for row in by_token[token] if row.role == "user"]
        if message.acknowledged and message.handoff_id is not None:
            if len(rows) != 1:
                found.append(f"customer {token}: stored {len(rows)} times, not once")
            seen = ledger.to_agent.get(token, set())
            if len(seen) != 1:
                found.append(f"customer {token}: reached the agent as {sorted(seen)}")
        elif len(rows) > 1:
            found.append(f"customer {token} (unacknowledged): stored {len(rows)} times")
        if message.refused_untold:
            found.append(
                f"customer {token}: {message.refused_untold} refusals came without"
                " the trouble notice"
            )

    for token, reply in ledger.agent_replies.items():
        rows = [row for row in by_token[token] if row.role == "agent"]
        received = ledger.to_customer.get(token, [])
        if reply.accepted:
            if len(rows) != 1:
                found.append(f"agent {token}: stored {len(rows)} times, not once")
            if not received:
                found.append(f"agent {token}: accepted but never reached the customer")
            elif len(set(received)) != 1:
                copies = sorted(map(str, set(received)))
                found.append(
                    f"agent {token}: reached the customer as {copies} (different"
                    " messages)"
                )
        elif len(rows) > 1:
            found.append(f"agent {token} (not accepted): stored {len(rows)} times")
    stray = set(ledger.to_customer) - set(ledger.agent_replies)
    stray |= set(ledger.to_agent) - set(ledger.customer_messages)
    found.extend(f"{token}: received but never sent" for token in sorted(stray))

    for conversation in paused_without_handoff:
        found.append(f"conversation {conversation}: paused with no open handoff")

    assignments = Counter(
        t.handoff_id for t in transitions if t.to_status == "assigned"
    )
    owners: dict[int, set[str | None]] = defaultdict(set)
    for transition in transitions:
        if transition.to_status == "assigned":
            owners[transition.handoff_id].add(transition.assigned_agent)
    for handoff_id, count in sorted(assignments.items()):
        if count != 1:
            found.append(f"handoff {handoff_id}: assigned {count} times")
    for handoff_id, winners in sorted(ledger.claims_won.items()):
        if len(winners) > 1:
            found.append(f"handoff {handoff_id}: claimed by {winners}")
        elif not set(winners) <= owners[handoff_id]:
            found.append(
                f"handoff {handoff_id}: claimed by {winners} but assigned to"
                f" {sorted(map(str, owners[handoff_id]))}"
            )
    return found


def duplicates_on_the_socket(ledger: Ledger) -> int:
    """Copies of an agent's reply that arrived again with the same message id,
    which the page shows once."""
    return sum(len(ids) - 1 for ids in ledger.to_customer.values() if ids)
