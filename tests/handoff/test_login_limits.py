"""Sign-in rate limits: per account, per address, atomic, behind proxies."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from handoff_testing import AGENT_PASSWORD
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.client_address import client_address
from handoff.app import create_app
from handoff.settings import Settings
from handoff.staff import login_limits
from handoff.staff.login_limits import ACCOUNT_LIMIT, WINDOW
from handoff.storage.models import LoginAttempts, utcnow

Client = TestClient[web.Request, web.Application]

REFUSAL = {
    "error": "too_many_requests",
    "message": "too many sign-in attempts; try again later",
}


@pytest.fixture
def address_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """A lower limit per address: every unknown account costs a decoy hash check."""
    monkeypatch.setattr(login_limits, "ADDRESS_LIMIT", ACCOUNT_LIMIT + 2)
    return login_limits.ADDRESS_LIMIT


async def login(
    client: Client,
    username: str,
    password: str = AGENT_PASSWORD,
    headers: dict[str, str] | None = None,
) -> Any:
    return await client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        headers=headers,
    )


async def assert_refused(response: Any) -> None:
    assert response.status == 429
    problem = await response.json()
    assert {key: problem[key] for key in REFUSAL} == REFUSAL
    assert 1 <= problem["retry_after_seconds"] <= WINDOW.total_seconds()
    assert response.headers["Retry-After"] == str(problem["retry_after_seconds"])


async def test_failures_for_an_account_lock_it_for_a_while(
    client: Client, team: Any
) -> None:
    for _ in range(ACCOUNT_LIMIT):
        assert (await login(client, "mina", "wrong password")).status == 401

    await assert_refused(await login(client, "mina"))
    # The address is below its own limit: another account still signs in.
    assert (await login(client, "joon")).status == 200


async def test_failures_spread_over_accounts_lock_the_address(
    client: Client, team: Any, address_limit: int
) -> None:
    for number in range(address_limit):
        assert (await login(client, f"guess{number}", "guess")).status == 401

    await assert_refused(await login(client, "mina"))


async def test_below_the_limit_the_right_password_still_signs_in(
    client: Client, team: Any
) -> None:
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await login(client, "mina", "wrong password")).status == 401

    assert (await login(client, "mina")).status == 200
    # Signing in does not wipe the failures: one more reaches the limit.
    assert (await login(client, "mina", "wrong password")).status == 401
    await assert_refused(await login(client, "mina"))


async def test_concurrent_attempts_on_one_account_check_at_most_the_limit(
    client: Client, team: Any
) -> None:
    responses = await asyncio.gather(
        *(login(client, "mina", f"guess {number}") for number in range(40))
    )

    statuses = Counter(response.status for response in responses)
    assert statuses == {401: ACCOUNT_LIMIT, 429: 40 - ACCOUNT_LIMIT}
    for response in responses:
        if response.status == 429:
            await assert_refused(response)


async def test_concurrent_attempts_from_one_address_check_at_most_its_limit(
    client: Client, team: Any, address_limit: int
) -> None:
    responses = await asyncio.gather(
        *(login(client, f"guess{number}", "guess") for number in range(40))
    )

    statuses = Counter(response.status for response in responses)
    assert statuses == {401: address_limit, 429: 40 - address_limit}


async def test_service_instances_on_one_database_share_the_count(
    aiohttp_client: Any, settings: Settings, engine: Any, team: Any
) -> None:
    first, second = [
        await aiohttp_client(create_app(settings, run_sweeper=False)) for _ in "ab"
    ]

    responses = await asyncio.gather(
        *(
            login(instance, "mina", "guess")
            for _ in range(20)
            for instance in (first, second)
        )
    )

    assert Counter(response.status for response in responses) == {
        401: ACCOUNT_LIMIT,
        429: 40 - ACCOUNT_LIMIT,
    }


async def test_a_new_window_starts_afresh_and_old_counters_are_forgotten(
    client: Client, team: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(ACCOUNT_LIMIT):
        await login(client, "mina", "wrong password")
    await login(client, "someone", "guess")
    async with sessions.begin() as session:
        await session.execute(
            update(LoginAttempts).values(
                window_started_at=utcnow() - WINDOW - timedelta(seconds=1)
            )
        )

    assert (await login(client, "mina")).status == 200

    async with sessions() as session:
        counters = (
            await session.execute(select(LoginAttempts.subject, LoginAttempts.attempts))
        ).all()
    # mina's counters restarted with this sign-in and gave it back; someone's
    # expired counter is gone.
    assert sorted(counters) == [("account:mina", 0), ("address:127.0.0.1", 0)]


def forwarded_request(peer: str, *forwarded_for: str) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.return_value = (peer, 40000)
    headers = [("X-Forwarded-For", value) for value in forwarded_for]
    return make_mocked_request(
        "POST", "/api/auth/login", headers=headers, transport=transport
    )


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # Nobody is trusted by default: the header is the client's own word.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        # A trusted proxy names the client it received the request from.
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        # Whatever the client prepended is not believed.
        ("10.0.0.2", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),
        # Chains of trusted proxies are followed, over repeated headers too.
        ("10.0.0.2", ["1.1.1.1, 198.51.100.1", "10.0.0.7"], "198.51.100.1"),
        ("2001:db8::1", ["2001:db9:0:0::9, 2001:db8::2", "10.0.0.3"], "2001:db9::9"),
        # Only proxies' entries: the farthest one is the client.
        ("10.0.0.2", ["10.0.0.5"], "10.0.0.5"),
        # An entry that is no address stops the walk at the proxy that wrote it.
        ("10.0.0.2", ["198.51.100.1, not-an-address"], "10.0.0.2"),
        # A trusted proxy without the header is the client.
        ("10.0.0.2", [], "10.0.0.2"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, forwarded_for: list[str], expected: str
) -> None:
    trusted = PROXIES if peer != "203.0.113.9" else ()

    assert client_address(forwarded_request(peer, *forwarded_for), trusted) == expected


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    aiohttp_client: Any,
    settings: Settings,
    engine: Any,
    team: Any,
    address_limit: int,
) -> None:
    behind_proxy = await aiohttp_client(
        create_app(
            Settings(
                **{
                    **settings.__dict__,
                    "trusted_proxies": (ipaddress.ip_network("127.0.0.1/32"),),
                }
            ),
            run_sweeper=False,
        )
    )

    for number in range(address_limit):
        response = await login(
            behind_proxy,
            f"guess{number}",
            "guess",
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        assert response.status == 401
    await assert_refused(
        await login(behind_proxy, "mina", headers={"X-Forwarded-For": "198.51.100.1"})
    )

    # Another client behind the same proxy is not locked out.
    assert (
        await login(behind_proxy, "mina", headers={"X-Forwarded-For": "198.51.100.2"})
    ).status == 200


async def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(
    client: Client, team: Any, address_limit: int
) -> None:
    for number in range(address_limit):
        await login(
            client,
            f"guess{number}",
            "guess",
            {"X-Forwarded-For": f"198.51.100.{number}"},
        )

    await assert_refused(
        await login(client, "mina", headers={"X-Forwarded-For": "198.51.100.200"})
    )


async def test_retry_after_never_exceeds_one_window(
    client: Client, team: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A concurrent attempt that read the clock later opened this window.
    async with sessions.begin() as session:
        session.add(
            LoginAttempts(
                subject="account:mina",
                attempts=ACCOUNT_LIMIT,
                window_started_at=utcnow() + timedelta(seconds=2),
            )
        )

    await assert_refused(await login(client, "mina"))
