"""The action server: rasa-sdk's app, answering only calls that carry its token.

rasa-sdk's own server (``rasa run actions``) has no authentication and runs whatever
tracker it is sent, so anyone who reaches it can act as the bot. This entry point
builds the same app, refuses every call but ``/health`` without
``Authorization: Bearer <TANDEM_ACTIONS_TOKEN>`` (the header endpoints.yml makes Rasa
send), and listens on TANDEM_ACTIONS_HOST, 127.0.0.1 unless set.

    python -m actions.server

It also serves ``/health/live``, ``/health/ready`` and ``/metrics``
(``actions/observability.py``), and logs JSON lines with TANDEM_LOG_FORMAT=json.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.dependencies import server_dependencies
from actions.observability import OPEN_PATHS as OBSERVABILITY_PATHS
from actions.observability import add_observability
from actions.settings import ServerSettings, load_settings, server_settings
from bot.bearer_auth import refusal
from bot.observability.logs import install_json_logging, log_format

TOKEN_SETTING = "TANDEM_ACTIONS_TOKEN"
# Open for the process supervisor's checks and the scraper (whose access
# scrape_access.py decides); they run no action.
OPEN_PATHS = frozenset({"/health"}) | OBSERVABILITY_PATHS

logger = logging.getLogger(__name__)


def create_action_app(token: str) -> Sanic:
    # No CORS origins: browsers have no business calling the action server.
    app = create_app("actions", cors_origins="")

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        return refusal(request, token, TOKEN_SETTING)

    add_observability(app, server_dependencies, load_settings().handoff_url)
    return app


def checked_settings(environ: Mapping[str, str]) -> ServerSettings:
    settings = server_settings(environ)
    if not settings.token:
        raise SystemExit(
            f"{TOKEN_SETTING} is not set: the action server will not run without"
            " a token (run 'make setup' to add one to .env)"
        )
    return settings


def main() -> None:
    settings = checked_settings(os.environ)
    if log_format() == "json":
        install_json_logging("actions")
    else:
        utils.configure_colored_logging(logging.INFO)
    utils.update_sanic_log_level()
    app = create_action_app(settings.token)
    logger.info(
        "Action endpoint is up and running on http://%s:%s",
        settings.host,
        settings.port,
    )
    app.run(settings.host, settings.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
