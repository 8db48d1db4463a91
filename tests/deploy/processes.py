"""What each of Tandem's processes reads and answers, taken from its code, and what
the deployment files give it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from handoff.app import create_app
from handoff.settings import Settings
from tests.deploy import dockerfiles

ROOT = dockerfiles.ROOT
DEPLOY = ROOT / "deploy"
VARIABLE_LITERAL = re.compile(r"[\"'](TANDEM_[A-Z0-9_]+)[\"']")
VARIABLE_REFERENCE = re.compile(r"\$\{(TANDEM_[A-Z0-9_]+)\}")
# What the images set for Python and the libraries, not read by Tandem's code.
RUNTIME_VARIABLES = frozenset(
    {
        "PATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PIP_NO_CACHE_DIR",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "TF_CPP_MIN_LOG_LEVEL",
        "RASA_TELEMETRY_ENABLED",
        "HOME",
        "MPLCONFIGDIR",
    }
)


@dataclass(frozen=True)
class Process:
    name: str
    dockerfile: str
    # Where the code that runs in the process lives, and the Rasa files whose
    # ${…} must all be set.
    sources: tuple[str, ...]
    rasa_files: tuple[str, ...] = ()
    # Read with a default that is wrong in a cluster (loopback, SQLite), or
    # required with none.
    cluster_required: frozenset[str] = frozenset()


PROCESSES = {
    "handoff": Process(
        name="handoff",
        dockerfile="handoff.Dockerfile",
        sources=("handoff",),
        cluster_required=frozenset(
            {
                "TANDEM_SERVICE_SECRET",
                "TANDEM_CHAT_SESSION_SECRET",
                "TANDEM_DATABASE_URL",
                "TANDEM_HANDOFF_HOST",
                "TANDEM_RASA_URL",
                "TANDEM_RASA_TOKEN",
                "TANDEM_RASA_SOCKET_URL",
                "TANDEM_TRUSTED_PROXIES",
            }
        ),
    ),
    "migrate": Process(
        name="migrate",
        dockerfile="handoff.Dockerfile",
        sources=("handoff",),
        cluster_required=frozenset({"TANDEM_DATABASE_URL"}),
    ),
    "actions": Process(
        name="actions",
        dockerfile="actions.Dockerfile",
        sources=(
            "actions",
            "bot/bearer_auth.py",
            "bot/personal_data.py",
            "bot/observability/logs.py",
            "bot/observability/scrape_access.py",
        ),
        cluster_required=frozenset(
            {
                "TANDEM_ACTIONS_TOKEN",
                "TANDEM_ACTIONS_HOST",
                "TANDEM_HANDOFF_URL",
                "TANDEM_SERVICE_SECRET",
                "TANDEM_DEMO_BACKEND_DB",
                "TANDEM_VAR_DIR",
            }
        ),
    ),
    "rasa": Process(
        name="rasa",
        dockerfile="rasa.Dockerfile",
        sources=("bot",),
        rasa_files=("deploy/endpoints.cluster.yml", "credentials.yml"),
        cluster_required=frozenset(
            {
                "TANDEM_RASA_TOKEN",
                "TANDEM_CHAT_SESSION_SECRET",
                "TANDEM_VAR_DIR",
                "TANDEM_SOCKETIO_REDIS_URL",
                "TANDEM_CHANNEL_REDIS_URL",
            }
        ),
    ),
}


def python_files(sources: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        path = ROOT / source
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def variables_read(process: Process) -> set[str]:
    """Every TANDEM_ variable the process's code or Rasa files name."""
    names: set[str] = set()
    for path in python_files(process.sources):
        names.update(VARIABLE_LITERAL.findall(path.read_text("utf-8")))
    for rasa_file in process.rasa_files:
        names.update(VARIABLE_REFERENCE.findall((ROOT / rasa_file).read_text("utf-8")))
    return names


def variables_required(process: Process) -> set[str]:
    """What must be set for the process to start and find the others."""
    required = set(process.cluster_required)
    for rasa_file in process.rasa_files:
        # Rasa refuses to start on a ${…} that is not set.
        required.update(
            VARIABLE_REFERENCE.findall((ROOT / rasa_file).read_text("utf-8"))
        )
    return required


def image_environment(process: Process) -> dict[str, str]:
    text = (dockerfiles.DOCKER_DIR / process.dockerfile).read_text("utf-8")
    return dockerfiles.environment(dockerfiles.final_stage(text))


def environment_problems(process: Process, given: Mapping[str, str]) -> list[str]:
    """Required variables missing, and variables given that the code never reads
    (a misspelt name, or a secret the process has no business holding)."""
    provided = {**image_environment(process), **given}
    problems = [
        f"{process.name}: {name} is not set"
        for name in sorted(variables_required(process) - set(provided))
    ]
    read = variables_read(process)
    for name in sorted(provided):
        if name in RUNTIME_VARIABLES:
            continue
        if name not in read:
            problems.append(f"{process.name}: {name} is given but never read")
    return problems


def handoff_routes() -> set[str]:
    """The paths the handoff service answers, from its real route table."""
    app = create_app(Settings(service_secret="s", chat_session_secret="c"))
    paths = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path:
            paths.add(str(path))
    return paths


def string_constants(node: ast.AST) -> set[str]:
    return {
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    }


def action_server_open_paths() -> set[str]:
    """The paths the action server answers without its token: every OPEN_PATHS of
    actions/ (the token middleware in actions/server.py lets them through)."""
    paths = set()
    for path in python_files(["actions"]):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "OPEN_PATHS"
                for target in node.targets
            ):
                paths.update(string_constants(node.value))
    return paths


def rasa_routes_added_by_the_bot() -> set[str]:
    """Routes bot/ adds to Rasa's Sanic app (``@app.get("/…")``), which answer
    without Rasa's token."""
    paths = set()
    for path in python_files(["bot"]):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "get"
                    and decorator.args
                ):
                    paths.update(string_constants(decorator.args[0]))
    return paths


def health_paths(paths: Iterable[str]) -> set[str]:
    return {path for path in paths if path.startswith("/health")}


def probe_targets() -> dict[str, set[str]]:
    """Per process, the health endpoints its code serves without a secret: what a
    probe or a container health check may ask."""
    return {
        "handoff": health_paths(handoff_routes()),
        "actions": health_paths(action_server_open_paths()),
        "rasa": health_paths(rasa_routes_added_by_the_bot()),
    }


def read_env_file(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]
