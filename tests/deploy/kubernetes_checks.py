"""Checks of the Kubernetes manifests in deploy/k8s/ beyond their schemas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

K8S_VERSION = "1.32.0"
# Deployment → the process it runs (tests/deploy/processes.py).
WORKLOAD_PROCESSES = {
    "tandem-handoff": "handoff",
    "tandem-actions": "actions",
    "tandem-rasa": "rasa",
    "tandem-migrate": "migrate",
}
DOC = dict[str, Any]


def of_kind(docs: Iterable[DOC], kind: str) -> list[DOC]:
    return [doc for doc in docs if doc.get("kind") == kind]


def by_name(docs: Iterable[DOC], kind: str) -> dict[str, DOC]:
    return {doc["metadata"]["name"]: doc for doc in of_kind(docs, kind)}


def pod_spec(workload: DOC) -> DOC:
    spec: DOC = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: DOC) -> list[DOC]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def security_problems(name: str, workload: DOC) -> list[str]:
    problems = []
    pod = pod_spec(workload).get("securityContext", {})
    if pod.get("runAsNonRoot") is not True:
        problems.append(f"{name}: the pod does not require runAsNonRoot")
    if pod.get("runAsUser", 0) == 0:
        problems.append(f"{name}: the pod runs as user 0 (root)")
    if pod_spec(workload).get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: the pod mounts a service account token it never uses")
    for container in containers(workload):
        context = container.get("securityContext", {})
        label = f"{name}/{container['name']}"
        if context.get("runAsUser") == 0 or context.get("runAsNonRoot") is False:
            problems.append(f"{label}: the container runs as root")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{label}: privilege escalation is allowed")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{label}: the root filesystem is writable")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            problems.append(f"{label}: capabilities are not all dropped")
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(bound, {}):
                    problems.append(f"{label}: no {resource} {bound}")
    return problems


def probe_problems(
    name: str, deployment: DOC, allowed_paths: Mapping[str, set[str]]
) -> list[str]:
    """Readiness and liveness probes present, on a named port of the container,
    at a path the process answers without a secret."""
    problems = []
    process = WORKLOAD_PROCESSES[name]
    for container in pod_spec(deployment)["containers"]:
        ports = {port.get("name") for port in container.get("ports", [])}
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(kind)
            if probe is None:
                if kind != "startupProbe":
                    problems.append(f"{name}: no {kind}")
                continue
            http = probe.get("httpGet")
            if http is None:
                problems.append(f"{name}: {kind} is not an HTTP check")
                continue
            if http.get("port") not in ports:
                problems.append(f"{name}: {kind} names a port the container lacks")
            if http.get("path") not in allowed_paths[process]:
                problems.append(
                    f"{name}: {kind} asks {http.get('path')}, which is no health "
                    f"endpoint of the {process} process"
                )
        if "preStop" not in container.get("lifecycle", {}):
            problems.append(f"{name}: no preStop pause before the pod stops")
    return problems


def rollout_problems(name: str, deployment: DOC) -> list[str]:
    spec = deployment["spec"]
    problems = []
    if spec.get("replicas", 1) < 2:
        problems.append(f"{name}: fewer than two replicas")
    rolling = spec.get("strategy", {}).get("rollingUpdate", {})
    if spec.get("strategy", {}).get("type") != "RollingUpdate" or rolling.get(
        "maxUnavailable"
    ) not in (0, "0", "0%"):
        problems.append(f"{name}: a rolling update may take a ready pod away first")
    return problems


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def companion_problems(docs: list[DOC]) -> list[str]:
    """Every Deployment has a Service, a PodDisruptionBudget and an HPA."""
    problems = []
    services = of_kind(docs, "Service")
    budgets = of_kind(docs, "PodDisruptionBudget")
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    for name, deployment in by_name(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if not any(
            selects(service["spec"]["selector"], labels) for service in services
        ):
            problems.append(f"{name}: no Service selects its pods")
        if not any(
            selects(budget["spec"]["selector"]["matchLabels"], labels)
            for budget in budgets
        ):
            problems.append(f"{name}: no PodDisruptionBudget")
        targets = {
            (
                hpa["spec"]["scaleTargetRef"]["kind"],
                hpa["spec"]["scaleTargetRef"]["name"],
            )
            for hpa in autoscalers
        }
        if ("Deployment", name) not in targets:
            problems.append(f"{name}: no HorizontalPodAutoscaler")
    return problems


def ingress_problems(docs: list[DOC]) -> list[str]:
    """Backends exist; socket.io has cookie affinity and long timeouts."""
    problems = []
    services = by_name(docs, "Service")
    routes: dict[str, DOC] = {}
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services.get(backend["name"])
                routes[path["path"]] = ingress
                if service is None:
                    problems.append(f"{path['path']}: no Service {backend['name']}")
                    continue
                port_names = {port.get("name") for port in service["spec"]["ports"]}
                if backend["port"].get("name") not in port_names:
                    problems.append(f"{path['path']}: no such port on the Service")
    chat = routes.get("/socket.io/")
    if chat is None:
        return [*problems, "no route for /socket.io/"]
    annotations = chat["metadata"].get("annotations", {})
    prefix = "nginx.ingress.kubernetes.io/"
    if annotations.get(prefix + "affinity") != "cookie":
        problems.append("/socket.io/: no cookie affinity")
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        if int(annotations.get(prefix + timeout, "60")) < 300:
            problems.append(f"/socket.io/: {timeout} would cut quiet WebSockets")
    if "/webhooks/" not in routes:
        problems.append("no route for /webhooks/")
    return problems


def container_environment(
    container: DOC, config_maps: Mapping[str, DOC], secrets: Mapping[str, DOC]
) -> dict[str, str]:
    """The variables a container gets from env and envFrom."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(config_maps[source["configMapRef"]["name"]].get("data", {}))
        if "secretRef" in source:
            values.update(secrets[source["secretRef"]["name"]].get("stringData", {}))
    for variable in container.get("env", []):
        values[variable["name"]] = str(variable.get("value", ""))
    return values
