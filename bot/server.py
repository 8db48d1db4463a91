"""Starts the Rasa server with its API token taken from the environment.

``rasa run --auth-token <token>`` puts the token in the process list, where every
local user can read it. This runs the same ``rasa run`` with Rasa's own options
(whatever follows ``python -m bot.server``) and TANDEM_RASA_TOKEN as the token.

Before Rasa loads anything, the endpoints file is checked against the number of Rasa
processes the environment announces (``bot/cluster_settings.py``): a conversation
cache or an in-memory lock store with several servers is refused with the reason.

    TANDEM_RASA_TOKEN=... python -m bot.server --model models/tandem.tar.gz ...

It also adds what Rasa lacks for running as one of many processes
(``bot/observability/``): ``/metrics``, ``/health/live`` and ``/health/ready`` on
Rasa's port, the processor's times and counts, and with ``TANDEM_LOG_FORMAT=json``
JSON log lines naming each line's conversation, through Rasa's own
``--logging-config-file`` (unless one is given); a customer message sent again
handled once (``bot/resent_messages.py``); and a tracker store that fails failing the
turn, not answered from memory (``bot/tracker_store_failures.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import rasa.telemetry
import rasa.utils.io
import rasa.utils.tensorflow.environment as tf_env
from rasa.__main__ import create_argument_parser
from rasa.core.utils import AvailableEndpoints
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.cli import print_error
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

from bot import resent_messages, tracker_store_failures
from bot.cluster_settings import ClusterSettingsError, check_endpoints
from bot.observability import processor_hooks, rasa_routes
from bot.observability.logs import log_format
from bot.observability.rasa_metrics import rasa_metrics

TOKEN_SETTING = "TANDEM_RASA_TOKEN"
JSON_LOGGING_CONFIG = Path(__file__).with_name("observability") / "logging_json.yml"


def run_arguments(
    argv: Sequence[str], environ: Mapping[str, str]
) -> argparse.Namespace:
    """``rasa run``'s arguments as Rasa parses them, with the token from
    ``environ``. A token on the command line is refused rather than used."""
    arguments = create_argument_parser().parse_args(["run", *argv])
    if arguments.auth_token is not None:
        raise SystemExit(
            "--auth-token would show the token in the process list: set"
            f" {TOKEN_SETTING} instead"
        )
    token = environ.get(TOKEN_SETTING, "")
    if not token:
        raise SystemExit(
            f"{TOKEN_SETTING} is not set: the Rasa API will not run without a token"
        )
    arguments.auth_token = token
    return arguments


def use_json_logs(arguments: argparse.Namespace, environ: Mapping[str, str]) -> bool:
    """Whether to log JSON lines; if so, Rasa reads the JSON logging config
    unless the command line names another."""
    if log_format(dict(environ)) != "json":
        return False
    if arguments.logging_config_file is None:
        arguments.logging_config_file = str(JSON_LOGGING_CONFIG)
    return True


def check_cluster_settings(
    arguments: argparse.Namespace, environ: Mapping[str, str]
) -> None:
    """Refuses an endpoints file that would serve stale conversations, or lock
    them only per process, with as many Rasa processes as ``environ`` says."""
    try:
        check_endpoints(AvailableEndpoints.read_endpoints(arguments.endpoints), environ)
    except ClusterSettingsError as error:
        raise SystemExit(f"{arguments.endpoints}: {error}") from None


def main(argv: Sequence[str] | None = None) -> None:
    arguments = run_arguments(sys.argv[1:] if argv is None else argv, os.environ)
    check_cluster_settings(arguments, os.environ)
    json_logs = use_json_logs(arguments, os.environ)
    # What rasa/__main__.py does before it runs a command.
    configure_logging_and_warnings(
        arguments.loglevel,
        arguments.logging_config_file,
        warn_only_once=True,
        filter_repeated_logs=True,
    )
    tf_env.setup_tf_environment()
    tf_env.check_deterministic_ops()
    if not json_logs:
        # Colored logs would replace the JSON handler on standard error.
        rasa.utils.io.configure_colored_logging(arguments.loglevel)
    rasa.telemetry.initialize_telemetry()
    rasa.telemetry.initialize_error_reporting()
    configure_structlog(arguments.loglevel)
    metrics = rasa_metrics()
    # A message sent again is looked for before anything counts it.
    resent_messages.install()
    # The database failing fails the turn, instead of a conversation kept in memory.
    tracker_store_failures.install()
    processor_hooks.install(metrics)
    rasa_routes.install(metrics)
    try:
        arguments.func(arguments)
    except RasaException as error:
        print_error(f"{error.__class__.__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
