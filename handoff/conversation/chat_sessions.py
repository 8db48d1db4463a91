"""Web chat session ids, issued here and signed.

Rasa's socket.io channel continues whichever conversation a session id names, so the
id is the customer's whole credential. The chat page therefore never makes one up: it
asks this service, which returns ``<random>.<signature>``, and the bot's channel
(bot/signed_socketio.py) accepts only ids whose signature it can check with the same
secret. Agents never see the id itself, only ``public_handle`` of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Signatures of chat session ids can never be replayed as any other signed value.
SIGNING_PURPOSE = b"tandem chat session id\n"
NONCE_BYTES = 24
HANDLE_PREFIX = "c-"
HANDLE_HEX_DIGITS = 12


def issue_session_id(secret: str) -> str:
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    return f"{nonce}.{session_signature(secret, nonce)}"


def is_issued_session_id(secret: str, session_id: str) -> bool:
    """Whether ``session_id`` carries this service's signature, as the bot's
    channel checks it: a web chat customer proves their conversation with it."""
    nonce, _, signature = session_id.rpartition(".")
    return bool(nonce) and hmac.compare_digest(
        signature.encode(), session_signature(secret, nonce).encode()
    )


def public_handle(sender_id: str) -> str:
    """What agents see of a conversation: names it, but cannot be used to join it."""
    digest = hashlib.sha256(sender_id.encode("utf-8")).hexdigest()
    return HANDLE_PREFIX + digest[:HANDLE_HEX_DIGITS]


def session_signature(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), SIGNING_PURPOSE + nonce.encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
