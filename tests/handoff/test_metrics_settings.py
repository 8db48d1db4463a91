"""The supervisors' settings: service-level target and time zone."""

from __future__ import annotations

import pytest

from handoff.settings import ConfigurationError, Settings

BASE = {"TANDEM_SERVICE_SECRET": "secret", "TANDEM_CHAT_SESSION_SECRET": "c"}


def test_defaults_are_a_minute_and_seoul() -> None:
    settings = Settings.from_env(BASE)

    assert settings.service_level_seconds == 60
    assert settings.time_zone == "Asia/Seoul"


def test_both_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "TANDEM_SERVICE_LEVEL_SECONDS": "20",
            "TANDEM_TIME_ZONE": "Europe/Berlin",
        }
    )

    assert settings.service_level_seconds == 20
    assert settings.time_zone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TANDEM_SERVICE_LEVEL_SECONDS", "0", "must be positive"),
        ("TANDEM_SERVICE_LEVEL_SECONDS", "a minute", "must be an integer"),
        ("TANDEM_TIME_ZONE", "Mars/Olympus_Mons", "must be an IANA time zone"),
        ("TANDEM_TIME_ZONE", "../../etc/passwd", "must be an IANA time zone"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, name: value})
