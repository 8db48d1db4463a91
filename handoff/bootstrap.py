"""Start-up checks: the embedded schema, demo agents only in the demo, and no
published password on any other set-up."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from handoff.app_keys import AUTH, ENGINE, SESSIONS, SETTINGS
from handoff.settings import PUBLISHED_DEMO_PASSWORD, ConfigurationError
from handoff.staff.agents import seed_demo_agents
from handoff.storage.db import is_sqlite

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# The schema of 0001 was first created without Alembic; such a file is adopted.
FIRST_REVISION = "0001"

logger = logging.getLogger(__name__)


def upgrade_to_head(connection: Connection) -> None:
    """Runs the Alembic migrations up to the newest schema on ``connection``."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["connection"] = connection
    tables = set(inspect(connection).get_table_names())
    if "handoffs" in tables and "alembic_version" not in tables:
        command.stamp(config, FIRST_REVISION)
    command.upgrade(config, "head")


async def prepare_database(app: web.Application) -> None:
    """Bring the embedded schema up to date and seed demo agents, once.

    The embedded SQLite database migrates itself on every start, so upgrading
    Tandem upgrades its file too. A PostgreSQL schema is migrated by whoever
    runs the deployment (``alembic -c handoff/alembic.ini upgrade head``).
    """
    settings = app[SETTINGS]
    if is_sqlite(settings.database_url):
        async with app[ENGINE].begin() as connection:
            await connection.run_sync(upgrade_to_head)
    if settings.seed_demo_agents:
        await seed_demo_agents(app[SESSIONS], app[AUTH], settings.demo_agent_password)
        return
    await refuse_demo_passwords(app)


async def refuse_demo_passwords(app: web.Application) -> None:
    """Outside the demo, an account with a published password stops the start."""
    settings = app[SETTINGS]
    published = {PUBLISHED_DEMO_PASSWORD, settings.demo_agent_password}
    exposed = sorted(
        {
            username
            for password in published
            for username in await app[AUTH].usernames_with_password(password)
        }
    )
    if exposed:
        raise ConfigurationError(
            f"account(s) {', '.join(exposed)} still have the demo password: give "
            "them their own (PATCH /api/agents/{id}) or deactivate them, then start "
            "again"
        )
