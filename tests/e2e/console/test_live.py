"""The console keeps up without reloads: colleagues' statuses in the transfer list,
new handoffs to jump to, canned responses from the first start, and an internal
note that never outlives the message it was ticked for."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.console_service import (
    Service,
    Staff,
    open_console,
    queue_item,
)

pytestmark = pytest.mark.browser


async def test_the_transfer_list_follows_colleagues_statuses(
    service: Service, staff: Staff, browser: Browser
) -> None:
    handoff = await staff.hand_off("web-1")
    await staff.call("POST", f"/api/handoffs/{handoff['id']}/claim", as_="joon")
    mina = await staff.agent_id("mina")
    console = await open_console(browser, service, "joon")
    page = console.page
    await queue_item(page, handoff["id"]).get_by_test_id("queue-customer").click()
    await page.get_by_test_id("transfer-button").click()
    option = page.locator(
        f'[data-testid="transfer-target"] option[value="agent:{mina}"]'
    )
    await expect(option).to_have_count(0)  # offline: nobody to transfer to

    await staff.call("PUT", "/api/agents/me/status", {"status": "online"}, as_="mina")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("Mina Kim · 상담 가능 · 0/3")
    await staff.call("PUT", "/api/agents/me/status", {"status": "away"}, as_="mina")
    await expect(option).to_contain_text("Mina Kim · 자리 비움 · 0/3")
    await staff.call("PUT", "/api/agents/me/status", {"status": "offline"}, as_="mina")
    await expect(option).to_have_count(0)
    console.assert_clean()


async def test_a_new_handoff_is_highlighted_with_a_jump_to_it(
    service: Service, staff: Staff, browser: Browser
) -> None:
    for index in range(12):
        await staff.hand_off(f"web-{index}")
    console = await open_console(browser, service, "mina", height=640)
    page = console.page
    queue = page.get_by_test_id("queue")
    await expect(queue.get_by_test_id("queue-item")).to_have_count(12)
    await queue.evaluate("queue => { queue.scrollTop = queue.scrollHeight; }")

    # Urgent: it lands at the top of the waiting list, out of sight.
    urgent = await staff.hand_off(
        "web-urgent",
        reason="distressed_customer",
        priority="urgent",
        verified_identity={"customer_id": "C-3", "name": "이서연"},
    )
    card = queue_item(page, urgent["id"])
    await expect(card).to_have_attribute("data-highlight", "new")
    await expect(card).not_to_be_in_viewport()
    notice = page.get_by_test_id("toast").filter(has_text="이서연")
    await expect(notice).to_contain_text("새 상담 요청: 이서연 · 도움이 급한 고객")
    await expect(page.get_by_test_id("queue-jump")).to_have_text("↑ 새 상담 1건")

    await notice.get_by_test_id("toast-jump").click()
    await expect(card).to_be_in_viewport()
    await expect(card.locator('[data-action="select"]')).to_be_focused()
    await expect(page.get_by_test_id("queue-jump")).to_be_hidden()
    # Still marked until opened, also when the queue is drawn again for a later
    # arrival, which alone is counted in the jump button.
    later = await staff.hand_off("web-later")
    await expect(queue_item(page, later["id"])).to_have_attribute(
        "data-highlight", "new"
    )
    await expect(page.get_by_test_id("queue-jump")).to_have_text("↑ 새 상담 1건")
    await expect(card.get_by_test_id("highlight-tag")).to_have_text("새 상담")
    await card.locator('[data-action="select"]').focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("conversation-customer")).to_contain_text("이서연")
    await expect(card).not_to_have_attribute("data-highlight", "new")
    console.assert_clean()


async def test_canned_responses_come_with_the_install_and_supervisors_edit_them(
    service: Service, staff: Staff, browser: Browser
) -> None:
    handoff = await staff.hand_off(
        "web-1", verified_identity={"customer_id": "C-1", "name": "김민수"}
    )
    await staff.call("POST", f"/api/handoffs/{handoff['id']}/claim", as_="sora")
    console = await open_console(browser, service, "sora")
    page = console.page
    await queue_item(page, handoff["id"]).get_by_test_id("queue-customer").click()
    picker = page.get_by_test_id("canned-picker")
    await expect(picker).to_be_enabled()
    # The Korean conversation gets the ten Korean ones (and the empty choice).
    await expect(picker.locator("option")).to_have_count(11)
    await picker.select_option(label="인사")
    await expect(page.get_by_test_id("reply-input")).to_have_value(
        "안녕하세요, 김민수님. 상담원 Sora Lee입니다. 무엇을 도와드릴까요?"
    )

    await page.get_by_test_id("canned-manage").click()
    dialog = page.get_by_test_id("canned-dialog")
    greeting = (
        dialog.get_by_test_id("canned-item")
        .filter(has_text="인사")
        .filter(has_text="무엇을 도와드릴까요")
    )
    await greeting.get_by_test_id("canned-edit").click()
    await page.get_by_test_id("canned-title").fill("첫 인사")
    await page.get_by_test_id("canned-text").fill(
        "{name}님, 반갑습니다. 저는 {agent_name}입니다."
    )
    await page.get_by_test_id("canned-save").click()
    await expect(
        dialog.get_by_test_id("canned-item").filter(has_text="첫 인사")
    ).to_have_count(1)
    # A placeholder the console cannot fill is refused, saying which.
    await page.get_by_test_id("canned-title").fill("주소")
    await page.get_by_test_id("canned-text").fill("{address}로 보내 드릴게요")
    await page.get_by_test_id("canned-save").click()
    await expect(page.get_by_test_id("canned-error")).to_contain_text("{address}")
    # A title already used in that language is refused by its code.
    await page.get_by_test_id("canned-title").fill("확인 중")
    await page.get_by_test_id("canned-text").fill("확인하고 있습니다.")
    await page.get_by_test_id("canned-save").click()
    await expect(page.get_by_test_id("canned-error")).to_have_text(
        "같은 이름이 이미 있습니다."
    )
    await page.get_by_role("button", name="닫기", exact=True).last.click()

    await picker.select_option(label="첫 인사")
    await expect(page.get_by_test_id("reply-input")).to_have_value(
        "김민수님, 반갑습니다. 저는 Sora Lee입니다."
    )
    # Agents use them; only supervisors keep them.
    mina = await open_console(browser, service, "mina")
    await expect(mina.page.get_by_test_id("canned-manage")).to_be_hidden()
    console.assert_clean()
    mina.assert_clean()


async def test_an_internal_note_is_one_message_and_looks_like_one(
    service: Service, staff: Staff, browser: Browser
) -> None:
    handoff = await staff.hand_off("web-1")
    await staff.call("POST", f"/api/handoffs/{handoff['id']}/claim", as_="mina")
    console = await open_console(browser, service, "mina")
    page = console.page
    await queue_item(page, handoff["id"]).get_by_test_id("queue-customer").click()
    toggle = page.get_by_test_id("note-toggle")
    send = page.get_by_test_id("reply-send")
    banner = page.get_by_test_id("note-mode-banner")
    await expect(banner).to_be_hidden()

    await toggle.check()
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("고객에게 보내지 않습니다")
    await expect(page.locator("#reply-form")).to_have_attribute("data-mode", "note")
    await expect(send).to_have_text("메모 저장")
    await page.get_by_test_id("reply-input").fill("요금 이중 청구 확인 필요")
    await send.click()

    await expect(page.get_by_test_id("note")).to_contain_text(
        "요금 이중 청구 확인 필요"
    )
    await expect(toggle).not_to_be_checked()
    await expect(banner).to_be_hidden()
    await expect(page.locator("#reply-form")).to_have_attribute("data-mode", "reply")
    await expect(send).to_have_text("보내기")
    await page.get_by_test_id("reply-input").fill("확인해 보겠습니다.")
    await send.click()
    await expect(
        page.locator('[data-testid="message"][data-role="agent"]')
    ).to_contain_text("확인해 보겠습니다.")
    detail = await staff.call("GET", f"/api/handoffs/{handoff['id']}", as_="mina")
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [
        ("note", "요금 이중 청구 확인 필요"),
        ("agent", "확인해 보겠습니다."),
    ]
    console.assert_clean()
