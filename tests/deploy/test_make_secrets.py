"""deploy/make_secrets.py: one env file a process, shared values equal, owner-only
files, and nothing overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deploy.make_secrets import main, secret_files
from tests.deploy.processes import read_env_file


def written(folder: Path) -> dict[str, dict[str, str]]:
    return {
        path.name: read_env_file(path.read_text("utf-8"))
        for path in sorted(folder.glob("*.env"))
    }


def test_every_process_gets_its_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0

    files = written(tmp_path)
    assert set(files) == {
        "postgres.env",
        "redis.env",
        "migrate.env",
        "handoff.env",
        "rasa.env",
        "actions.env",
    }
    for path in tmp_path.glob("*.env"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_values_two_processes_share_are_equal_and_fresh(tmp_path: Path) -> None:
    main(["--out", str(tmp_path)])
    files = written(tmp_path)

    for name in ("TANDEM_SERVICE_SECRET", "TANDEM_CHAT_SESSION_SECRET"):
        holders = {
            file: values[name] for file, values in files.items() if name in values
        }
        assert len(holders) >= 2
        assert len(set(holders.values())) == 1
    assert (
        files["rasa.env"]["TANDEM_RASA_TOKEN"]
        == (files["handoff.env"]["TANDEM_RASA_TOKEN"])
    )
    assert (
        files["rasa.env"]["TANDEM_ACTIONS_TOKEN"]
        == (files["actions.env"]["TANDEM_ACTIONS_TOKEN"])
    )
    database_password = files["postgres.env"]["POSTGRES_PASSWORD"]
    assert files["rasa.env"]["TANDEM_TRACKER_DB_PASSWORD"] == database_password
    assert (
        f"tandem:{database_password}@postgres:5432/"
        in (files["handoff.env"]["TANDEM_DATABASE_URL"])
    )
    assert files["migrate.env"] == {
        "TANDEM_DATABASE_URL": files["handoff.env"]["TANDEM_DATABASE_URL"]
    }
    redis_password = files["redis.env"]["TANDEM_REDIS_PASSWORD"]
    assert files["rasa.env"]["TANDEM_SOCKETIO_REDIS_URL"] == (
        f"redis://:{redis_password}@redis:6379/2"
    )
    # The channels' state and deliveries in a database of their own.
    assert files["rasa.env"]["TANDEM_CHANNEL_REDIS_URL"] == (
        f"redis://:{redis_password}@redis:6379/3"
    )
    every_value = [value for values in files.values() for value in values.values()]
    assert all(value for value in every_value)
    secrets = {
        files["handoff.env"]["TANDEM_SERVICE_SECRET"],
        files["handoff.env"]["TANDEM_CHAT_SESSION_SECRET"],
        files["handoff.env"]["TANDEM_RASA_TOKEN"],
        files["actions.env"]["TANDEM_ACTIONS_TOKEN"],
        database_password,
        redis_password,
    }
    assert len(secrets) == 6


def test_kubernetes_hosts_can_be_named(tmp_path: Path) -> None:
    main(
        [
            "--out",
            str(tmp_path),
            "--database-host",
            "tandem-postgres:5432",
            "--redis-host",
            "tandem-redis:6379",
        ]
    )
    files = written(tmp_path)

    assert (
        "@tandem-postgres:5432/tandem_handoff"
        in (files["handoff.env"]["TANDEM_DATABASE_URL"])
    )
    assert files["rasa.env"]["TANDEM_SOCKETIO_REDIS_URL"].endswith(
        "@tandem-redis:6379/2"
    )


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    main(["--out", str(tmp_path)])
    before = written(tmp_path)
    (tmp_path / "redis.env").unlink()

    with pytest.raises(SystemExit, match="already exist"):
        main(["--out", str(tmp_path)])

    after = written(tmp_path)
    assert "redis.env" not in after
    assert after == {name: before[name] for name in after}


def test_the_action_server_gets_only_what_it_reads() -> None:
    files = secret_files(
        dict.fromkeys(
            (
                "database_password",
                "redis_password",
                "service_secret",
                "chat_session_secret",
                "rasa_token",
                "actions_token",
                "metrics_token",
            ),
            "x",
        )
    )

    assert files["actions.env"] == {
        "TANDEM_ACTIONS_TOKEN": "x",
        "TANDEM_SERVICE_SECRET": "x",
        "TANDEM_METRICS_TOKEN": "x",
    }
