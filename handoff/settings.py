"""Service configuration, read from the environment in one place."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from yarl import URL

from handoff.observability.logs import FORMATS as LOG_FORMATS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/handoff.db"
DEFAULT_TOKEN_TTL_SECONDS = 8 * 60 * 60

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


PUBLISHED_DEMO_PASSWORD = "tandem-demo"


class ConfigurationError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    service_secret: str
    # Signs the web chat's session ids; the bot's socket.io channel checks them.
    chat_session_secret: str
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = DEFAULT_DATABASE_URL
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    rasa_socket_url: str = "http://127.0.0.1:5005"
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    demo_agent_password: str = PUBLISHED_DEMO_PASSWORD
    # Only the embedded SQLite demo seeds staff with a published password.
    seed_demo_agents: bool = False
    # Supervisors' numbers: the wait that counts as answered in time, and the
    # time zone whose days and hours the numbers are grouped by.
    service_level_seconds: int = 60
    time_zone: str = "Asia/Seoul"
    # Queue timeouts, checked by the sweeper every sweep_interval_seconds.
    queue_abandon_seconds: int = 15 * 60
    no_reply_flag_seconds: int = 3 * 60
    sweep_interval_seconds: int = 5
    # Abuse limits: handoffs one customer, and one client address over all its
    # web chat sessions, may open in a window (queue flooding); web chat session
    # ids one address is issued a minute; ratings of the bot in one conversation.
    handoffs_per_customer: int = 5
    handoffs_per_address: int = 20
    handoff_window_seconds: int = 60 * 60
    chat_sessions_per_address: int = 20
    bot_ratings_per_conversation: int = 1
    # Reverse proxies whose X-Forwarded-For names the client; from anyone else
    # the header is ignored and the peer address is the client.
    trusted_proxies: tuple[IPNetwork, ...] = ()
    # Messages and bot transcripts older than this are purged by the sweeper.
    transcript_retention_days: int = 90
    # Bearer token of GET /metrics; without one, only loopback peers that no
    # proxy forwarded may scrape.
    metrics_token: str = ""
    # "text" or "json" (one object a line).
    log_format: str = "text"
    # Files customers send and agents attach: the largest one taken, how long a
    # customer's link to one stays valid, and how many one conversation may
    # upload (each side on its own) in ATTACHMENT_WINDOW.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_link_seconds: int = 7 * 24 * 60 * 60
    attachments_per_conversation: int = 20
    # The public address customers reach the service at, which makes the links
    # to files sent into their channel absolute; relative links without one.
    public_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        service_secret = environ.get("TANDEM_SERVICE_SECRET", "")
        if not service_secret:
            raise ConfigurationError(
                "TANDEM_SERVICE_SECRET must be set: the bot authenticates with it"
            )
        chat_session_secret = environ.get("TANDEM_CHAT_SESSION_SECRET", "")
        if not chat_session_secret:
            raise ConfigurationError(
                "TANDEM_CHAT_SESSION_SECRET must be set: the web chat's session ids "
                "are signed with it"
            )
        rasa_url = environ.get("TANDEM_RASA_URL", cls.rasa_url)
        database_url = database_url_from_env(environ)
        seed_demo_agents = _boolean(
            environ, "TANDEM_SEED_DEMO_AGENTS", cls.seed_demo_agents
        )
        if seed_demo_agents and not database_url.startswith("sqlite"):
            raise ConfigurationError(
                "TANDEM_SEED_DEMO_AGENTS seeds staff with a published password and is "
                "only for the embedded SQLite demo; create staff with "
                "'python -m handoff create-agent' instead"
            )
        return cls(
            service_secret=service_secret,
            chat_session_secret=chat_session_secret,
            host=environ.get("TANDEM_HANDOFF_HOST", cls.host),
            port=_integer(environ, "TANDEM_HANDOFF_PORT", cls.port),
            database_url=database_url,
            rasa_url=rasa_url,
            rasa_token=environ.get("TANDEM_RASA_TOKEN", cls.rasa_token),
            rasa_socket_url=_socket_url(
                "TANDEM_RASA_SOCKET_URL",
                environ.get("TANDEM_RASA_SOCKET_URL") or rasa_url,
            ),
            token_ttl_seconds=_integer(
                environ, "TANDEM_TOKEN_TTL_SECONDS", cls.token_ttl_seconds
            ),
            demo_agent_password=environ.get(
                "TANDEM_DEMO_AGENT_PASSWORD", cls.demo_agent_password
            ),
            seed_demo_agents=seed_demo_agents,
            service_level_seconds=_integer(
                environ, "TANDEM_SERVICE_LEVEL_SECONDS", cls.service_level_seconds
            ),
            time_zone=_time_zone(environ, "TANDEM_TIME_ZONE", cls.time_zone),
            queue_abandon_seconds=_integer(
                environ, "TANDEM_QUEUE_ABANDON_SECONDS", cls.queue_abandon_seconds
            ),
            no_reply_flag_seconds=_integer(
                environ, "TANDEM_NO_REPLY_FLAG_SECONDS", cls.no_reply_flag_seconds
            ),
            sweep_interval_seconds=_integer(
                environ, "TANDEM_SWEEP_INTERVAL_SECONDS", cls.sweep_interval_seconds
            ),
            handoffs_per_customer=_integer(
                environ, "TANDEM_HANDOFFS_PER_CUSTOMER", cls.handoffs_per_customer
            ),
            handoffs_per_address=_integer(
                environ, "TANDEM_HANDOFFS_PER_ADDRESS", cls.handoffs_per_address
            ),
            handoff_window_seconds=_integer(
                environ, "TANDEM_HANDOFF_WINDOW_SECONDS", cls.handoff_window_seconds
            ),
            chat_sessions_per_address=_integer(
                environ,
                "TANDEM_CHAT_SESSIONS_PER_ADDRESS",
                cls.chat_sessions_per_address,
            ),
            bot_ratings_per_conversation=_integer(
                environ,
                "TANDEM_BOT_RATINGS_PER_CONVERSATION",
                cls.bot_ratings_per_conversation,
            ),
            trusted_proxies=_networks(environ, "TANDEM_TRUSTED_PROXIES"),
            transcript_retention_days=_integer(
                environ,
                "TANDEM_TRANSCRIPT_RETENTION_DAYS",
                cls.transcript_retention_days,
            ),
            metrics_token=environ.get("TANDEM_METRICS_TOKEN", "").strip(),
            log_format=log_format_from_env(environ),
            attachment_max_bytes=_integer(
                environ, "TANDEM_ATTACHMENT_MAX_BYTES", cls.attachment_max_bytes
            ),
            attachment_link_seconds=_integer(
                environ, "TANDEM_ATTACHMENT_LINK_SECONDS", cls.attachment_link_seconds
            ),
            attachments_per_conversation=_integer(
                environ,
                "TANDEM_ATTACHMENTS_PER_CONVERSATION",
                cls.attachments_per_conversation,
            ),
            public_url=_public_url(environ, "TANDEM_PUBLIC_URL"),
        )


def log_format_from_env(environ: Mapping[str, str] = os.environ) -> str:
    raw = environ.get("TANDEM_LOG_FORMAT") or "text"
    log_format = raw.strip().lower()
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"TANDEM_LOG_FORMAT must be text or json, not {raw!r}")
    return log_format


def database_url_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The database URL, with a relative SQLite path anchored at the repository.

    Migrations use this too, so they must not depend on the service secret.
    """
    return resolve_sqlite_path(
        environ.get("TANDEM_DATABASE_URL") or DEFAULT_DATABASE_URL
    )


def resolve_sqlite_path(url: str) -> str:
    # A relative SQLite path would otherwise depend on the working directory of
    # whoever starts the process, and the service and migrations would disagree.
    parsed = make_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
        or Path(database).is_absolute()
    ):
        return url
    return parsed.set(database=str(REPO_ROOT / database)).render_as_string(
        hide_password=False
    )


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value}")
    return value


def _time_zone(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name) or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{name} must be an IANA time zone such as Asia/Seoul, not {raw!r}"
        ) from None
    return raw


def _socket_url(name: str, raw: str) -> str:
    # The pages' content security policy names this origin, over HTTP and
    # WebSocket alike, so it must be an absolute URL of one of them.
    url = URL(raw)
    if url.scheme not in {"http", "https", "ws", "wss"} or not url.host:
        raise ConfigurationError(
            f"{name} must be an http(s) or ws(s) URL such as "
            f"https://chat.example, not {raw!r}"
        )
    return raw


def _public_url(environ: Mapping[str, str], name: str) -> str:
    raw = environ.get(name, "").strip()
    if not raw:
        return ""
    url = URL(raw)
    if url.scheme not in {"http", "https"} or not url.host or url.query_string:
        raise ConfigurationError(
            f"{name} must be an http(s) URL such as https://chat.example, not {raw!r}"
        )
    return raw.rstrip("/")


def _networks(environ: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    networks = []
    for item in environ.get(name, "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{name} must list IP addresses or networks such as 10.0.0.0/8, "
                f"not {item!r}"
            ) from None
    return tuple(networks)


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")
