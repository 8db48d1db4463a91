"""The customer's link to a file: unguessable, signed and expiring.

Customers have no account, so what lets them open a file (the photo they sent, the
PDF an agent attached) is the link itself: the file's random id, an expiry time
and an HMAC-SHA256 of both under the service secret, with a purpose of its own so
the signature can never pass for any other signed value. Whoever holds the link
may open the file until it expires; nothing else opens it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from yarl import URL

from handoff.errors import Forbidden

SIGNING_PURPOSE = "tandem attachment link"
LINK_PATH = "/files/"
# Unix times as far as year 5138: enough digits, never an unbounded number.
MAX_EXPIRES_DIGITS = 11


def link_signature(secret: str, attachment_id: str, expires: int) -> str:
    message = f"{SIGNING_PURPOSE}\n{attachment_id}\n{expires}".encode()
    mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class FileLinks:
    secret: str
    lifetime_seconds: int
    # The public address links are made absolute with; relative without one.
    public_url: str = ""

    def customer_url(self, attachment_id: str, now: datetime) -> str:
        expires = int(now.timestamp()) + self.lifetime_seconds
        path = URL.build(
            path=LINK_PATH + attachment_id,
            query={
                "expires": str(expires),
                "signature": link_signature(self.secret, attachment_id, expires),
            },
        )
        return f"{self.public_url.rstrip('/')}{path}"

    def check(
        self,
        attachment_id: str,
        expires: str | None,
        signature: str | None,
        now: datetime,
    ) -> None:
        """Raises ``Forbidden`` unless the link was signed here and has not expired."""
        if (
            expires is None
            or signature is None
            or not expires.isascii()
            or not expires.isdigit()
            or len(expires) > MAX_EXPIRES_DIGITS
        ):
            raise Forbidden("this link is not valid")
        expected = link_signature(self.secret, attachment_id, int(expires))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Forbidden("this link is not valid")
        if int(expires) <= now.timestamp():
            raise Forbidden("this link has expired")
