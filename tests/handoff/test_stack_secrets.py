"""The secrets the one-command stack generates and hands to its processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.make_env import render
from scripts.run_stack import stack_environment

SECRETS = {
    "TANDEM_RASA_TOKEN": "t",
    "TANDEM_SERVICE_SECRET": "s",
    "TANDEM_CHAT_SESSION_SECRET": "c",
}


def test_make_env_generates_the_chat_session_secret() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text("utf-8")

    values = dict(
        line.partition("=")[::2] for line in render(example).splitlines() if "=" in line
    )

    assert len(values["TANDEM_CHAT_SESSION_SECRET"]) >= 32
    assert values["TANDEM_CHAT_SESSION_SECRET"] != values["TANDEM_SERVICE_SECRET"]


def test_every_process_gets_the_chat_session_secret(tmp_path: Path) -> None:
    env = stack_environment(SECRETS, tmp_path / "no.env", root=tmp_path)

    assert env["TANDEM_CHAT_SESSION_SECRET"] == "c"


def test_the_stack_does_not_start_without_it(tmp_path: Path) -> None:
    without = {k: v for k, v in SECRETS.items() if k != "TANDEM_CHAT_SESSION_SECRET"}

    with pytest.raises(SystemExit, match="TANDEM_CHAT_SESSION_SECRET is not set"):
        stack_environment(without, tmp_path / "no.env", root=tmp_path)
