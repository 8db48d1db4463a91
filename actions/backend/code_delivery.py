"""Delivery of one-time codes to a customer's phone.

The demo back end has no SMS gateway: it appends each message to a development
outbox file and logs it, which is where a tester reads the code. A real back end
sends the same text through the operator's SMS gateway instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def code_message(code: str, expires_at: dt.datetime) -> str:
    """The SMS; ``expires_at`` on the customer's clock (the business's time zone)."""
    return (
        f"[Tandem] 인증번호 {code} ({expires_at:%H:%M}까지 유효) / "
        f"Your verification code is {code} (valid until {expires_at:%H:%M})"
    )


class DevOutbox:
    """Writes SMS messages to a file instead of sending them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def deliver(self, phone_number: str, text: str, sent_at: dt.datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(
                f"{sent_at.isoformat(timespec='seconds')}\t{phone_number}\t{text}\n"
            )
        logger.info("SMS to %s (dev outbox %s): %s", phone_number, self.path, text)
