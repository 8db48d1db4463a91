"""Capacity in the console: what going online assigned is named and highlighted; a
claim past capacity is refused in the agent's language and changes nothing; a
transfer to a full colleague is refused unless a supervisor overrides."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.console_service import (
    Service,
    Staff,
    open_console,
    queue_item,
)

pytestmark = pytest.mark.browser


async def test_going_online_names_what_was_assigned(
    service: Service, staff: Staff, browser: Browser
) -> None:
    verified = await staff.hand_off(
        "web-1", verified_identity={"customer_id": "C-1", "name": "김민수"}
    )
    anonymous = await staff.hand_off("web-2", reason="billing_dispute")
    console = await open_console(browser, service, "mina")
    page = console.page
    banner = page.get_by_test_id("assigned-banner")
    await expect(queue_item(page, verified["id"])).to_have_attribute(
        "data-status", "queued"
    )
    await expect(banner).to_be_hidden()

    await page.get_by_test_id("agent-status").select_option("online")

    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("새로 배정된 상담 2건")
    items = banner.get_by_test_id("assigned-item")
    await expect(items).to_have_count(2)
    await expect(items.filter(has_text="김민수 · 상담원 요청")).to_have_count(1)
    await expect(items.filter(has_text="미확인 고객 · 요금 이의")).to_have_count(1)
    for handoff in (verified, anonymous):
        card = queue_item(page, handoff["id"])
        await expect(card).to_have_attribute("data-status", "assigned")
        await expect(card).to_have_attribute("data-highlight", "assigned")
    await expect(page.get_by_test_id("agent-capacity")).to_have_text("2 / 3")

    # Opening one is seeing it: it leaves the banner and loses its highlight.
    await items.filter(has_text="김민수").click()
    await expect(page.get_by_test_id("conversation-customer")).to_contain_text("김민수")
    await expect(items).to_have_count(1)
    await expect(queue_item(page, verified["id"])).not_to_have_attribute(
        "data-highlight", "assigned"
    )
    await banner.get_by_test_id("assigned-dismiss").click()
    await expect(banner).to_be_hidden()
    console.assert_clean()


async def claim_in(page: Page, handoff_id: int) -> None:
    await queue_item(page, handoff_id).get_by_test_id("claim-button").click()


async def test_a_claim_past_capacity_is_refused_in_the_agents_language(
    service: Service, staff: Staff, browser: Browser
) -> None:
    mina = await staff.agent_id("mina")
    await staff.call("PATCH", f"/api/agents/{mina}", {"capacity": 1}, as_="sora")
    first = await staff.hand_off("web-1")
    second = await staff.hand_off("web-2")
    console = await open_console(browser, service, "mina")
    page = console.page
    capacity = page.get_by_test_id("agent-capacity")
    await claim_in(page, first["id"])
    await expect(queue_item(page, first["id"])).to_have_attribute(
        "data-status", "assigned"
    )
    await expect(capacity).to_have_text("1 / 1")

    await claim_in(page, second["id"])
    refusal = page.get_by_test_id("toast").filter(has_text="상담 한도가 찼습니다")
    await expect(refusal).to_have_text("상담 한도가 찼습니다 (1/1).")
    await expect(capacity).to_have_text("1 / 1")
    await expect(queue_item(page, second["id"])).to_have_attribute(
        "data-status", "queued"
    )

    await page.get_by_test_id("agent-language").select_option("en")
    await claim_in(page, second["id"])
    await expect(
        page.get_by_test_id("toast").filter(has_text="Capacity reached")
    ).to_have_text("Capacity reached (1 of 1 conversations).")
    await expect(capacity).to_have_text("1 / 1")
    await expect(queue_item(page, second["id"])).to_have_attribute(
        "data-status", "queued"
    )
    listing = await staff.call("GET", "/api/agents", as_="sora")
    [mina_now] = [a for a in listing["agents"] if a["username"] == "mina"]
    assert (mina_now["load"], mina_now["capacity"]) == (1, 1)
    console.assert_clean()


async def transfer_to(page: Page, agent_id: int, note: str) -> None:
    await page.get_by_test_id("transfer-target").select_option(f"agent:{agent_id}")
    await page.get_by_test_id("transfer-note").fill(note)
    await page.get_by_test_id("transfer-submit").click()


async def test_a_transfer_to_a_full_agent_needs_a_supervisor(
    service: Service, staff: Staff, browser: Browser
) -> None:
    mina = await staff.agent_id("mina")
    await staff.call("PATCH", f"/api/agents/{mina}", {"capacity": 1}, as_="sora")
    await staff.call("PUT", "/api/agents/me/status", {"status": "away"}, as_="mina")
    held = await staff.hand_off("web-held")
    await staff.call("POST", f"/api/handoffs/{held['id']}/claim", as_="mina")
    joons = await staff.hand_off("web-joon")
    await staff.call("POST", f"/api/handoffs/{joons['id']}/claim", as_="joon")
    soras = await staff.hand_off("web-sora")
    await staff.call("POST", f"/api/handoffs/{soras['id']}/claim", as_="sora")

    # An agent is told the colleague is full, and may not go past it.
    joon = await open_console(browser, service, "joon")
    await queue_item(joon.page, joons["id"]).get_by_test_id("queue-customer").click()
    await joon.page.get_by_test_id("transfer-button").click()
    await transfer_to(joon.page, mina, "요금 문의입니다")
    error = joon.page.get_by_test_id("transfer-error")
    await expect(error).to_have_text(
        "상담 한도가 찼습니다 (1/1). 다른 상담원이나 대기열을 고르세요."
    )
    await joon.page.get_by_test_id("transfer-submit").click()
    await expect(error).to_contain_text("상담 한도가 찼습니다 (1/1).")
    detail = await staff.call("GET", f"/api/handoffs/{joons['id']}", as_="sora")
    assert detail["assigned_agent_name"] == "Joon Park"
    joon.assert_clean()

    # A supervisor is told the same, and a second press assigns anyway.
    sora = await open_console(browser, service, "sora")
    await queue_item(sora.page, soras["id"]).get_by_test_id("queue-customer").click()
    await sora.page.get_by_test_id("transfer-button").click()
    await transfer_to(sora.page, mina, "요금 문의입니다")
    await expect(sora.page.get_by_test_id("transfer-error")).to_have_text(
        "상담 한도가 찼습니다 (1/1). 그래도 배정하려면 다시 이관을 누르세요."
    )
    await sora.page.get_by_test_id("transfer-submit").click()
    await expect(sora.page.get_by_test_id("transfer-dialog")).to_be_hidden()
    await expect(sora.page.get_by_test_id("conversation-agent")).to_have_text(
        "Mina Kim"
    )
    detail = await staff.call("GET", f"/api/handoffs/{soras['id']}", as_="sora")
    assert detail["assigned_agent_name"] == "Mina Kim"
    sora.assert_clean()
