"""Starts the Rasa server with its API token taken from the environment.

``rasa run --auth-token <token>`` puts the token in the process list, where every
local user can read it. This runs the same ``rasa run`` with Rasa's own options
(whatever follows ``python -m bot.server``) and TANDEM_RASA_TOKEN as the token.

Before Rasa loads anything, the endpoints file is checked against the number of Rasa
processes the environment announces (``bot/cluster_settings.py``): a conversation
cache or an in-memory lock store with several servers is refused with the reason.

    TANDEM_RASA_TOKEN=... python -m bot.server --model models/tandem.tar.gz ...
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

import rasa.telemetry
import rasa.utils.io
import rasa.utils.tensorflow.environment as tf_env
from rasa.__main__ import create_argument_parser
from rasa.core.utils import AvailableEndpoints
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.cli import print_error
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

from bot.cluster_settings import ClusterSettingsError, check_endpoints

TOKEN_SETTING = "TANDEM_RASA_TOKEN"


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
    # What rasa/__main__.py does before it runs a command.
    configure_logging_and_warnings(
        arguments.loglevel,
        arguments.logging_config_file,
        warn_only_once=True,
        filter_repeated_logs=True,
    )
    tf_env.setup_tf_environment()
    tf_env.check_deterministic_ops()
    rasa.utils.io.configure_colored_logging(arguments.loglevel)
    rasa.telemetry.initialize_telemetry()
    rasa.telemetry.initialize_error_reporting()
    configure_structlog(arguments.loglevel)
    try:
        arguments.func(arguments)
    except RasaException as error:
        print_error(f"{error.__class__.__name__}: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
