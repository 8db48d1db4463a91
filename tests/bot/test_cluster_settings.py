"""A configuration that would serve stale conversations, or lock them per process
only, is refused before Rasa starts (bot/cluster_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.utils import AvailableEndpoints

from bot.cluster_settings import (
    ClusterSettingsError,
    check_cache,
    check_endpoints,
    writers,
)
from bot.server import main
from bot.tracker_store import TandemSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_VARIABLES = {
    "TANDEM_ACTIONS_URL": "http://127.0.0.1:9/webhook",
    "TANDEM_ACTIONS_TOKEN": "token",
    "TANDEM_TRACKER_DB_URL": "postgresql://postgres@127.0.0.1:5432/unused",
    "TANDEM_REDIS_URL": "redis://127.0.0.1:6379/0",
    "TANDEM_CLUSTER_NAME": "tandem",
    "TANDEM_HANDOFF_URL": "http://127.0.0.1:9",
    "TANDEM_SERVICE_SECRET": "secret",
    "TANDEM_TRACKER_DB": "var/unused.db",
}


def endpoints_file(tmp_path: Path, *, cached: int, lock_store: str | None) -> Path:
    lines = [
        "tracker_store:",
        "  type: bot.tracker_store.TandemSQLTrackerStore",
        "  dialect: sqlite",
        f"  db: {tmp_path / 'tracker.db'}",
        f"  cached_conversations: {cached}",
    ]
    if lock_store is not None:
        lines += ["lock_store:", f"  type: {lock_store}"]
    path = tmp_path / "endpoints.yml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def read(path: Path, monkeypatch: pytest.MonkeyPatch) -> AvailableEndpoints:
    for name, value in CLUSTER_VARIABLES.items():
        monkeypatch.setenv(name, value)
    return AvailableEndpoints.read_endpoints(str(path))


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, 1),
        ({"TANDEM_RASA_INSTANCES": "3"}, 3),
        ({"SANIC_WORKERS": "2"}, 2),
        ({"TANDEM_RASA_INSTANCES": "2", "SANIC_WORKERS": "2"}, 4),
        ({"TANDEM_RASA_INSTANCES": " "}, 1),
    ],
)
def test_writers_are_counted_from_the_settings(
    environ: dict[str, str], expected: int
) -> None:
    assert writers(environ) == expected


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_wrong_number_of_instances_is_refused(value: str) -> None:
    with pytest.raises(ClusterSettingsError, match="TANDEM_RASA_INSTANCES must be"):
        writers({"TANDEM_RASA_INSTANCES": value})


@pytest.mark.parametrize(
    "environ", [{"TANDEM_RASA_INSTANCES": "2"}, {"SANIC_WORKERS": "4"}]
)
def test_the_cache_is_refused_with_several_writers(environ: dict[str, str]) -> None:
    with pytest.raises(ClusterSettingsError, match="cached_conversations: 0"):
        check_cache(500, environ)
    check_cache(0, environ)


def test_the_tracker_store_refuses_its_cache_with_several_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_RASA_INSTANCES", "2")

    with pytest.raises(ClusterSettingsError, match="more than one Rasa process"):
        TandemSQLTrackerStore(db=str(tmp_path / "t.db"), cached_conversations=500)
    store = TandemSQLTrackerStore(db=str(tmp_path / "t.db"), cached_conversations=0)
    assert store.cache is None


def test_one_server_with_the_embedded_endpoints_may_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoints = read(ROOT / "endpoints.yml", monkeypatch)

    assert endpoints.tracker_store.kwargs["cached_conversations"] > 0
    check_endpoints(endpoints, {})
    with pytest.raises(ClusterSettingsError, match="cached_conversations: 0"):
        check_endpoints(endpoints, {"TANDEM_RASA_INSTANCES": "2"})


def test_the_cluster_endpoints_pass_with_several_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoints = read(ROOT / "deploy" / "local" / "endpoints.yml", monkeypatch)

    assert endpoints.tracker_store.kwargs["cached_conversations"] == 0
    assert endpoints.lock_store.type == "bot.lock_store.RedisTicketLockStore"
    check_endpoints(endpoints, {"TANDEM_RASA_INSTANCES": "2"})


@pytest.mark.parametrize("lock_store", ["redis", "bot.lock_store.RedisTicketLockStore"])
def test_a_shared_lock_store_rules_the_cache_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock_store: str
) -> None:
    endpoints = read(
        endpoints_file(tmp_path, cached=10, lock_store=lock_store), monkeypatch
    )

    with pytest.raises(ClusterSettingsError, match=f"lock store \\({lock_store}\\)"):
        check_endpoints(endpoints, {})


@pytest.mark.parametrize("lock_store", [None, "in_memory"])
def test_several_servers_need_a_shared_lock_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock_store: str | None
) -> None:
    endpoints = read(
        endpoints_file(tmp_path, cached=0, lock_store=lock_store), monkeypatch
    )

    check_endpoints(endpoints, {})
    with pytest.raises(ClusterSettingsError, match="lock store is in memory"):
        check_endpoints(endpoints, {"TANDEM_RASA_INSTANCES": "2"})


def test_the_rasa_entry_point_refuses_before_loading_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = endpoints_file(tmp_path, cached=500, lock_store="redis")
    monkeypatch.setenv("TANDEM_RASA_TOKEN", "token")

    with pytest.raises(SystemExit, match="cached_conversations is 500"):
        main(["--model", str(tmp_path / "none.tar.gz"), "--endpoints", str(path)])
