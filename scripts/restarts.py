"""When the launchers start a stopped process again, and how long they wait first.

``scripts/run_stack.py`` and ``scripts/run_cluster.py`` supervise their processes
with one of three policies, named as systemd names its ``Restart=`` settings:

- ``no``: when one process stops, all are stopped (the single stack's behaviour,
  and what tests that expect the whole stack to end rely on);
- ``on-failure``: a process that exits with a non-zero status or is killed by a
  signal (``kill -9``, the kernel's out-of-memory killer) is started again; one that
  exits cleanly (status 0) stays stopped and the others go on;
- ``always``: any process that stops is started again.

Between a failure and the next start the launcher waits, doubling from one second
up to thirty; a process that ran for a minute since its last start counts as
healthy again, and its next failure waits one second. A process that fails again
and again without ever answering its health check (a wrong setting, a port taken)
is not restarted forever: after ``MAX_FAILURES_IN_A_ROW`` such starts the launcher
stops everything, as with ``no``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

FIRST_DELAY_SECONDS = 1.0
LONGEST_DELAY_SECONDS = 30.0
# Running this long since its last start, a process is healthy again.
HEALTHY_AFTER_SECONDS = 60.0
MAX_FAILURES_IN_A_ROW = 8


class Restart(str, enum.Enum):
    NO = "no"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"

    @classmethod
    def parse(cls, value: str, setting: str = "--restart") -> Restart:
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(policy.value for policy in cls)
            raise SystemExit(
                f"{setting} must be one of {choices}, not {value!r}"
            ) from None

    def restarts(self, exit_code: int) -> bool:
        """Whether a process that ended with ``exit_code`` (negative: the signal
        that killed it, as ``subprocess`` reports it) is started again."""
        if self is Restart.ALWAYS:
            return True
        return self is Restart.ON_FAILURE and exit_code != 0


@dataclass
class Backoff:
    """The wait before each start of one process."""

    first: float = FIRST_DELAY_SECONDS
    longest: float = LONGEST_DELAY_SECONDS
    failures: int = 0

    def next_delay(self) -> float:
        """The wait before the next start, counting one more failure."""
        delay = min(self.first * 2**self.failures, self.longest)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
