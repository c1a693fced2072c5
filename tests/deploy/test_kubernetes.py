"""deploy/k8s, checked without a cluster: every overlay rendered by kustomize (the one in the pinned kubectl wheel,
offline) and validated against the Kubernetes 1.37 schemas (kubernetes-validate, strict); then the rules of our
deployment: native gRPC probes on the health service names the servers register, ports the processes bind,
headless Services behind dns:/// targets, resources, disruption budgets, API keys from a Secret, and only
SKILLBRIDGE_* variables that a settings class reads (in the manifests, docker-compose.yml and the Dockerfile)."""

from __future__ import annotations

import asyncio
import importlib
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import grpc
import kubernetes_validate
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.server import create_server
from services.common.settings import REPO_ROOT, Settings
from services.scheduler.stage_clients import channel_for
from tests.deploy.settings_env import PREFIX, read_env_names

K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
KUBERNETES_VERSION = "1.37.0"
STAGES = ("ner", "similarity", "retrieval", "recommendation")
GRPC_SERVICES = ("scheduler", *STAGES)
KUBECTL = Path(sys.executable).parent / "kubectl"


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def settings_map(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("skillbridge-")]
    return dict(config["data"])


def test_there_are_overlays() -> None:
    assert {"production", "single-node"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_matches_the_kubernetes_schema(overlay: str) -> None:
    docs = rendered(overlay)
    assert {d["kind"] for d in docs} >= {"Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap"}
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    deployment = dict(of_kind(rendered("production"), "Deployment")["scheduler"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grpc_probes_ask_the_health_service_for_the_names_the_servers_register(overlay: str) -> None:
    deployments = of_kind(rendered(overlay), "Deployment")
    defaults = Settings.from_env(environ={})  # the code's defaults, not this test run's environment
    for name in GRPC_SERVICES:
        spec = container(deployments[name])
        registered = importlib.import_module(f"services.{name}.server").SERVICE_NAME
        port = getattr(defaults, f"{name}_port")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert spec[probe]["grpc"] == {"port": port, "service": registered}, (name, probe)
        ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
        assert ports == {"grpc": port, "metrics": getattr(defaults, f"{name}_metrics_port")}, name
        assert spec["command"] == ["python", "-m", f"services.{name}"]
    gateway = container(deployments["gateway"])
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["ports"] == [{"name": "http", "containerPort": defaults.gateway_port}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_stage_replicas_are_reached_through_headless_services_with_dns_targets(overlay: str) -> None:
    docs = rendered(overlay)
    services, config = of_kind(docs, "Service"), settings_map(docs)
    for stage in STAGES:
        headless = services[f"{stage}-headless"]["spec"]
        port = getattr(Settings.from_env(environ={}), f"{stage}_port")
        assert headless["clusterIP"] == "None" and headless["selector"] == {"app.kubernetes.io/name": stage}
        assert [p["port"] for p in headless["ports"]] == [port]
        assert config[f"{PREFIX}{stage.upper()}_ADDRESS"] == f"dns:///{stage}-headless:{port}"
    scheduler_port = services["scheduler"]["spec"]["ports"][0]["port"]
    assert config[f"{PREFIX}SCHEDULER_ADDRESS"] == f"scheduler:{scheduler_port}"
    assert config[f"{PREFIX}STORE"] == "redis://redis:6379/0" and "redis" in services
    assert float(config[f"{PREFIX}MAX_CONNECTION_AGE_SECONDS"]) > 0  # clients re-resolve and meet new replicas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_resources_budgets_keys_and_privileges(overlay: str) -> None:
    docs = rendered(overlay)
    budgets = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for b in of_kind(docs, "PodDisruptionBudget").values()
    }
    for name, deployment in of_kind(docs, "Deployment").items():
        spec = container(deployment)
        assert spec["resources"]["requests"]["cpu"] and spec["resources"]["requests"]["memory"], name
        assert spec["resources"]["limits"]["memory"], name
        assert name in budgets, f"{name} has no PodDisruptionBudget"
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and spec["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        keys = [e for e in spec.get("env", []) if e["name"] == f"{PREFIX}API_KEYS"]
        if name in ("scheduler", "gateway"):  # the two that authenticate: keys from a Secret, never a literal
            assert keys == [
                {
                    "name": f"{PREFIX}API_KEYS",
                    "valueFrom": {"secretKeyRef": {"name": "skillbridge-api-keys", "key": f"{PREFIX}API_KEYS"}},
                }
            ], name
    assert f"{PREFIX}API_KEYS" not in settings_map(docs)
    assert not [d for d in docs if d["kind"] == "Secret"], "secrets are created beside the manifests, not rendered"


def manifest_env_names() -> set[str]:
    names: set[str] = set()
    for overlay in OVERLAYS:
        docs = rendered(overlay)
        names |= set(settings_map(docs))
        for deployment in [*of_kind(docs, "Deployment").values(), *of_kind(docs, "StatefulSet").values()]:
            names |= {e["name"] for e in container(deployment).get("env", [])}
    return names


def compose_env_names() -> set[str]:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    names = set(compose.get("x-settings", {}))
    for spec in compose["services"].values():
        environment = spec.get("environment", {})
        names |= set(environment) if isinstance(environment, dict) else {e.split("=")[0] for e in environment}
    return names


def dockerfile_env_names() -> set[str]:
    return set(re.findall(rf"\b({PREFIX}\w+)=", (REPO_ROOT / "Dockerfile").read_text()))


def test_every_skillbridge_variable_set_by_a_deployment_is_one_the_processes_read() -> None:
    read = read_env_names()
    for source, names in {
        "deploy/k8s": manifest_env_names(),
        "docker-compose.yml": compose_env_names(),
        "Dockerfile": dockerfile_env_names(),
        ".env.example": set(re.findall(rf"^({PREFIX}\w+)=", (REPO_ROOT / ".env.example").read_text(), re.M)),
    }.items():
        ours = {n for n in names if n.startswith(PREFIX)}
        assert ours, f"no SKILLBRIDGE_ variables found in {source}"
        assert not ours - read, f"{source} sets variables no process reads: {sorted(ours - read)}"


def test_the_check_would_catch_a_misspelt_variable() -> None:
    assert f"{PREFIX}SCHEDULER_ADRESS" not in read_env_names()
    assert f"{PREFIX}SCHEDULER_ADDRESS" in read_env_names()


async def test_a_dns_target_reaches_servers_that_close_aged_connections() -> None:
    """What the manifests rely on, over real gRPC: channel_for passes a dns:/// target through (round_robin over
    what it resolves to), and a server with a maximum connection age closes the connection, so the client
    connects (and resolves) again, and the next call succeeds."""
    aged = Settings.from_env({}, max_connection_age_seconds=0.5, max_connection_age_grace_seconds=1.0)
    running = await create_server(aged, register=lambda server: None, service_names=[], port=0, host="127.0.0.1")
    channel = channel_for(f"dns:///localhost:{running.port}", aged.max_message_bytes)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        check = health_pb2.HealthCheckRequest(service="")
        assert (await stub.Check(check, timeout=10)).status == health_pb2.HealthCheckResponse.SERVING
        assert channel.get_state() is grpc.ChannelConnectivity.READY
        # The state leaves READY only when the server closes the aged connection (an idle channel keeps it);
        # what it becomes next (IDLE, or READY again after a quick reconnect) is the channel's business.
        await asyncio.wait_for(channel.wait_for_state_change(grpc.ChannelConnectivity.READY), 30)
        assert (await stub.Check(check, timeout=10)).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await channel.close()
        await running.server.stop(0)
