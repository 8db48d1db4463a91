"""Reading the Dockerfiles in deploy/docker/ without Docker: their instructions,
stages and environment, and which repository files end up in each final image."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = ROOT / "deploy" / "docker"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """The instructions, continuation lines joined, comments left out."""
    result = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def global_args(text: str) -> dict[str, str]:
    """ARGs declared before the first FROM, with their defaults."""
    values = {}
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            values[name] = default
    return values


def stages(text: str, args: dict[str, str] | None = None) -> list[Stage]:
    """The build stages, FROM's variables replaced by ``args`` or their defaults."""
    values = {**global_args(text), **(args or {})}
    result: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            words = [word for word in words if not word.startswith("--")]
            base = re.sub(
                r"\$\{(\w+)\}", lambda match: values[match.group(1)], words[0]
            )
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=base, name=name))
        elif result:
            result[-1].instructions.append(instruction)
    return result


def final_stage(text: str) -> Stage:
    return stages(text)[-1]


def environment(stage: Stage) -> dict[str, str]:
    """ENV of one stage (not what it inherits)."""
    values: dict[str, str] = {}
    for instruction in stage.instructions:
        if instruction.keyword != "ENV":
            continue
        for pair in shlex.split(instruction.arguments):
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def last(stage: Stage, keyword: str) -> Instruction | None:
    found = [item for item in stage.instructions if item.keyword == keyword]
    return found[-1] if found else None


def copy_sources(text: str) -> list[str]:
    """The build-context paths every COPY without --from reads."""
    sources = []
    for instruction in instructions(text):
        if instruction.keyword != "COPY":
            continue
        words = shlex.split(instruction.arguments)
        if any(word.startswith("--from") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def image_files(
    text: str, tracked: list[str], args: dict[str, str] | None = None
) -> dict[str, str]:
    """The repository files in the final image: image path → repository path.

    Follows COPY from the build context and COPY --from between stages, relative to
    each stage's WORKDIR, as Docker does for files and directories.
    """
    built: dict[str, dict[str, str]] = {}
    workdirs: dict[str, PurePosixPath] = {}
    files: dict[str, str] = {}
    for stage in stages(text, args):
        files = dict(built.get(stage.base, {}))
        workdir = workdirs.get(stage.base, PurePosixPath("/"))
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = workdir / instruction.arguments
            if instruction.keyword != "COPY":
                continue
            words = shlex.split(instruction.arguments)
            source_stage = next(
                (word.split("=", 1)[1] for word in words if word.startswith("--from=")),
                None,
            )
            paths = [word for word in words if not word.startswith("--")]
            *sources, destination = paths
            target = workdir / destination
            for source in sources:
                if source_stage is None:
                    available = {path: path for path in tracked}
                    prefix = source.rstrip("/")
                else:
                    available = built[source_stage]
                    prefix = str(PurePosixPath(source))
                for image_path, repository_path in available.items():
                    if image_path == prefix:
                        name = PurePosixPath(image_path).name
                        placed = target / name if destination.endswith("/") else target
                        files[str(placed)] = repository_path
                    elif image_path.startswith(prefix + "/"):
                        relative = image_path[len(prefix) + 1 :]
                        files[str(target / relative)] = repository_path
        if stage.name:
            built[stage.name] = files
            workdirs[stage.name] = workdir
    return files


def dockerfile_problems(text: str) -> list[str]:
    """What keeps a Dockerfile from being run as the deployment expects."""
    problems = []
    all_stages = stages(text)
    stage_names = {stage.name for stage in all_stages if stage.name}
    for stage in all_stages:
        base = stage.base
        if base in stage_names or base.startswith("model-"):
            continue
        name = base.rsplit("/", 1)[-1]
        _, colon, tag = name.partition(":")
        if "@sha256:" not in name and (not colon or tag in {"", "latest"}):
            problems.append(f"base image {base} has no pinned tag")
    final = all_stages[-1]
    user = last(final, "USER")
    if user is None:
        problems.append("the final stage sets no USER: it would run as root")
    else:
        uid = user.arguments.split(":")[0]
        if not uid.isdigit():
            problems.append(
                f"USER {user.arguments} is not numeric: Kubernetes cannot check "
                "runAsNonRoot against a user name"
            )
        elif int(uid) == 0:
            problems.append("USER 0 is root")
    healthcheck = last(final, "HEALTHCHECK")
    if healthcheck is None or healthcheck.arguments.upper().startswith("NONE"):
        problems.append("the final stage has no HEALTHCHECK")
    if last(final, "CMD") is None and last(final, "ENTRYPOINT") is None:
        problems.append("the final stage has no CMD")
    for stage in all_stages:
        for instruction in stage.instructions:
            if instruction.keyword in {"ENV", "ARG"} and re.search(
                r"(SECRET|TOKEN|PASSWORD)\w*=\S", instruction.arguments
            ):
                problems.append(f"{instruction.keyword} bakes in a secret")
    return problems
