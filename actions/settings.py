"""The action server's settings, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
