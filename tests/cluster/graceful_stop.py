"""The cluster stopped with SIGTERM while customers' messages and agents' replies are
on their way: every one of them is answered, and what was answered as done is done.

Three customers with an agent each write at the same moment as their agent replies,
and the launcher is told to stop while those turns and requests run. It stops the
Rasa servers first, which finish their turns and hand their events to the service,
then the action servers and the service instances, HAProxy last. Afterwards:

- each customer's message got its acknowledgement (or a refusal with the trouble
  notice), never silence; one acknowledged is in the service's database, once;
- each agent's reply got the service's own answer: 201 (and then the customer had
  it) or a 502 saying it was not delivered, never a dropped connection.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable
from typing import Any

import asyncpg

from handoff.conversation.chat_sessions import public_handle
from tests.cluster.cluster import Cluster
from tests.cluster.fault_clients import (
    HANDOFF_REQUEST,
    Board,
    FaultAgent,
    FaultCustomer,
    now,
    token,
)
from tests.cluster.message_ledger import Ledger, tokens_in
from tests.cluster.private_services import PrivatePostgres

CUSTOMERS = 3
STOP_SECONDS = 120


async def stop_in_flight(
    cluster: Cluster, postgres: PrivatePostgres
) -> tuple[dict[str, Any], list[str]]:
    """What happened to the messages in flight, and what went wrong."""
    rng = random.Random(7)
    ledger = Ledger()
    board = Board(0)
    agent = FaultAgent(
        cluster.public_url,
        "joon",
        cluster.staff_password,
        ledger,
        board,
        rng,
        online=False,
    )
    customers = [
        FaultCustomer(cluster.public_url, ledger, board, rng) for _ in range(CUSTOMERS)
    ]
    problems: list[str] = []
    try:
        deadline = now() + 120
        await agent.sign_in(deadline)
        for customer in customers:
            await customer.open(deadline)
            assert await customer.say(HANDOFF_REQUEST, deadline)
        handoffs = await _claim_each(agent, customers, deadline)
        # The takeover notices pass first.
        await asyncio.sleep(2)
        written = {customer: token(rng, "cq") for customer in customers}
        replies = {customer: token(rng, "aq") for customer in customers}
        sends: list[Awaitable[Any]] = [
            customer.try_once(f"고객 메시지 {written[customer]} 입니다", deadline)
            for customer in customers
        ]
        sends += [
            agent.request(
                "POST",
                f"/api/handoffs/{handoffs[customer]}/messages",
                {"text": f"상담원 답변 {replies[customer]} 입니다"},
            )
            for customer in customers
        ]
        in_flight = [asyncio.ensure_future(send) for send in sends]
        await asyncio.sleep(0.05)
        cluster.process.send_signal(signal.SIGTERM)
        answers = await asyncio.gather(*in_flight)
        code = await asyncio.to_thread(cluster.process.wait, STOP_SECONDS)
    finally:
        for customer in customers:
            await customer.close()
        await agent.http.close()

    if code != 0:
        problems.append(f"the launcher exited with {code}")
    stored = await _stored_texts(postgres, cluster.name)
    numbers: dict[str, Any] = {"launcher exit status": code}
    for customer, (answer, told) in zip(customers, answers[:CUSTOMERS], strict=True):
        mine = written[customer]
        copies = sum(mine in text for role, text in stored if role == "user")
        if isinstance(answer, dict) and answer.get("ok") is True:
            numbers["customer messages acknowledged"] = (
                numbers.get("customer messages acknowledged", 0) + 1
            )
            if copies != 1:
                problems.append(f"acknowledged {mine} stored {copies} times")
        elif isinstance(answer, dict) and told:
            numbers["customer messages refused"] = (
                numbers.get("customer messages refused", 0) + 1
            )
        else:
            problems.append(f"customer message {mine} in flight: answered {answer!r}")
    for customer, (status, body) in zip(customers, answers[CUSTOMERS:], strict=True):
        mine = replies[customer]
        numbers[f"agent reply {status}"] = numbers.get(f"agent reply {status}", 0) + 1
        if status == 201:
            if mine not in ledger.to_customer:
                problems.append(f"reply {mine} accepted but not received")
        elif not (
            status == 502
            and isinstance(body, dict)
            and isinstance(body.get("error"), str)
        ):
            problems.append(f"agent reply {mine} in flight: answered {status} {body}")
    return numbers, problems


async def _claim_each(
    agent: FaultAgent, customers: list[FaultCustomer], deadline: float
) -> dict[FaultCustomer, int]:
    """Each customer's handoff, the agent's: claimed, or assigned to it by the
    dispatcher (the agent is online)."""
    handles = {public_handle(c.session_id): c for c in customers}
    mine: dict[FaultCustomer, int] = {}
    while len(mine) < len(customers):
        assert now() < deadline, "the handoffs never reached the agent"
        status, data = await agent.request("GET", "/api/handoffs")
        for handoff in data.get("handoffs", []) if status == 200 else []:
            customer = handles.get(handoff.get("conversation"))
            if customer is None or customer in mine:
                continue
            if handoff.get("status") == "assigned":
                mine[customer] = handoff["id"]
            elif handoff.get("status") == "queued":
                path = f"/api/handoffs/{handoff['id']}/claim"
                if (await agent.request("POST", path))[0] == 200:
                    mine[customer] = handoff["id"]
        await asyncio.sleep(0.5)
    return mine


async def _stored_texts(postgres: PrivatePostgres, name: str) -> list[tuple[str, str]]:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", database=name
    )
    try:
        rows = await connection.fetch("SELECT role, text FROM messages")
    finally:
        await connection.close()
    return [(row["role"], row["text"]) for row in rows if tokens_in(row["text"])]
