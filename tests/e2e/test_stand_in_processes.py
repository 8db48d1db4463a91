"""The platform stand-ins as processes: each takes a port of its own choosing,
says which, answers there, and stops with its context; one that cannot start fails
with its own output instead of a bare timeout."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.standins.processes import running_stand_in

TELEGRAM = ["tests.standins.telegram_api", "--token", "1:stand-in-token"]
TWILIO = ["tests.standins.twilio_api", "--account-sid", "AC1", "--auth-token", "t"]
KAKAO = ["tests.standins.kakao_api", "serve", "--bot-id", "b", "--rest-api-key", "k"]


def answers(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_recorded", timeout=5) as answer:
        return int(answer.status)


def test_each_stand_in_listens_on_the_port_it_names_and_stops_with_its_context(
    tmp_path: Path,
) -> None:
    with (
        running_stand_in(TELEGRAM, tmp_path / "telegram.log") as telegram,
        running_stand_in(TWILIO, tmp_path / "twilio.log") as twilio,
        running_stand_in(KAKAO, tmp_path / "kakao.log") as kakao,
    ):
        urls = {telegram, twilio, kakao}
        assert len(urls) == 3
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        assert [answers(url) for url in sorted(urls)] == [200, 200, 200]
    for url in urls:
        with pytest.raises(urllib.error.URLError):
            answers(url)


def test_a_stand_in_that_ends_before_listening_fails_with_its_output(
    tmp_path: Path,
) -> None:
    with (
        pytest.raises(RuntimeError) as failure,
        running_stand_in(["tests.standins.kakao_api", "serve"], tmp_path / "k.log"),
    ):
        pass
    message = str(failure.value)
    assert "tests.standins.kakao_api ended with exit code 2" in message
    assert "--bot-id" in message
