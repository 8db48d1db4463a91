"""Settings from the environment."""

from __future__ import annotations

import ipaddress

import pytest

from handoff.settings import REPO_ROOT, ConfigurationError, Settings


def test_defaults() -> None:
    settings = Settings.from_env(
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": "c"}
    )

    assert settings == Settings(
        service_secret="s",
        chat_session_secret="c",
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
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_HANDOFF_HOST": "0.0.0.0",
            "TANDEM_HANDOFF_PORT": "9000",
            "TANDEM_DATABASE_URL": "postgresql+asyncpg://u:p@db/tandem",
            "TANDEM_RASA_URL": "http://rasa:5005",
            "TANDEM_RASA_TOKEN": "t",
            "TANDEM_TOKEN_TTL_SECONDS": "60",
            "TANDEM_DEMO_AGENT_PASSWORD": "pw",
            "TANDEM_SEED_DEMO_AGENTS": "false",
            "TANDEM_HANDOFFS_PER_CUSTOMER": "3",
            "TANDEM_HANDOFFS_PER_ADDRESS": "7",
            "TANDEM_CHAT_SESSIONS_PER_ADDRESS": "4",
            "TANDEM_HANDOFF_WINDOW_SECONDS": "600",
            "TANDEM_BOT_RATINGS_PER_CONVERSATION": "2",
            "TANDEM_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 2001:db8::/32",
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
    assert settings.handoffs_per_customer == 3
    assert settings.handoffs_per_address == 7
    assert settings.chat_sessions_per_address == 4
    assert settings.handoff_window_seconds == 600
    assert settings.bot_ratings_per_conversation == 2
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )


def test_relative_sqlite_paths_are_anchored_at_the_repository() -> None:
    settings = Settings.from_env(
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
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
        {"TANDEM_SERVICE_SECRET": "s"},
        {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": ""},
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_HANDOFF_PORT": "http",
        },
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_TOKEN_TTL_SECONDS": "-5",
        },
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_SEED_DEMO_AGENTS": "maybe",
        },
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_RASA_SOCKET_URL": "chat.example",
        },
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_RASA_URL": "ftp://rasa:5005",
        },
    ],
)
def test_unusable_environments_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(environ)


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ConfigurationError, match=r"TANDEM_TRUSTED_PROXIES .* 'proxy'"):
        Settings.from_env(
            {
                "TANDEM_SERVICE_SECRET": "s",
                "TANDEM_CHAT_SESSION_SECRET": "c",
                "TANDEM_TRUSTED_PROXIES": "10.0.0.1,proxy",
            }
        )


def test_demo_staff_are_seeded_only_into_the_embedded_database() -> None:
    demo = Settings.from_env(
        {
            "TANDEM_SERVICE_SECRET": "s",
            "TANDEM_CHAT_SESSION_SECRET": "c",
            "TANDEM_SEED_DEMO_AGENTS": "true",
        }
    )
    assert demo.seed_demo_agents is True

    with pytest.raises(ConfigurationError, match="only for the embedded SQLite demo"):
        Settings.from_env(
            {
                "TANDEM_SERVICE_SECRET": "s",
                "TANDEM_CHAT_SESSION_SECRET": "c",
                "TANDEM_DATABASE_URL": "postgresql+asyncpg://u:p@db/tandem",
                "TANDEM_SEED_DEMO_AGENTS": "true",
            }
        )


def test_the_chat_session_secret_is_required() -> None:
    with pytest.raises(
        ConfigurationError, match="TANDEM_CHAT_SESSION_SECRET must be set: the web chat"
    ):
        Settings.from_env({"TANDEM_SERVICE_SECRET": "s"})


def test_transcript_retention_is_read_and_must_be_positive() -> None:
    base = {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": "c"}
    assert Settings.from_env(base).transcript_retention_days == 90
    days = Settings.from_env({**base, "TANDEM_TRANSCRIPT_RETENTION_DAYS": "30"})
    assert days.transcript_retention_days == 30
    with pytest.raises(
        ConfigurationError,
        match="TANDEM_TRANSCRIPT_RETENTION_DAYS must be positive, not 0",
    ):
        Settings.from_env({**base, "TANDEM_TRANSCRIPT_RETENTION_DAYS": "0"})


@pytest.mark.parametrize(
    "name", ["TANDEM_CHAT_SESSIONS_PER_ADDRESS", "TANDEM_HANDOFFS_PER_ADDRESS"]
)
def test_the_per_address_limits_default_to_twenty_and_must_be_positive(
    name: str,
) -> None:
    base = {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": "c"}
    defaults = Settings.from_env(base)
    assert (defaults.chat_sessions_per_address, defaults.handoffs_per_address) == (
        20,
        20,
    )
    with pytest.raises(ConfigurationError, match=f"{name} must be positive, not 0"):
        Settings.from_env({**base, name: "0"})
    with pytest.raises(ConfigurationError, match=f"{name} must be an integer"):
        Settings.from_env({**base, name: "many"})


def test_files_have_a_size_limit_a_link_lifetime_and_a_public_address() -> None:
    base = {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": "c"}
    defaults = Settings.from_env(base)
    assert (
        defaults.attachment_max_bytes,
        defaults.attachment_link_seconds,
        defaults.attachments_per_conversation,
        defaults.public_url,
    ) == (10 * 1024 * 1024, 7 * 24 * 3600, 20, "")

    settings = Settings.from_env(
        {
            **base,
            "TANDEM_ATTACHMENT_MAX_BYTES": "1048576",
            "TANDEM_ATTACHMENT_LINK_SECONDS": "3600",
            "TANDEM_ATTACHMENTS_PER_CONVERSATION": "5",
            "TANDEM_PUBLIC_URL": "https://chat.example/",
        }
    )
    assert (
        settings.attachment_max_bytes,
        settings.attachment_link_seconds,
        settings.attachments_per_conversation,
        settings.public_url,
    ) == (1048576, 3600, 5, "https://chat.example")

    for name, value in [
        ("TANDEM_ATTACHMENT_MAX_BYTES", "0"),
        ("TANDEM_ATTACHMENT_LINK_SECONDS", "a week"),
        ("TANDEM_PUBLIC_URL", "chat.example"),
        ("TANDEM_PUBLIC_URL", "ftp://chat.example"),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({**base, name: value})
