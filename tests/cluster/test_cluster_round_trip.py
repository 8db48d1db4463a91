"""The cluster as `make run-cluster` starts it: two Rasa servers, an action server and
two service instances behind HAProxy, on PostgreSQL and Redis, all real processes.

Customers' web chats go through HAProxy, long polling first and then a WebSocket, as
the page falls back to; each stays on the Rasa server HAProxy's cookie names. The
routes the cluster would choose freely are pinned so that every hop crosses: the
service instances call Rasa server 1, the Rasa and action servers call service
instance 2, the agent's console is on service instance 1, and the customer's socket
on Rasa server 2.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests.cluster.cluster import ROOT, Cluster, running_cluster
from tests.e2e.participants import Agent, Customer

pytestmark = pytest.mark.cluster

MODEL = Path(os.environ.get("TANDEM_TEST_MODEL", ROOT / "models" / "tandem.tar.gz"))
STICKINESS_COOKIE = "TANDEM_RASA"
RASA_SERVERS = {"rasa-1", "rasa-2"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' first")
    with running_cluster(
        MODEL,
        tmp_path_factory.mktemp("cluster"),
        "--rasa",
        "2",
        "--actions",
        "1",
        "--services",
        "2",
        "--service-calls-rasa",
        "rasa-1",
        "--bot-calls-service",
        "handoff-2",
    ) as running:
        yield running


class BalancedCustomer(Customer):
    """A web chat customer behind the load balancer: its session id and its socket
    both through HAProxy, polling first, keeping HAProxy's cookie like a browser."""

    def __init__(self, public_url: str) -> None:
        super().__init__(public_url, public_url)
        # aiohttp keeps no cookies from an IP address unless told to.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.client = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_refused", self.refusals.put)

    async def connect(self) -> None:
        async with self.http.post(f"{self.rasa_url}/api/chat/sessions") as issued:
            assert issued.status == 201, await issued.text()
            self.session_id = (await issued.json())["session_id"]
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda data: confirmed.set_result(data))
        await self.client.connect(
            self.rasa_url,
            socketio_path="/socket.io",
            transports=["polling", "websocket"],
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(confirmed, 20) == self.session_id

    @property
    def server(self) -> str:
        """The Rasa server HAProxy keeps this customer on."""
        cookies = {cookie.key: cookie.value for cookie in self.http.cookie_jar}
        return cookies.get(STICKINESS_COOKIE, "")

    @property
    def engine_io_session(self) -> str:
        return str(self.client.eio.sid)

    async def close(self) -> None:
        await super().close()
        await self.http.close()


async def known_to(server_url: str, engine_io_session: str) -> bool:
    """Whether a Rasa server holds this socket.io session. Asked with an upgrade
    probe that no server answers with data, so the customer's own traffic is not
    disturbed."""
    url = f"{server_url}/socket.io/?EIO=4&transport=polling&sid={engine_io_session}"
    async with aiohttp.ClientSession() as http, http.post(url, data=b"") as answer:
        return answer.status != 400


async def customer_on(cluster: Cluster, server: str, others: list[Any]) -> Any:
    """A new customer, connected, that HAProxy put on ``server``."""
    for _ in range(4):
        customer = BalancedCustomer(cluster.public_url)
        others.append(customer)
        await customer.connect()
        if customer.server == server:
            return customer
    raise AssertionError(f"HAProxy never chose {server}")


async def test_customers_are_spread_over_the_rasa_servers_and_stay_on_theirs(
    cluster: Cluster,
) -> None:
    customers = [BalancedCustomer(cluster.public_url) for _ in range(4)]
    try:
        for customer in customers:
            await customer.connect()
        await asyncio.gather(*(customer.say("hello") for customer in customers))
        for customer in customers:
            await customer.reply_containing("I'm Tandem", timeout=60)
        await asyncio.gather(*(customer.say("안녕하세요") for customer in customers))
        for customer in customers:
            await customer.reply_containing("챗봇 탠덤입니다", timeout=60)

        servers = [customer.server for customer in customers]
        assert set(servers) == RASA_SERVERS, servers
        for customer in customers:
            # Upgraded from long polling to a WebSocket on the same server, and
            # known to that server only.
            assert customer.client.transport() == "websocket"
            assert customer.server in RASA_SERVERS
            (other,) = RASA_SERVERS - {customer.server}
            assert not await known_to(cluster.url(other), customer.engine_io_session)
    finally:
        for customer in customers:
            await customer.close()


async def test_a_handoff_across_servers_and_instances(cluster: Cluster) -> None:
    connected: list[Any] = []
    agent = Agent(cluster.url("handoff-1"))
    try:
        # The console on service instance 1; everything the bot sends arrives at
        # instance 2.
        await agent.login("mina", cluster.staff_password)
        customer = await customer_on(cluster, "rasa-2", connected)

        await customer.say("상담원 연결해 주세요")
        await customer.reply_containing("대기 순서는 1번째", timeout=60)
        created = await agent.frame("handoff.created", timeout=30)
        handoff = created["handoff"]
        assert handoff["conversation"] == customer.conversation

        status, claimed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/claim"
        )
        assert (status, claimed["status"]) == (200, "assigned")

        # Instance 1 sends the reply through Rasa server 1; the customer's socket is
        # on Rasa server 2.
        reply = "안녕하세요, 상담원 민아입니다. 무엇을 도와드릴까요?"
        status, sent = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/messages", {"text": reply}
        )
        assert status == 201, sent
        assert await customer.reply_containing(reply, timeout=30) == reply

        # The customer's answer: Rasa server 2, its event stream to instance 2, the
        # live feed to the agent's WebSocket on instance 1.
        answer = "이번 달 요금이 두 번 청구된 것 같아요"
        await customer.say(answer)
        relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        while relayed["message"]["role"] != "user":
            relayed = await agent.frame("message.created", handoff_id=handoff["id"])
        assert relayed["message"]["text"] == answer
        await customer.assert_silence(2)

        status, closed = await agent.call(
            "POST", f"/api/handoffs/{handoff['id']}/close"
        )
        assert (status, closed["status"]) == (200, "resolved")
        await customer.reply_containing("다시 챗봇이 도와드릴게요", timeout=30)

        status, final = await agent.call("GET", f"/api/handoffs/{handoff['id']}")
        agent_messages = [m for m in final["messages"] if m["role"] == "agent"]
        assert [(m["text"], m["delivery"]) for m in agent_messages] == [
            (reply, "delivered")
        ]
        assert customer.server == "rasa-2"
    except BaseException:
        print(cluster.log_tail())
        raise
    finally:
        for customer in connected:
            await customer.close()
        await agent.close()


async def test_from_outside_only_the_chat_and_the_webhooks_reach_rasa(
    cluster: Cluster,
) -> None:
    public, token = cluster.public_url, cluster.rasa_token
    async with aiohttp.ClientSession() as http:

        async def status(method: str, url: str) -> int:
            async with http.request(method, url) as answer:
                return answer.status

        # Rasa itself answers these with its token...
        assert (
            await status("GET", f"{cluster.url('rasa-1')}/status?token={token}") == 200
        )
        # ...but through the public address they reach the service, which has no
        # such page.
        assert await status("GET", f"{public}/status?token={token}") == 404
        assert (
            await status("GET", f"{public}/conversations/someone/tracker?token={token}")
            == 404
        )
        # The bot's own calls to the service are refused at the door.
        assert await status("POST", f"{public}/api/rasa/events") == 404
        # The webhooks are Rasa's: its socket.io channel's own health route.
        async with http.get(f"{public}/webhooks/socketio/") as answer:
            assert (answer.status, await answer.json()) == (200, {"status": "ok"})
