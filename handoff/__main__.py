"""Run the handoff service: ``python -m handoff``."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from handoff.api.access_log import AccessLogger
from handoff.app import create_app
from handoff.bootstrap import prepare_database
from handoff.settings import ConfigurationError, Settings


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ConfigurationError as error:
        sys.exit(f"handoff: {error}")
    app = create_app(settings)
    # Runs after the cleanup contexts have opened the database.
    app.on_startup.append(prepare_database)
    web.run_app(
        app, host=settings.host, port=settings.port, access_log_class=AccessLogger
    )


if __name__ == "__main__":
    main()
