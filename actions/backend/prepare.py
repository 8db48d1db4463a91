"""``python -m actions.backend.prepare``: creates and seeds the demo back end, and the
log of one-time-code requests beside it, before several action servers open them.

Each action server creates and seeds the file on its first query when it finds it
empty; two starting together could both find it empty. scripts/run_cluster.py runs
this once first. The file is ``TANDEM_DEMO_BACKEND_DB``, as for the action servers.
"""

from __future__ import annotations

import asyncio

from actions.backend.demo import DemoBackend
from actions.code_requests import CodeRequestLog
from actions.settings import load_settings


async def prepare() -> None:
    settings = load_settings()
    backend = DemoBackend(
        settings.demo_backend_path, outbox_path=settings.dev_outbox_path
    )
    await backend.plans()
    await CodeRequestLog(settings.demo_backend_path).latest("", "")


if __name__ == "__main__":
    asyncio.run(prepare())
