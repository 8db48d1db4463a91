"""Run the handoff service (``python -m handoff``), or create a staff account
(``python -m handoff create-agent``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from handoff.api.access_log import AccessLogger
from handoff.app import create_app
from handoff.bootstrap import prepare_database
from handoff.observability.logs import configure_logging
from handoff.settings import ConfigurationError, Settings, log_format_from_env
from handoff.staff import create_agent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m handoff", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    create_agent.add_parser(commands)
    arguments = parser.parse_args(argv)
    if arguments.command == "create-agent":
        try:
            print(asyncio.run(create_agent.create_agent(arguments)))
        except create_agent.CommandLineError as error:
            sys.exit(f"handoff create-agent: {error}")
        return
    serve()


def serve() -> None:
    try:
        configure_logging(log_format_from_env())
        settings = Settings.from_env()
        app = create_app(settings)
        # Runs after the cleanup contexts have opened the database.
        app.on_startup.append(prepare_database)
        web.run_app(
            app, host=settings.host, port=settings.port, access_log_class=AccessLogger
        )
    except ConfigurationError as error:
        sys.exit(f"handoff: {error}")


if __name__ == "__main__":
    main()
