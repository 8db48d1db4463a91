"""The Dockerfiles, checked without Docker: hadolint, and our own rules (a numeric
non-root user, a health check, pinned bases, no secret, and every module the process
imports inside its image)."""

from __future__ import annotations

import ast
import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import dockerfiles
from tests.deploy.processes import PROCESSES, ROOT, probe_targets, python_files

DOCKERFILES = sorted(dockerfiles.DOCKER_DIR.glob("*.Dockerfile"))
HADOLINT = Path(sys.executable).with_name("hadolint")
# Top-level imports of the actions that are not their own modules, and the
# requirement in actions/requirements.txt that installs each.
ACTIONS_IMPORTS = {
    "rasa_sdk": "rasa-sdk",
    "sanic": "rasa-sdk",
    "sqlalchemy": "SQLAlchemy",
    "yaml": "PyYAML",
    "aiohttp": "aiohttp",
    "spacy": "spacy",
    "presidio_analyzer": "presidio-analyzer",
    "prometheus_client": "prometheus-client",
}
FIRST_PARTY = ("actions", "bot", "handoff")


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("hadolint") or str(HADOLINT)
    return subprocess.run(
        [executable, "--no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_there_is_a_dockerfile_per_process() -> None:
    assert {path.name for path in DOCKERFILES} == {
        "rasa.Dockerfile",
        "actions.Dockerfile",
        "handoff.Dockerfile",
    }


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_finds_nothing(path: Path) -> None:
    result = hadolint(path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_image_and_install(tmp_path: Path) -> None:
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\nCMD python\n")

    result = hadolint(bad)

    assert result.returncode != 0
    assert "DL3006" in result.stdout
    assert "DL3013" in result.stdout


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda path: path.name)
def test_our_rules_hold(path: Path) -> None:
    assert dockerfiles.dockerfile_problems(path.read_text("utf-8")) == []


@pytest.mark.parametrize(
    ("name", "port"), [("handoff", 8080), ("actions", 5055), ("rasa", 5005)]
)
def test_the_health_check_asks_a_health_endpoint(name: str, port: int) -> None:
    text = (dockerfiles.DOCKER_DIR / PROCESSES[name].dockerfile).read_text("utf-8")
    healthcheck = dockerfiles.last(dockerfiles.final_stage(text), "HEALTHCHECK")
    assert healthcheck is not None
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[^\"\s]*)", healthcheck.arguments)
    assert url is not None

    assert int(url.group(1)) == port
    assert url.group(2) in probe_targets()[name]


GOOD = """\
FROM python:3.11.11-slim-bookworm AS build
RUN echo build
FROM python:3.11.11-slim-bookworm
USER 10001:10001
HEALTHCHECK CMD ["python", "/app/probe.py", "http://127.0.0.1:8080/"]
CMD ["python", "-m", "handoff"]
"""


def test_a_good_dockerfile_passes_our_rules() -> None:
    assert dockerfiles.dockerfile_problems(GOOD) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("USER 10001:10001\n", ""), "sets no USER"),
        (("USER 10001:10001", "USER 0"), "USER 0 is root"),
        (("USER 10001:10001", "USER tandem"), "not numeric"),
        (
            (
                'HEALTHCHECK CMD ["python", "/app/probe.py", "http://127.0.0.1:8080/"]\n',
                "",
            ),
            "no HEALTHCHECK",
        ),
        (("FROM python:3.11.11-slim-bookworm\n", "FROM python:latest\n"), "pinned tag"),
        (("AS build\n", "AS build\nENV TANDEM_RASA_TOKEN=abc\n"), "bakes in a secret"),
    ],
)
def test_our_rules_catch(change: tuple[str, str], problem: str) -> None:
    broken = GOOD.replace(*change)
    assert broken != GOOD

    problems = dockerfiles.dockerfile_problems(broken)

    assert any(problem in found for found in problems), problems


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def first_party_imports(path: Path) -> set[str]:
    """Modules of actions/, bot/ and handoff/ that ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in FIRST_PARTY}


def module_file(name: str) -> str | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return None


def import_closure(sources: tuple[str, ...]) -> set[str]:
    """Repository .py files the process's code imports, followed to the end."""
    pending = [str(path.relative_to(ROOT)) for path in python_files(sources)]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in first_party_imports(ROOT / current):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:depth]))
                if found is not None:
                    pending.append(found)
    return seen


@pytest.mark.parametrize("name", ["handoff", "actions", "rasa"])
@pytest.mark.parametrize("model_source", ["train", "mount"])
def test_every_module_the_process_imports_is_in_its_image(
    name: str, model_source: str
) -> None:
    process = PROCESSES[name]
    text = (dockerfiles.DOCKER_DIR / process.dockerfile).read_text("utf-8")

    in_image = set(
        dockerfiles.image_files(
            text, tracked_files(), {"MODEL_SOURCE": model_source}
        ).values()
    )

    missing = {path for path in import_closure(process.sources) if "tests" not in path}
    assert missing - in_image == set()


def test_the_closure_follows_imports_across_packages() -> None:
    closure = import_closure(("actions",))

    assert "bot/personal_data.py" in closure
    assert "bot/bearer_auth.py" in closure
    assert "bot/event_broker.py" not in closure


def test_the_action_server_installs_what_the_actions_import() -> None:
    requirements = {
        re.split(r"[=<>\[]", line.strip())[0].lower()
        for line in (ROOT / "actions" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    imported = set()
    for relative in import_closure(PROCESSES["actions"].sources):
        tree = ast.parse((ROOT / relative).read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {
        name
        for name in imported - set(FIRST_PARTY)
        if name not in sys.stdlib_module_names and name != "__future__"
    }

    assert third_party <= set(ACTIONS_IMPORTS), third_party - set(ACTIONS_IMPORTS)
    assert {ACTIONS_IMPORTS[name].lower() for name in third_party} <= requirements


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(.dockerignore's lines as (re-included, pattern)), in order."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        translated = fnmatch.translate(pattern.replace("**/", "\0"))
        translated = translated.replace("\0", "(?:.*/)?").replace(".*", "[^/]*")
        translated = translated.replace("(?:[^/]*/)?", "(?:.*/)?")
        rules.append((include, re.compile(translated)))
    return rules


def in_build_context(path: str) -> bool:
    """Whether Docker sends ``path`` with the build context: the last rule that
    matches it or one of its folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    included = True
    for include, pattern in dockerignore_rules():
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            included = include
    return included


def test_the_build_context_keeps_secrets_and_local_state_out() -> None:
    for path in (
        ".env",
        "deploy/secrets/rasa.env",
        "models/tandem.tar.gz",
        "var/handoff.db",
        ".venv/bot/bin/python",
        ".git/config",
        "tests/bot/conftest.py",
        "handoff/__pycache__/app.cpython-311.pyc",
    ):
        assert not in_build_context(path), path
    assert in_build_context("handoff/app.py")
    assert in_build_context("bot/emotion/data/public/kote/val.tsv")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda path: path.name)
def test_everything_the_dockerfile_copies_is_in_the_build_context(path: Path) -> None:
    tracked = tracked_files()
    for source in dockerfiles.copy_sources(path.read_text("utf-8")):
        prefix = source.rstrip("/")
        files = [
            name for name in tracked if name == prefix or name.startswith(prefix + "/")
        ]
        assert files, f"{source} is not in the repository"
        left_out = [name for name in files if not in_build_context(name)]
        assert left_out == [], f"{source}: .dockerignore leaves out {left_out[:3]}"


def test_a_module_left_out_of_the_image_is_found() -> None:
    text = (dockerfiles.DOCKER_DIR / "actions.Dockerfile").read_text("utf-8")
    broken = text.replace("COPY bot/ bot/\n", "")
    assert broken != text

    in_image = set(dockerfiles.image_files(broken, tracked_files()).values())

    missing = import_closure(PROCESSES["actions"].sources) - in_image
    assert {"bot/personal_data.py", "bot/bearer_auth.py"} <= missing
