"""deploy/k8s/ against the Kubernetes JSON schemas of one release, strict (the
schemas kubernetes-validate ships; nothing is downloaded), and what the schemas
cannot say: probes on endpoints that exist, non-root and read-only containers,
resources, a Service, PodDisruptionBudget and autoscaler per Deployment, the
Ingress's affinity, the secrets template and each container's environment."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.make_secrets import fresh_values, secret_files
from handoff.settings import Settings
from tests.deploy import kubernetes_checks as checks
from tests.deploy.processes import (
    DEPLOY,
    PROCESSES,
    environment_problems,
    load_yaml_documents,
    probe_targets,
)

K8S = DEPLOY / "k8s"
TEMPLATE = K8S / "secrets.template.yaml"
Docs = list[dict[str, Any]]


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return loaded


def manifest_files() -> list[Path]:
    return [K8S / name for name in kustomization()["resources"]]


@pytest.fixture(scope="module")
def docs() -> Docs:
    return [doc for path in manifest_files() for doc in load_yaml_documents(path)]


@pytest.fixture(scope="module")
def secret_templates() -> dict[str, dict[str, Any]]:
    return checks.by_name(load_yaml_documents(TEMPLATE), "Secret")


@pytest.fixture(scope="module")
def allowed_paths() -> dict[str, set[str]]:
    return probe_targets()


def schema_problem(doc: dict[str, Any]) -> str | None:
    try:
        kubernetes_validate.validate(doc, checks.K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{doc['kind']}/{doc['metadata']['name']}: {error.message}"
    return None


def test_every_manifest_follows_the_kubernetes_schemas(docs: Docs) -> None:
    problems = [schema_problem(doc) for doc in docs]

    assert [problem for problem in problems if problem] == []


def test_the_secrets_template_follows_the_schemas() -> None:
    for doc in load_yaml_documents(TEMPLATE):
        assert schema_problem(doc) is None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        # A misspelt field: strict schemas allow no unknown property.
        (("spec", "replica"), 2),
        # A wrong type.
        (("spec", "replicas"), "two"),
        (
            ("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"),
            "x",
        ),
    ],
)
def test_a_schema_invalid_field_is_refused(
    docs: Docs, path: tuple[Any, ...], value: Any
) -> None:
    deployment = copy.deepcopy(checks.by_name(docs, "Deployment")["tandem-rasa"])
    target = deployment
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert schema_problem(deployment) is not None


def test_the_kustomization_lists_every_manifest_but_the_secrets_template() -> None:
    listed = {path.name for path in manifest_files()}
    present = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}

    assert listed == present - {TEMPLATE.name}
    assert all(path.is_file() for path in manifest_files())


def test_the_images_are_the_ones_the_compose_stack_builds(docs: Docs) -> None:
    tags = {image["name"]: image["newTag"] for image in kustomization()["images"]}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    compose_images = {
        service["image"].split(":")[0]
        for service in compose["services"].values()
        if service["image"].startswith("tandem-")
    }

    for workload in [*checks.of_kind(docs, "Deployment"), *checks.of_kind(docs, "Job")]:
        for container in checks.containers(workload):
            name, _, tag = container["image"].partition(":")
            assert name in compose_images, name
            assert tag == tags[name], container["image"]
    assert set(tags) == compose_images


def deployment_problems(docs: Docs, allowed_paths: dict[str, set[str]]) -> list[str]:
    problems = []
    for name, deployment in checks.by_name(docs, "Deployment").items():
        problems.extend(checks.security_problems(name, deployment))
        problems.extend(checks.probe_problems(name, deployment, allowed_paths))
        problems.extend(checks.rollout_problems(name, deployment))
    for name, job in checks.by_name(docs, "Job").items():
        problems.extend(checks.security_problems(name, job))
    problems.extend(checks.companion_problems(docs))
    problems.extend(checks.ingress_problems(docs))
    return problems


def test_the_workloads_are_safe_probed_and_complete(
    docs: Docs, allowed_paths: dict[str, set[str]]
) -> None:
    assert deployment_problems(docs, allowed_paths) == []


def container_of(docs: Docs, name: str) -> dict[str, Any]:
    container: dict[str, Any] = checks.pod_spec(
        checks.by_name(docs, "Deployment")[name]
    )["containers"][0]
    return container


def pod_of(docs: Docs, name: str) -> dict[str, Any]:
    return checks.pod_spec(checks.by_name(docs, "Deployment")[name])


BREAKAGES = [
    (
        lambda d: container_of(d, "tandem-rasa").pop("readinessProbe"),
        "no readinessProbe",
    ),
    (
        lambda d: container_of(d, "tandem-actions").pop("livenessProbe"),
        "no livenessProbe",
    ),
    (
        lambda d: container_of(d, "tandem-handoff")["readinessProbe"]["httpGet"].update(
            path="/healthz"
        ),
        "asks /healthz, which is no health endpoint of the handoff process",
    ),
    (
        lambda d: container_of(d, "tandem-actions")["livenessProbe"]["httpGet"].update(
            path="/webhook"
        ),
        "asks /webhook",
    ),
    (
        lambda d: pod_of(d, "tandem-rasa")["securityContext"].update(runAsUser=0),
        "runs as user 0 (root)",
    ),
    (
        lambda d: pod_of(d, "tandem-handoff")["securityContext"].update(
            runAsNonRoot=False
        ),
        "does not require runAsNonRoot",
    ),
    (
        lambda d: container_of(d, "tandem-rasa")["securityContext"].update(
            readOnlyRootFilesystem=False
        ),
        "root filesystem is writable",
    ),
    (
        lambda d: container_of(d, "tandem-handoff")["resources"].pop("limits"),
        "no memory limits",
    ),
    (
        lambda d: d.remove(checks.by_name(d, "PodDisruptionBudget")["tandem-rasa"]),
        "tandem-rasa: no PodDisruptionBudget",
    ),
    (
        lambda d: d.remove(
            checks.by_name(d, "HorizontalPodAutoscaler")["tandem-actions"]
        ),
        "tandem-actions: no HorizontalPodAutoscaler",
    ),
    (
        lambda d: checks.by_name(d, "Ingress")["tandem-chat"]["metadata"][
            "annotations"
        ].pop("nginx.ingress.kubernetes.io/affinity"),
        "no cookie affinity",
    ),
    (
        lambda d: checks.by_name(d, "Deployment")["tandem-handoff"]["spec"]["strategy"][
            "rollingUpdate"
        ].update(maxUnavailable=1),
        "may take a ready pod away first",
    ),
]


@pytest.mark.parametrize(("breakage", "problem"), BREAKAGES)
def test_our_checks_catch(
    docs: Docs,
    allowed_paths: dict[str, set[str]],
    breakage: Any,
    problem: str,
) -> None:
    broken = copy.deepcopy(docs)
    breakage(broken)

    problems = deployment_problems(broken, allowed_paths)

    assert any(problem in found for found in problems), problems


def test_the_secrets_template_holds_no_real_value(
    secret_templates: dict[str, dict[str, Any]],
) -> None:
    for secret in secret_templates.values():
        assert "data" not in secret
        for key, value in secret["stringData"].items():
            assert "replace-with-" in value, key


def test_the_secrets_template_has_what_make_secrets_writes(
    secret_templates: dict[str, dict[str, Any]],
) -> None:
    files = secret_files(fresh_values())

    for name, secret in secret_templates.items():
        assert set(secret["stringData"]) == set(
            files[name.removeprefix("tandem-") + ".env"]
        ), name


def container_environments(
    docs: Docs, secret_templates: dict[str, dict[str, Any]]
) -> list[tuple[str, str, dict[str, str]]]:
    """(workload, process, environment) of every container of every workload."""
    config_maps = checks.by_name(docs, "ConfigMap")
    found = []
    for kind in ("Deployment", "Job"):
        for name, workload in checks.by_name(docs, kind).items():
            for container in checks.containers(workload):
                process = checks.WORKLOAD_PROCESSES[name]
                if container["name"] == "wait-for-schema":
                    process = "migrate"
                environment = checks.container_environment(
                    container, config_maps, secret_templates
                )
                found.append((f"{name}/{container['name']}", process, environment))
    return found


def test_each_container_gets_what_its_process_reads(
    docs: Docs, secret_templates: dict[str, dict[str, Any]]
) -> None:
    problems = [
        f"{label}: {problem}"
        for label, process, environment in container_environments(
            docs, secret_templates
        )
        for problem in environment_problems(PROCESSES[process], environment)
    ]

    assert problems == []


def test_a_missing_setting_is_found(
    docs: Docs, secret_templates: dict[str, dict[str, Any]]
) -> None:
    broken = copy.deepcopy(docs)
    del checks.by_name(broken, "ConfigMap")["tandem-rasa"]["data"]["TANDEM_REDIS_HOST"]

    problems = [
        problem
        for _, process, environment in container_environments(broken, secret_templates)
        for problem in environment_problems(PROCESSES[process], environment)
    ]

    assert problems == ["rasa: TANDEM_REDIS_HOST is not set"]


def test_the_service_accepts_its_kubernetes_configuration(
    docs: Docs, secret_templates: dict[str, dict[str, Any]]
) -> None:
    environment = next(
        environment
        for label, _, environment in container_environments(docs, secret_templates)
        if label == "tandem-handoff/handoff"
    )

    settings = Settings.from_env({**environment, "TANDEM_HANDOFF_HOST": "0.0.0.0"})

    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.rasa_url == "http://tandem-rasa:5005"
    assert settings.trusted_proxies


def test_the_migration_job_runs_what_the_compose_stack_runs(docs: Docs) -> None:
    job = checks.by_name(docs, "Job")["tandem-migrate"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))

    assert (
        checks.pod_spec(job)["containers"][0]["command"]
        == compose["services"]["migrate"]["command"]
    )
