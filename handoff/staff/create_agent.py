"""``python -m handoff create-agent``: staff accounts from the command line.

Outside the embedded demo nobody is seeded, so the first supervisor is created
here. The password is prompted for, or read from a file (``-`` for standard
input), never taken on the command line where every local user could read it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from handoff.api.validation import NewAgent, parse_new_agent
from handoff.bootstrap import upgrade_to_head
from handoff.errors import DomainError
from handoff.settings import DEFAULT_TOKEN_TTL_SECONDS, database_url_from_env
from handoff.staff.agents import insert_agent
from handoff.staff.auth import AuthService
from handoff.storage.db import create_engine, create_session_factory, is_sqlite


class CommandLineError(Exception):
    """What the operator typed cannot make an account."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "create-agent", help="create an agent or supervisor account"
    )
    parser.add_argument("username")
    parser.add_argument("--display-name", required=True)
    parser.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    parser.add_argument(
        "--skills", default="general", help="comma-separated, e.g. billing,general"
    )
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument(
        "--language",
        choices=("ko", "en"),
        default=None,
        help="the language the staff pages speak to them (default ko)",
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        help="read the password from this file's first line ('-': standard input)",
    )


def new_agent(arguments: argparse.Namespace, password: str) -> NewAgent:
    body: dict[str, object] = {
        "username": arguments.username,
        "display_name": arguments.display_name,
        "password": password,
        "role": arguments.role,
        "skills": [skill.strip() for skill in arguments.skills.split(",")],
    }
    if arguments.capacity is not None:
        body["capacity"] = arguments.capacity
    if arguments.language is not None:
        body["language"] = arguments.language
    try:
        return parse_new_agent(body)
    except DomainError as error:
        raise CommandLineError(error.message) from None


def read_password(password_file: Path | None) -> str:
    if password_file is not None:
        text = (
            sys.stdin.readline()
            if str(password_file) == "-"
            else _first_line(password_file)
        )
        return text.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandLineError(
            "no terminal to ask for the password: use --password-file"
        )
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CommandLineError("the two passwords differ")
    return password


async def create_agent(arguments: argparse.Namespace) -> str:
    request = new_agent(arguments, read_password(arguments.password_file))
    database_url = database_url_from_env()
    engine = create_engine(database_url)
    try:
        if is_sqlite(database_url):
            # The embedded file migrates itself, as the service does on start.
            async with engine.begin() as connection:
                await connection.run_sync(upgrade_to_head)
        sessions = create_session_factory(engine)
        auth = AuthService(sessions, timedelta(seconds=DEFAULT_TOKEN_TTL_SECONDS))
        try:
            agent_id = await insert_agent(sessions, auth, request)
        except DomainError as error:
            raise CommandLineError(error.message) from None
        except DBAPIError as error:
            raise CommandLineError(
                f"the database refused the account ({error.orig}); migrate a "
                "PostgreSQL database first: alembic -c handoff/alembic.ini upgrade head"
            ) from None
    finally:
        await engine.dispose()
    return f"created {request.role} {request.username} (id {agent_id})"


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as file:
            return file.readline()
    except OSError as error:
        raise CommandLineError(f"cannot read {path}: {error.strerror}") from None
