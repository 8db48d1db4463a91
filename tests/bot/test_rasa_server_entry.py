"""The Rasa server's entry point takes its token from the environment only."""

from __future__ import annotations

import pytest

from bot.server import JSON_LOGGING_CONFIG, run_arguments, use_json_logs

OPTIONS = [
    "--model",
    "models/tandem.tar.gz",
    "--enable-api",
    "--interface",
    "127.0.0.1",
    "--port",
    "5005",
    "--credentials",
    "credentials.yml",
    "--endpoints",
    "endpoints.yml",
    "--cors",
    "http://127.0.0.1:8080",
    "http://localhost:8080",
]


def test_rasa_runs_with_the_token_from_the_environment() -> None:
    arguments = run_arguments(OPTIONS, {"TANDEM_RASA_TOKEN": "from-env"})
    assert arguments.auth_token == "from-env"
    assert arguments.func.__module__ == "rasa.cli.run"
    assert arguments.func.__name__ == "run"
    assert (arguments.model, arguments.enable_api) == ("models/tandem.tar.gz", True)
    assert (arguments.interface, arguments.port) == ("127.0.0.1", 5005)
    assert arguments.cors == ["http://127.0.0.1:8080", "http://localhost:8080"]


def test_a_token_on_the_command_line_is_refused() -> None:
    with pytest.raises(SystemExit, match="set TANDEM_RASA_TOKEN instead"):
        run_arguments([*OPTIONS, "--auth-token", "t"], {"TANDEM_RASA_TOKEN": "t"})


def test_rasa_will_not_run_without_a_token() -> None:
    with pytest.raises(SystemExit, match="TANDEM_RASA_TOKEN is not set"):
        run_arguments(OPTIONS, {})


def test_json_logs_go_through_rasas_logging_config() -> None:
    arguments = run_arguments(OPTIONS, {"TANDEM_RASA_TOKEN": "t"})

    assert use_json_logs(arguments, {"TANDEM_LOG_FORMAT": "json"})
    assert arguments.logging_config_file == str(JSON_LOGGING_CONFIG)
    assert JSON_LOGGING_CONFIG.is_file()


def test_a_logging_config_given_on_the_command_line_wins() -> None:
    arguments = run_arguments(
        [*OPTIONS, "--logging-config-file", "mine.yml"], {"TANDEM_RASA_TOKEN": "t"}
    )

    assert use_json_logs(arguments, {"TANDEM_LOG_FORMAT": "JSON"})
    assert arguments.logging_config_file == "mine.yml"


def test_text_logs_are_rasas_own() -> None:
    arguments = run_arguments(OPTIONS, {"TANDEM_RASA_TOKEN": "t"})

    assert not use_json_logs(arguments, {})
    assert arguments.logging_config_file is None
    with pytest.raises(SystemExit, match="TANDEM_LOG_FORMAT must be text or json"):
        use_json_logs(arguments, {"TANDEM_LOG_FORMAT": "xml"})
