"""What the browser tests check of every page: its security headers, and that
the browser blocked nothing under its content security policy."""

from __future__ import annotations

from playwright.async_api import ConsoleMessage, Page, Response

# Chromium reports a blocked load or script on the console too, but only the
# event says for certain that the policy, and not the network, refused it.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.violatedDirective} refused ${event.blockedURI}`
  );
});
"""


async def record_policy_violations(page: Page, violations: list[str]) -> None:
    def record(message: ConsoleMessage) -> None:
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", record)
    await page.add_init_script(_REPORT_VIOLATIONS)


async def assert_security_headers(response: Response | None) -> None:
    assert response is not None
    headers = await response.all_headers()
    policy = headers["content-security-policy"]
    for directive in (
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
