"""The action server's settings, read from the environment in one place."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from actions.code_requests import VerificationLimits

# The handoff service's API document, in the same repository as the actions.
DEFAULT_OPENAPI_PATH = Path(__file__).resolve().parents[1] / "handoff" / "openapi.yaml"


@dataclass(frozen=True)
class ActionSettings:
    handoff_url: str
    service_secret: str
    handoff_timeout_seconds: float
    demo_backend_path: Path
    # Where the demo back end "sends" one-time codes (docs/backend.md).
    dev_outbox_path: Path = Path("var/dev_outbox.log")
    # The names and limits of the handoff API (actions/service_contract.py).
    handoff_openapi_path: Path = DEFAULT_OPENAPI_PATH
    # A verified customer silent this long must verify again (actions/verification.py).
    verification_idle_minutes: float = 10
    # One-time codes and phone numbers a conversation may ask for (SMS bombing,
    # trying which numbers are customers').
    verification_limits: VerificationLimits = field(default_factory=VerificationLimits)


@lru_cache(maxsize=1)
def load_settings() -> ActionSettings:
    return ActionSettings(
        handoff_url=os.environ.get("TANDEM_HANDOFF_URL", "http://127.0.0.1:8080"),
        service_secret=os.environ.get("TANDEM_SERVICE_SECRET", ""),
        handoff_timeout_seconds=float(
            os.environ.get("TANDEM_HANDOFF_TIMEOUT_SECONDS", "5")
        ),
        demo_backend_path=Path(
            os.environ.get("TANDEM_DEMO_BACKEND_DB", "var/demo_backend.db")
        ),
        dev_outbox_path=Path(os.environ.get("TANDEM_VAR_DIR", "var"))
        / "dev_outbox.log",
        handoff_openapi_path=Path(
            os.environ.get("TANDEM_HANDOFF_OPENAPI", DEFAULT_OPENAPI_PATH)
        ),
        verification_idle_minutes=float(
            os.environ.get("TANDEM_VERIFICATION_IDLE_MINUTES", "10")
        ),
        verification_limits=verification_limits_from_env(),
    )


@dataclass(frozen=True)
class ServerSettings:
    """Where the action server listens and the token its callers must send."""

    host: str
    port: int
    token: str


def server_settings(environ: Mapping[str, str]) -> ServerSettings:
    # Only the Rasa server calls the action server, so it stays on loopback unless
    # its own setting says otherwise, whatever TANDEM_HOST exposes.
    return ServerSettings(
        host=environ.get("TANDEM_ACTIONS_HOST") or "127.0.0.1",
        port=int(environ.get("TANDEM_ACTIONS_PORT") or "5055"),
        token=environ.get("TANDEM_ACTIONS_TOKEN", ""),
    )


def verification_limits_from_env() -> VerificationLimits:
    defaults = VerificationLimits()
    return VerificationLimits(
        codes_per_number=_count("TANDEM_CODES_PER_NUMBER", defaults.codes_per_number),
        codes_per_conversation=_count(
            "TANDEM_CODES_PER_CONVERSATION", defaults.codes_per_conversation
        ),
        numbers_per_conversation=_count(
            "TANDEM_NUMBERS_PER_CONVERSATION", defaults.numbers_per_conversation
        ),
        window=dt.timedelta(
            seconds=_count(
                "TANDEM_VERIFICATION_WINDOW_SECONDS",
                int(defaults.window.total_seconds()),
            )
        ),
    )


def _count(name: str, default: int) -> int:
    value = int(os.environ.get(name, default))
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value
