"""What the actions use outside themselves, built in one place from the settings.

rasa-sdk instantiates every action with no arguments, so an action built that way
uses the action server's own dependencies, built once per process from the
environment; tests and other callers pass theirs to the constructor instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from actions.backend import CustomerBackend
from actions.backend.demo import DemoBackend
from actions.business_hours import BusinessHours, load_business_hours
from actions.code_requests import CodeRequestLog, VerificationLimits
from actions.handoff_client import HandoffClient
from actions.metrics import ActionMetrics
from actions.settings import ActionSettings, load_settings


def local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


@dataclass(frozen=True)
class Dependencies:
    backend: CustomerBackend
    handoff_client: HandoffClient
    business_hours: BusinessHours
    code_requests: CodeRequestLog
    verification_limits: VerificationLimits = field(default_factory=VerificationLimits)
    # A naive moment is taken to be in the business hours' time zone.
    clock: Callable[[], dt.datetime] = local_now
    # How long a verified customer may be silent before verifying again.
    verification_idle: dt.timedelta = dt.timedelta(minutes=10)
    metrics: ActionMetrics = field(default_factory=ActionMetrics)

    @property
    def time_zone(self) -> ZoneInfo:
        """The business's time zone (TANDEM_TIME_ZONE), in which customers are
        told every time; the business hours are kept in it."""
        return self.business_hours.time_zone


def build_dependencies(settings: ActionSettings) -> Dependencies:
    business_hours = load_business_hours()
    return Dependencies(
        backend=DemoBackend(
            settings.demo_backend_path,
            outbox_path=settings.dev_outbox_path,
            time_zone=business_hours.time_zone,
        ),
        handoff_client=HandoffClient(
            settings.handoff_url,
            settings.service_secret,
            settings.handoff_timeout_seconds,
        ),
        business_hours=business_hours,
        verification_idle=dt.timedelta(minutes=settings.verification_idle_minutes),
        # Next to the demo customers, so the limits outlive the action server.
        code_requests=CodeRequestLog(settings.demo_backend_path),
        verification_limits=settings.verification_limits,
    )


@lru_cache(maxsize=1)
def server_dependencies() -> Dependencies:
    return build_dependencies(load_settings())


class UsesDependencies:
    """Constructor injection for actions and form validators.

    Not an ``Action`` itself, so rasa-sdk never registers it; the actions that
    inherit it are instantiated by rasa-sdk without arguments.
    """

    def __init__(self, dependencies: Dependencies | None = None) -> None:
        self.dependencies = (
            dependencies if dependencies is not None else server_dependencies()
        )
