"""scripts/run_cluster.py without starting anything: the processes it would start,
their settings, the HAProxy configuration (checked by HAProxy itself), and what it
refuses; scripts/cluster_database.py's staff password."""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from scripts import cluster_database, run_cluster

SECRETS = {
    "TANDEM_RASA_TOKEN": "rasa-token-value",
    "TANDEM_SERVICE_SECRET": "service-secret-value",
    "TANDEM_ACTIONS_TOKEN": "actions-token-value",
    "TANDEM_CHAT_SESSION_SECRET": "chat-session-secret-value",
}
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def arguments(**changes: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "rasa": 2,
        "actions": 2,
        "services": 2,
        "service_calls_rasa": None,
        "bot_calls_service": None,
    }
    values.update(changes)
    return argparse.Namespace(**values)


def cluster(tmp_path: Path, **env: str) -> run_cluster.Cluster:
    settings = {**SECRETS, "TANDEM_VAR_DIR": str(tmp_path), **env}
    return run_cluster.cluster_from(settings, arguments(), tmp_path)


def processes(tmp_path: Path) -> dict[str, run_cluster.Child]:
    env = run_cluster.cluster_environment(SECRETS, tmp_path / "no.env")
    children = run_cluster.children(cluster(tmp_path), env, tmp_path / "model.tar.gz")
    return {child.name: child for child in children}


def test_two_of_each_and_haproxy_last(tmp_path: Path) -> None:
    children = processes(tmp_path)

    assert list(children) == [
        "handoff-1",
        "handoff-2",
        "actions-1",
        "actions-2",
        "rasa-1",
        "rasa-2",
        "haproxy",
    ]
    assert [name for name, c in children.items() if c.starts_last] == ["haproxy"]


def test_no_secret_is_on_a_command_line(tmp_path: Path) -> None:
    for child in processes(tmp_path).values():
        for secret in SECRETS.values():
            assert not any(secret in part for part in child.command), child.name
        assert child.env is not None
        if child.name == "haproxy":
            assert not set(SECRETS) & set(child.env)
        else:
            assert all(child.env[key] == value for key, value in SECRETS.items())


def test_every_rasa_server_is_set_up_for_several(tmp_path: Path) -> None:
    children = processes(tmp_path)
    folders = set()
    for name in ("rasa-1", "rasa-2"):
        child = children[name]
        assert child.env is not None
        command = child.command
        assert command[1:3] == ["-m", "bot.server"]
        assert command[command.index("--endpoints") + 1] == str(run_cluster.ENDPOINTS)
        assert command[command.index("--interface") + 1] == "127.0.0.1"
        assert child.env["TANDEM_RASA_INSTANCES"] == "2"
        assert child.env["TANDEM_TRACKER_DB_URL"] == (
            "postgresql://postgres@127.0.0.1:5432/tandem_cluster_rasa"
        )
        assert child.env["TANDEM_SOCKETIO_REDIS_URL"] == "redis://127.0.0.1:6379/0"
        assert child.env["TANDEM_SOCKETIO_REDIS_CHANNEL"] == "tandem_cluster-socketio"
        # A webhook or an agent's reply may reach either server: the channels' state
        # and their ledger of deliveries are shared.
        assert child.env["TANDEM_CHANNEL_REDIS_URL"] == "redis://127.0.0.1:6379/0"
        assert child.env["TANDEM_CHANNEL_REDIS_PREFIX"] == "tandem_cluster"
        assert child.env["TANDEM_CLUSTER_NAME"] == "tandem_cluster"
        # The event broker's disk buffer is the server's own.
        folders.add(child.env["TANDEM_VAR_DIR"])
        # The action servers and the service through HAProxy's loopback listeners.
        assert child.env["TANDEM_ACTIONS_URL"] == "http://127.0.0.1:18033/webhook"
        assert child.env["TANDEM_HANDOFF_URL"] == "http://127.0.0.1:18032"
    assert len(folders) == 2


def test_the_service_instances_share_postgresql_behind_the_proxy(
    tmp_path: Path,
) -> None:
    children = processes(tmp_path)
    for name, port in (("handoff-1", "18021"), ("handoff-2", "18022")):
        env = children[name].env
        assert env is not None
        assert env["TANDEM_HANDOFF_PORT"] == port
        assert env["TANDEM_HANDOFF_HOST"] == "127.0.0.1"
        assert env["TANDEM_DATABASE_URL"] == (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/tandem_cluster"
        )
        assert env["TANDEM_SEED_DEMO_AGENTS"] == "false"
        assert env["TANDEM_RASA_URL"] == "http://127.0.0.1:18031"
        assert env["TANDEM_RASA_SOCKET_URL"] == "http://127.0.0.1:8090"
        assert env["TANDEM_TRUSTED_PROXIES"] == "127.0.0.1"


def test_the_action_servers_share_one_demo_back_end(tmp_path: Path) -> None:
    children = processes(tmp_path)
    backends = {
        children[n].env["TANDEM_DEMO_BACKEND_DB"] for n in ("actions-1", "actions-2")
    }  # type: ignore[index]
    assert backends == {str(tmp_path / "tandem_cluster" / "demo_backend.db")}


def test_pinned_routes_for_tests(tmp_path: Path) -> None:
    settings = {**SECRETS, "TANDEM_VAR_DIR": str(tmp_path)}
    pinned = run_cluster.cluster_from(
        settings,
        arguments(service_calls_rasa="rasa-1", bot_calls_service="handoff-2"),
        tmp_path,
    )

    assert pinned.rasa_api_url == "http://127.0.0.1:18001"
    assert pinned.handoff_for_bot_url == "http://127.0.0.1:18022"


def haproxy_config(tmp_path: Path) -> str:
    template = run_cluster.HAPROXY_TEMPLATE.read_text("utf-8")
    return run_cluster.haproxy_config(cluster(tmp_path), template)


def test_haproxy_accepts_its_configuration(tmp_path: Path) -> None:
    if not Path(HAPROXY).exists():
        pytest.fail("HAProxy is not installed: run scripts/ensure_haproxy.sh")
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(tmp_path), "utf-8")

    checked = subprocess.run(
        [HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_routes_only_the_chat_and_webhooks_to_rasa(tmp_path: Path) -> None:
    config = haproxy_config(tmp_path)
    public = config.split("frontend public", 1)[1].split("\nbackend ", 1)[0]

    assert "bind 127.0.0.1:8090" in public
    assert "use_backend rasa_socketio if { path_beg /socket.io/ }" in public
    assert "use_backend rasa_webhooks if { path_beg /webhooks/ }" in public
    assert "default_backend handoff" in public
    assert "http-request deny deny_status 404 if { path_beg /api/rasa/ }" in public
    # What a client claims in X-Forwarded-For is dropped before HAProxy adds its own.
    assert public.index("del-header X-Forwarded-For") < public.index("forwardfor")
    # Everything else of Rasa, and the action servers, only on loopback.
    for listener in ("rasa_api", "handoff_for_the_bot", "actions"):
        block = config.split(f"listen {listener}", 1)[1]
        assert block.lstrip().startswith("bind 127.0.0.1:")


def test_socketio_sessions_stick_by_cookie(tmp_path: Path) -> None:
    backend = haproxy_config(tmp_path).split("\nbackend rasa_socketio\n", 1)[1]
    backend = backend.split("\nbackend ", 1)[0]

    assert "balance roundrobin" in backend
    assert "cookie TANDEM_RASA insert indirect nocache httponly" in backend
    assert "server rasa-1 127.0.0.1:18001 check cookie rasa-1" in backend
    assert "server rasa-2 127.0.0.1:18002 check cookie rasa-2" in backend


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TANDEM_CLUSTER_NAME": "Tandem-Cluster"}, "TANDEM_CLUSTER_NAME must be"),
        ({"TANDEM_CLUSTER_PORT": "80a"}, "TANDEM_CLUSTER_PORT must be"),
        ({"TANDEM_CLUSTER_BASE_PORT": "65530"}, "TANDEM_CLUSTER_BASE_PORT must be"),
        ({"TANDEM_REDIS_URL": "http://127.0.0.1:6379"}, "not a Redis URL"),
        ({"TANDEM_CLUSTER_POSTGRES_URL": "mysql://x/y"}, "is not PostgreSQL"),
    ],
)
def test_wrong_settings_are_refused(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        cluster(tmp_path, **env)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rasa": 0}, "--rasa must be"),
        ({"services": 10}, "--services must be"),
        ({"service_calls_rasa": "rasa-3"}, "no Rasa server rasa-3"),
        ({"bot_calls_service": "handoff-9"}, "no service instance handoff-9"),
    ],
)
def test_wrong_arguments_are_refused(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        run_cluster.cluster_from(
            {**SECRETS, "TANDEM_VAR_DIR": str(tmp_path)}, arguments(**changes), tmp_path
        )


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_the_cluster_will_not_start_without_each_secret(
    tmp_path: Path, missing: str
) -> None:
    base = {k: v for k, v in SECRETS.items() if k != missing}
    with pytest.raises(SystemExit, match=f"{missing} is not set"):
        run_cluster.cluster_environment(base, tmp_path / "no.env")


def test_the_staff_password_is_made_once_and_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cluster" / "staff_password"

    first = cluster_database.staff_password(path)

    assert len(first) >= 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cluster_database.staff_password(path) == first
    path.write_text("\n", "utf-8")
    with pytest.raises(cluster_database.PreparationError, match="is empty"):
        cluster_database.staff_password(path)


async def test_only_plain_database_names_are_created() -> None:
    with pytest.raises(cluster_database.PreparationError, match="not a database name"):
        await cluster_database.create_missing(
            "postgresql+asyncpg://postgres@127.0.0.1:9/postgres", ['x"; DROP']
        )
