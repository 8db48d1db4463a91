"""One vocabulary, in each agent's language: the console's codes and words follow
the language the agent chose (kept by the service), sign-in refusals are said by
their code, and the supervisor page names reasons and skills with the same words."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.console_service import (
    PASSWORD,
    TIMEOUT_MS,
    Service,
    Staff,
    open_console,
    queue_item,
)

pytestmark = pytest.mark.browser


async def test_the_console_speaks_the_language_the_agent_chose(
    service: Service, staff: Staff, browser: Browser
) -> None:
    handoff = await staff.hand_off(
        "web-1",
        reason="billing_dispute",
        trigger="complex_topic",
        skill="billing",
        priority="high",
        slots={"language": "ko", "district": "강남구", "signup_plan": "5G 스탠다드"},
    )
    console = await open_console(browser, service, "mina")
    page = console.page
    card = queue_item(page, handoff["id"])
    await expect(card.get_by_test_id("queue-reason")).to_have_text("요금 이의")
    await expect(card.get_by_test_id("skill-badge")).to_have_text("요금")
    await expect(card.get_by_test_id("priority-badge")).to_have_text("높음")
    await card.get_by_test_id("queue-customer").click()
    slots = page.get_by_test_id("context-slots")
    await expect(slots.locator('[data-slot="district"]')).to_have_text("지역(구)")
    await expect(page.get_by_test_id("context-reason")).to_have_text("요금 이의")

    await page.get_by_test_id("agent-language").select_option("en")
    await expect(card.get_by_test_id("queue-reason")).to_have_text("Billing dispute")
    await expect(card.get_by_test_id("skill-badge")).to_have_text("Billing")
    await expect(card.get_by_test_id("priority-badge")).to_have_text("High")
    await expect(slots.locator('[data-slot="district"]')).to_have_text("District")
    await expect(slots.locator('[data-slot="signup_plan"]')).to_have_text(
        "Plan to sign up for"
    )
    await expect(page.get_by_test_id("claim-button")).to_have_text("Claim")
    await expect(page.get_by_test_id("logout")).to_have_text("Log out")
    assert await page.evaluate("document.documentElement.lang") == "en"

    # The choice is the agent's, kept by the service: a reload and a new sign-in
    # elsewhere both speak English.
    await page.reload()
    await expect(card.get_by_test_id("queue-reason")).to_have_text("Billing dispute")
    elsewhere = await open_console(browser, service, "mina")
    await expect(
        queue_item(elsewhere.page, handoff["id"]).get_by_test_id("queue-reason")
    ).to_have_text("Billing dispute")
    me = await staff.call("GET", "/api/agents/me", as_="mina")
    assert me["language"] == "en"
    # Another agent keeps their own.
    joon = await open_console(browser, service, "joon")
    await expect(
        queue_item(joon.page, handoff["id"]).get_by_test_id("queue-reason")
    ).to_have_text("요금 이의")
    for each in (console, elsewhere, joon):
        each.assert_clean()


async def test_the_sign_in_limit_is_said_by_its_code(
    service: Service, browser: Browser
) -> None:
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{service.url}/console")
    error = page.get_by_test_id("login-error")
    await page.get_by_test_id("login-username").fill("joon")
    for _ in range(5):
        await page.get_by_test_id("login-password").fill("not the password")
        await page.get_by_test_id("login-submit").click()
        await expect(error).to_have_text(
            "아이디 또는 비밀번호가 틀렸습니다. / Wrong username or password."
        )
        await expect(page.get_by_test_id("login-submit")).to_be_enabled()
    # Nobody is signed in yet: both languages.
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(error).to_have_text(
        "시도가 너무 많습니다. 5분 후에 다시 시도하세요. / "
        "Too many attempts; try again in 5 min."
    )


async def test_the_supervisor_page_uses_the_same_words(
    service: Service, staff: Staff, browser: Browser
) -> None:
    await staff.hand_off("web-1", reason="billing_dispute", skill="billing")
    await staff.hand_off("web-2")
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    await page.goto(f"{service.url}/supervisor")
    await page.get_by_test_id("login-username").fill("sora")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    reasons = page.get_by_test_id("reasons")
    skills = page.get_by_test_id("skills")
    dispute = reasons.locator('[data-key="billing_dispute"] .hbar-label')
    await expect(dispute).to_have_text("요금 이의")
    await expect(skills.locator('[data-key="general"] .hbar-label')).to_have_text(
        "일반"
    )
    sora_row = page.locator('[data-testid="agent-row"][data-username="sora"]')
    await expect(sora_row).to_contain_text("오프라인")

    await staff.call("PATCH", "/api/agents/me", {"language": "en"}, as_="sora")
    await page.get_by_test_id("logout").click()
    await page.get_by_test_id("login-username").fill("sora")
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(dispute).to_have_text("Billing dispute")
    await expect(skills.locator('[data-key="general"] .hbar-label')).to_have_text(
        "General"
    )
    await expect(
        reasons.locator('[data-key="human_requested"] .hbar-label')
    ).to_have_text("Asked for a person")
    assert errors == []
