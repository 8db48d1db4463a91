"""deploy/compose.yaml against the Compose Specification's schema (vendored in
tests/deploy/schemas/), and what the schema cannot say: two of each process, health
checks and start order, secrets from env files only, each process's environment,
and nginx's routes."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from deploy.make_secrets import fresh_values, secret_files
from handoff.settings import Settings
from tests.deploy import dockerfiles, nginx_config
from tests.deploy.processes import (
    DEPLOY,
    PROCESSES,
    environment_problems,
    probe_targets,
)

SCHEMA_PATH = dockerfiles.ROOT / "tests" / "deploy" / "schemas" / "compose-spec.json"
COMPOSE_PATH = DEPLOY / "compose.yaml"
NGINX_PATH = DEPLOY / "nginx" / "tandem.conf"
# Compose service → the process it runs.
SERVICE_PROCESSES = {
    "handoff-1": "handoff",
    "handoff-2": "handoff",
    "migrate": "migrate",
    "actions-1": "actions",
    "actions-2": "actions",
    "rasa-1": "rasa",
    "rasa-2": "rasa",
}
Compose = dict[str, Any]


@pytest.fixture
def compose() -> Compose:
    loaded: Compose = yaml.safe_load(COMPOSE_PATH.read_text("utf-8"))
    return loaded


def schema_errors(document: Compose) -> list[str]:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_compose_file_follows_the_compose_specification(compose: Compose) -> None:
    assert schema_errors(compose) == []


def test_a_misspelt_key_breaks_the_schema(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["rasa-1"]["healthchek"] = broken["services"]["rasa-1"].pop(
        "healthcheck"
    )

    assert any("healthchek" in error for error in schema_errors(broken))


def test_a_wrongly_typed_value_breaks_the_schema(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["handoff-1"]["depends_on"]["migrate"]["condition"] = "done"

    assert schema_errors(broken) != []


def env_file_variables(service: dict[str, Any]) -> dict[str, str]:
    """The variables the service's env files hold, as deploy/make_secrets.py
    writes them."""
    files = secret_files(fresh_values())
    values: dict[str, str] = {}
    for entry in service.get("env_file", []):
        path = entry["path"] if isinstance(entry, dict) else entry
        assert path.startswith("secrets/"), path
        values.update(files[path.removeprefix("secrets/")])
    return values


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    return {**env_file_variables(service), **service.get("environment", {})}


def compose_problems(compose: Compose) -> list[str]:
    problems = []
    services = compose["services"]
    counts: dict[str, int] = {}
    for name, process_name in SERVICE_PROCESSES.items():
        if name not in services:
            problems.append(f"no service {name}")
            continue
        counts[process_name] = counts.get(process_name, 0) + 1
        service = services[name]
        process = PROCESSES[process_name]
        problems.extend(
            f"{name}: {problem}"
            for problem in environment_problems(process, service_environment(service))
        )
        image = service["image"].split(":")[0]
        dockerfile = service.get("build", {}).get("dockerfile", "")
        if image != f"tandem-{process.dockerfile.removesuffix('.Dockerfile')}" or (
            dockerfile != f"deploy/docker/{process.dockerfile}"
        ):
            problems.append(f"{name}: image {image} is not built from its Dockerfile")
        if process_name != "migrate" and "healthcheck" not in service:
            problems.append(f"{name}: no health check")
        if not service.get("read_only"):
            problems.append(f"{name}: the root filesystem is writable")
        secrets = set(env_file_variables(service))
        inline = secrets & set(service.get("environment", {}))
        if inline:
            problems.append(f"{name}: secrets written in compose.yaml: {inline}")
    for process_name in ("handoff", "actions", "rasa"):
        if counts.get(process_name, 0) < 2:
            problems.append(f"fewer than two {process_name} instances")
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if not isinstance(condition, dict) or "condition" not in condition:
                problems.append(f"{name}: depends on {dependency} without a condition")
                continue
            wanted = (
                "service_completed_successfully"
                if dependency == "migrate"
                else "service_healthy"
            )
            if condition["condition"] != wanted:
                problems.append(f"{name}: waits for {dependency} to be {wanted}")
            if wanted == "service_healthy" and "healthcheck" not in services.get(
                dependency, {}
            ):
                problems.append(f"{name}: {dependency} never becomes healthy")
    for name in ("handoff-1", "handoff-2"):
        if "migrate" not in services.get(name, {}).get("depends_on", {}):
            problems.append(f"{name} may start before the migrations ran")
    return problems


PORTS = {"handoff": 8080, "actions": 5055, "rasa": 5005}


def health_check_problems(compose: Compose) -> list[str]:
    """Each service's health check asks a health endpoint of its own process."""
    targets = probe_targets()
    problems = []
    for name, process in SERVICE_PROCESSES.items():
        if process == "migrate" or name not in compose["services"]:
            continue
        check = compose["services"][name].get("healthcheck", {}).get("test", [])
        url = urlsplit(check[-1]) if check else None
        if url is None or url.port != PORTS[process]:
            problems.append(f"{name}: the health check asks another port")
        elif url.path not in targets[process]:
            problems.append(
                f"{name}: the health check asks {url.path}, which is no health "
                f"endpoint of the {process} process"
            )
    return problems


def test_the_health_checks_ask_health_endpoints(compose: Compose) -> None:
    assert health_check_problems(compose) == []


def test_a_health_check_of_a_missing_endpoint_is_found(compose: Compose) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["actions-2"]["healthcheck"]["test"][-1] = (
        "http://127.0.0.1:5055/webhook"
    )

    assert (
        "actions-2: the health check asks /webhook, which is no health endpoint "
        "of the actions process"
    ) in health_check_problems(broken)


def test_the_stack_is_complete_and_consistent(compose: Compose) -> None:
    assert compose_problems(compose) == []


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (
            lambda c: c["services"]["rasa-1"].pop("healthcheck"),
            "rasa-1: no health check",
        ),
        (lambda c: c["services"].pop("actions-2"), "fewer than two actions"),
        (
            lambda c: c["services"]["handoff-2"]["environment"].pop("TANDEM_RASA_URL"),
            "handoff-2: handoff: TANDEM_RASA_URL is not set",
        ),
        (
            lambda c: c["services"]["rasa-2"]["environment"].update(
                TANDEM_HANDOF_URL="http://handoff:8080"
            ),
            "TANDEM_HANDOF_URL is given but never read",
        ),
        (
            lambda c: c["services"]["actions-1"]["environment"].update(
                TANDEM_SERVICE_SECRET="inline"
            ),
            "secrets written in compose.yaml",
        ),
        (
            lambda c: c["services"]["handoff-1"]["depends_on"].pop("migrate"),
            "handoff-1 may start before the migrations ran",
        ),
        (
            lambda c: c["services"]["rasa-1"]["depends_on"]["redis"].update(
                condition="service_started"
            ),
            "rasa-1: waits for redis to be service_healthy",
        ),
        (
            lambda c: c["services"]["rasa-2"].update(image="tandem-bot:0.1.0"),
            "rasa-2: image tandem-bot is not built from its Dockerfile",
        ),
    ],
)
def test_our_checks_catch(compose: Compose, breakage: Any, problem: str) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)

    problems = compose_problems(broken)

    assert any(problem in found for found in problems), problems


def test_the_service_accepts_its_compose_configuration(compose: Compose) -> None:
    service = compose["services"]["handoff-1"]
    environment = {
        **dockerfiles.environment(
            dockerfiles.final_stage(
                (dockerfiles.DOCKER_DIR / "handoff.Dockerfile").read_text("utf-8")
            )
        ),
        **service_environment(service),
    }
    # What compose substitutes when TANDEM_PUBLIC_URL is not set.
    environment["TANDEM_RASA_SOCKET_URL"] = "http://localhost:8080"

    settings = Settings.from_env(environment)

    assert settings.database_url.startswith("postgresql+asyncpg://tandem:")
    assert settings.host == "0.0.0.0"
    assert settings.rasa_url == "http://rasa:5005"
    nginx_address = compose["services"]["nginx"]["networks"]["backend"]["ipv4_address"]
    assert [str(network.network_address) for network in settings.trusted_proxies] == [
        nginx_address
    ]


def test_nginx_routes_every_entry_point() -> None:
    config = nginx_config.parse(NGINX_PATH.read_text("utf-8"))

    assert nginx_config.routing_problems(config) == []


def test_nginx_upstreams_are_the_compose_services(compose: Compose) -> None:
    config = nginx_config.parse(NGINX_PATH.read_text("utf-8"))

    assert nginx_config.upstream_servers(config) == {
        "tandem_rasa": ["rasa-1:5005", "rasa-2:5005"],
        "tandem_handoff": ["handoff-1:8080", "handoff-2:8080"],
    }
    assert set(compose["services"]["nginx"]["depends_on"]) == {
        "rasa-1",
        "rasa-2",
        "handoff-1",
        "handoff-2",
    }


def test_nginx_keeps_internal_paths_inside() -> None:
    routes = nginx_config.locations(nginx_config.parse(NGINX_PATH.read_text("utf-8")))

    for path in ("/api/rasa/", "/metrics", "/health/"):
        assert routes[path].values("return") == [["404"]], path


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("    ip_hash;\n", ""), "no sticky sessions"),
        (
            (
                "        proxy_set_header Upgrade $http_upgrade;\n"
                "        proxy_set_header Connection $connection_upgrade;\n"
                "        proxy_set_header Host $http_host;\n"
                "        proxy_set_header X-Forwarded-For $remote_addr;\n"
                "        proxy_set_header X-Forwarded-Proto $scheme;\n"
                "        # A quiet chat",
                "        proxy_set_header X-Forwarded-For $remote_addr;\n"
                "        # A quiet chat",
            ),
            "/socket.io/ does not pass the WebSocket upgrade on",
        ),
        (
            (
                "location = /api/ws {\n        proxy_pass http://tandem_handoff;\n"
                "        proxy_http_version 1.1;\n"
                "        proxy_set_header Upgrade $http_upgrade;\n"
                "        proxy_set_header Connection $connection_upgrade;\n"
                "        proxy_set_header Host $http_host;",
                "location = /api/ws {\n        proxy_pass http://tandem_handoff;\n"
                "        proxy_http_version 1.1;\n"
                "        proxy_set_header Upgrade $http_upgrade;\n"
                "        proxy_set_header Connection $connection_upgrade;\n"
                "        proxy_set_header Host $host;",
            ),
            "/api/ws does not pass the Host the browser used",
        ),
        (
            (
                "location /webhooks/ {\n        proxy_pass http://tandem_rasa;",
                "location /webhooks/ {\n        proxy_pass http://tandem_handoff;",
            ),
            "/webhooks/ does not go to tandem_rasa",
        ),
    ],
)
def test_nginx_checks_catch(change: tuple[str, str], problem: str) -> None:
    text = NGINX_PATH.read_text("utf-8")
    broken = text.replace(*change)
    assert broken != text

    problems = nginx_config.routing_problems(nginx_config.parse(broken))

    assert any(problem in found for found in problems), problems
