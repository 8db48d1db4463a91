"""Settings from the environment."""

from __future__ import annotations

import pytest

from handoff.settings import REPO_ROOT, ConfigurationError, Settings


def test_defaults() -> None:
    settings = Settings.from_env({"TANDEM_SERVICE_SECRET": "s"})

    assert settings == Settings(
        service_secret="s",
        host="127.0.0.1",
        port=8080,
        database_url=f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'handoff.db'}",
        rasa_url="http://127.0.0.1:5005",
        rasa_token="",
        rasa_socket_url="http://127.0.0.1:5005",
        token_ttl_seconds=8 * 60 * 60,
        demo_agent_password="tandem-demo",
        seed_demo_agents=False,
    )


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_HANDOFF_HOST": "0.0.0.0",
            "TANDEM_HANDOFF_PORT": "9000",
            "TANDEM_DATABASE_URL": "postgresql+asyncpg://u:p@db/tandem",
            "TANDEM_RASA_URL": "http://rasa:5005",
            "TANDEM_RASA_TOKEN": "t",
            "TANDEM_TOKEN_TTL_SECONDS": "60",
            "TANDEM_DEMO_AGENT_PASSWORD": "pw",
            "TANDEM_SEED_DEMO_AGENTS": "false",
        }
    )

    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.database_url == "postgresql+asyncpg://u:p@db/tandem"
    assert settings.rasa_url == "http://rasa:5005"
    # The chat page connects where Rasa is unless told otherwise.
    assert settings.rasa_socket_url == "http://rasa:5005"
    assert settings.rasa_token == "t"
    assert settings.token_ttl_seconds == 60
    assert settings.demo_agent_password == "pw"
    assert settings.seed_demo_agents is False


def test_relative_sqlite_paths_are_anchored_at_the_repository() -> None:
    settings = Settings.from_env(
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_DATABASE_URL": "sqlite+aiosqlite:///data/x.db",
            "TANDEM_RASA_SOCKET_URL": "https://chat.example",
        }
    )

    assert settings.database_url == f"sqlite+aiosqlite:///{REPO_ROOT / 'data/x.db'}"
    assert settings.rasa_socket_url == "https://chat.example"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"TANDEM_SERVICE_SECRET": ""},
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_HANDOFF_PORT": "http"},
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_TOKEN_TTL_SECONDS": "-5"},
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_SEED_DEMO_AGENTS": "maybe"},
    ],
)
def test_unusable_environments_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(environ)


def test_demo_staff_are_seeded_only_into_the_embedded_database() -> None:
    demo = Settings.from_env(
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_SEED_DEMO_AGENTS": "true"}
    )
    assert demo.seed_demo_agents is True

    with pytest.raises(ConfigurationError, match="only for the embedded SQLite demo"):
        Settings.from_env(
            {
                "TANDEM_SERVICE_SECRET": "s",
                "TANDEM_DATABASE_URL": "postgresql+asyncpg://u:p@db/tandem",
                "TANDEM_SEED_DEMO_AGENTS": "true",
            }
        )


def test_transcript_retention_is_read_and_must_be_positive() -> None:
    base = {"TANDEM_SERVICE_SECRET": "s"}
    assert Settings.from_env(base).transcript_retention_days == 90
    days = Settings.from_env({**base, "TANDEM_TRANSCRIPT_RETENTION_DAYS": "30"})
    assert days.transcript_retention_days == 30
    with pytest.raises(
        ConfigurationError,
        match="TANDEM_TRANSCRIPT_RETENTION_DAYS must be positive, not 0",
    ):
        Settings.from_env({**base, "TANDEM_TRANSCRIPT_RETENTION_DAYS": "0"})
