"""What the accessibility tests check of a page in a given state.

- Phone width: nothing scrolls sideways, no control sticks out of the viewport.
- Keyboard: Tab reaches every control in order, each one visibly focused,
  on screen and named for a screen reader.
- axe-core (the copy inside the ``axe-playwright-python`` package, never one
  fetched at run time): no serious or critical violation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = ("serious", "critical")
# Enough to walk every control of the busiest page (the console with a
# conversation open) and come back round.
MAX_TABS = 80

_AXE = Axe()

_OVERFLOW = """
() => {
  const width = window.innerWidth;
  const scrolling = document.scrollingElement.scrollWidth;
  const controls = [...document.querySelectorAll(
    "a[href], button, input, select, textarea, [tabindex]")];
  const outside = controls.filter((el) => {
    if (el.closest("[hidden], dialog:not([open])")) return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) return false;
    // A control in a box that scrolls sideways on purpose (a wide table) is
    // reachable by scrolling that box.
    for (let p = el.parentElement; p; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      const scrolls = overflow === "auto" || overflow === "scroll";
      if (scrolls && p.scrollWidth > p.clientWidth) {
        return false;
      }
    }
    // A closed drawer is moved out of view and is not focusable (inert).
    if (el.closest("[inert]")) return false;
    return box.left < -1 || box.right > width + 1;
  }).map((el) => el.outerHTML.slice(0, 120));
  return {width, scrolling, outside};
}
"""

# Tab then starts from the top of the page, wherever focus was.
_START_AT_TOP = """
() => {
  const start = document.createElement("span");
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
  start.blur();
  start.remove();
}
"""

_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const ring = style.boxShadow && style.boxShadow !== "none";
  const labelledBy = (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
    .map((id) => document.getElementById(id)?.textContent || "").join(" ");
  const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(" ") : "";
  const name = [el.getAttribute("aria-label"), labelledBy, labels,
    el.tagName === "SELECT" || el.tagName === "TEXTAREA" || el.tagName === "INPUT"
      ? "" : el.textContent,
    el.getAttribute("title")].filter(Boolean).join(" ").trim();
  const visible = box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0 &&
    box.top < window.innerHeight && box.left < window.innerWidth;
  const key = el.dataset.testid || el.id || el.getAttribute("aria-label") ||
    el.textContent.trim().slice(0, 30);
  return {key, tag: el.tagName.toLowerCase(), name, visible, ring: outline || ring,
    html: el.outerHTML.slice(0, 160)};
}
"""


@dataclass(frozen=True)
class Focused:
    key: str
    tag: str
    name: str
    visible: bool
    ring: bool
    html: str


async def assert_fits_phone_width(page: Page) -> None:
    """Nothing scrolls sideways and every control is inside the viewport."""
    found: dict[str, Any] = await page.evaluate(_OVERFLOW)
    assert found["scrolling"] <= found["width"], found
    assert found["outside"] == [], found


async def focused(page: Page) -> Focused | None:
    found = await page.evaluate(_FOCUSED)
    return None if found is None else Focused(**found)


async def walk_with_tab(page: Page) -> list[Focused]:
    """Tab from the top of the page until focus comes round again; every stop
    must be visible, visibly focused and named. A field with parts (a date's
    day, month and year) is one stop."""
    await page.evaluate(_START_AT_TOP)
    stops: list[Focused] = []
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        stop = await focused(page)
        if stop is None:
            if stops:
                break
            continue
        if stops and stop.html == stops[0].html:
            break
        if stops and stop.html == stops[-1].html:
            continue
        assert stop.visible, f"focused but off screen: {stop.html}"
        assert stop.ring, f"focused without a visible focus style: {stop.html}"
        assert stop.name, f"focused but unnamed for a screen reader: {stop.html}"
        stops.append(stop)
    return stops


def keys(stops: list[Focused]) -> list[str]:
    return [stop.key for stop in stops]


async def assert_no_serious_violations(page: Page, state: str) -> None:
    results = await _AXE.run(page)
    blocking = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    assert blocking == [], f"{state}:\n" + "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["html"][:160] for node in violation["nodes"][:4])
        for violation in blocking
    )
