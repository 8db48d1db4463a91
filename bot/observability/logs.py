"""Log lines as text or as JSON, each naming the conversation it belongs to.

The Rasa server and the action server log this way when
``TANDEM_LOG_FORMAT=json`` (the default is ``text``): one JSON object a line,
with ``conversation_id`` when the line belongs to one. The Rasa server gets it
through Rasa's own ``--logging-config-file`` (``logging_json.yml`` beside this
module), the action server from its entry point.

The conversation id is a keyed hash of the sender id, never the sender id
itself: a web chat's sender id is the customer's session credential and a
messaging app's is the customer's account there. The key is the service secret
(``TANDEM_SERVICE_SECRET``), which the handoff service holds too and hashes the
same way (``handoff/observability/logs.py``), so one customer's lines can be
followed across the bot, the actions and the service. It is set per message (a
context variable) where each process learns the sender: the Rasa server when it
handles a message or a call about a conversation, the action server from the
action call's ``sender_id``.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

FORMAT_SETTING = "TANDEM_LOG_FORMAT"
SECRET_SETTING = "TANDEM_SERVICE_SECRET"
FORMATS = ("text", "json")
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


def log_id_for(sender_id: str) -> str:
    """The conversation's log id, keyed with this process's service secret."""
    return conversation_log_id(sender_id, os.environ.get(SECRET_SETTING, ""))


def current_conversation() -> str | None:
    value = _conversation.get()
    return None if value == _NO_CONVERSATION else value


@contextmanager
def conversation(sender_id: str | None) -> Iterator[None]:
    """Names the sender's conversation in every record logged inside the block."""
    log_id = _NO_CONVERSATION if sender_id is None else log_id_for(sender_id)
    token = _conversation.set(log_id)
    try:
        yield
    finally:
        _conversation.reset(token)


def set_conversation(sender_id: str | None) -> None:
    """Names the sender's conversation for the rest of the current task."""
    _conversation.set(_NO_CONVERSATION if sender_id is None else log_id_for(sender_id))


def log_format(environ: dict[str, str] | None = None) -> str:
    raw = (os.environ if environ is None else environ).get(FORMAT_SETTING) or "text"
    chosen = raw.strip().lower()
    if chosen not in FORMATS:
        raise SystemExit(f"{FORMAT_SETTING} must be text or json, not {raw!r}")
    return chosen


class ConversationFilter(logging.Filter):
    """Adds ``conversation_id`` (or None) to every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation_id = current_conversation()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Rasa's structured events (already JSON) are kept
    as an object under ``event`` instead of as an escaped string."""

    def __init__(self, process: str = "rasa") -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "process": self._process,
        }
        if message.startswith("{"):
            try:
                structured = json.loads(message)
            except ValueError:
                structured = None
            if isinstance(structured, dict):
                entry["message"] = str(structured.get("event", ""))
                entry["event"] = structured
        conversation_id = getattr(record, "conversation_id", None)
        if conversation_id:
            entry["conversation_id"] = conversation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def install_json_logging(process: str, level: int = logging.INFO) -> None:
    """The root logger's one handler: JSON lines on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ConversationFilter())
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
