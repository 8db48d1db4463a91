"""Log lines as text or as JSON, each naming the conversation it belongs to.

``TANDEM_LOG_FORMAT=json`` writes one JSON object a line (time, level, logger,
message, exception, and ``conversation_id``); the default is text. The
conversation id is set per request, in a context variable, wherever the service
learns which customer a request is about, and a logging filter adds it to every
record made meanwhile, the libraries' records included.

A sender id must not itself appear in a log: a web chat's sender id is the
customer's session credential, and a messaging app's is the customer's account
there. The id logged is a keyed hash of it, the same in the bot, the action
server and this service (all three hold the service secret), so one customer's
lines can be followed across the three without any of them naming the customer:
``conversation_log_id(sender_id, secret)``. The Python of the bot's side has its
own copy of this function (``bot/observability/logs.py``), kept equal by a test.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(conversation)s"
_KEY_PURPOSE = b"tandem conversation log id"
_NO_CONVERSATION = "-"

_conversation: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tandem_conversation_id", default=_NO_CONVERSATION
)


def conversation_log_id(sender_id: str, secret: str) -> str:
    """16 hex digits standing for the sender id in logs; not reversible without
    the secret, even for a short id such as a messaging app's chat number."""
    key = hmac.new(secret.encode("utf-8"), _KEY_PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:16]


def current_conversation() -> str | None:
    value = _conversation.get()
    return None if value == _NO_CONVERSATION else value


@contextmanager
def conversation(log_id: str | None) -> Iterator[None]:
    """Names the conversation of every record logged inside the block."""
    token = _conversation.set(log_id or _NO_CONVERSATION)
    try:
        yield
    finally:
        _conversation.reset(token)


def set_conversation(log_id: str | None) -> None:
    """For the rest of the current task (an aiohttp request is one task)."""
    _conversation.set(log_id or _NO_CONVERSATION)


class ConversationFilter(logging.Filter):
    """Adds ``conversation_id`` (or None) to every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        log_id = current_conversation()
        record.conversation_id = log_id
        record.conversation = f" [conversation {log_id}]" if log_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": "handoff",
        }
        conversation_id = getattr(record, "conversation_id", None)
        if conversation_id:
            entry["conversation_id"] = conversation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """The root logger's one handler, on standard error, in ``log_format``."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ConversationFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
