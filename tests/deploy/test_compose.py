"""docker-compose.yml, checked without a Docker engine: against the compose-spec JSON schema (vendored in the
check-jsonschema package, so offline), and for the rules of our deployment: Redis with AOF, two scheduler
replicas on it, a gRPC health check on every service and start order by health."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from services.common.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
GRPC_SERVICES = ["scheduler", "ner", "similarity", "retrieval", "recommendation"]


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["scheduler"]["deploy"] = {"replica": 2}  # a misspelt key
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = validate(path)
    assert result.returncode != 0
    assert "services.scheduler" in result.stdout + result.stderr


def test_redis_keeps_an_append_only_file_and_two_schedulers_share_it() -> None:
    services = compose()["services"]
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes"]
    scheduler = services["scheduler"]
    assert scheduler["deploy"]["replicas"] == 2
    assert scheduler["environment"]["SKILLBRIDGE_STORE"] == "redis://redis:6379/0"
    assert "container_name" not in scheduler and "ports" not in scheduler  # both replicas must fit
    assert scheduler["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_every_grpc_service_is_checked_through_the_health_protocol_and_started_in_order() -> None:
    services = compose()["services"]
    for name in GRPC_SERVICES:
        test = services[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "services.common.healthcheck"], name
        assert test[5] == f"skillbridge.{name}.v1.{_service_suffix(name)}", name
    for stage in GRPC_SERVICES[1:]:
        assert services["scheduler"]["depends_on"][stage] == {"condition": "service_healthy"}
    assert services["gateway"]["depends_on"]["scheduler"] == {"condition": "service_healthy"}
    assert "healthz" in " ".join(services["gateway"]["healthcheck"]["test"])


def _service_suffix(name: str) -> str:
    return {"scheduler": "JobSchedulerService", "ner": "NerService"}.get(name, f"{name.capitalize()}Service")


def test_the_image_installs_cpu_torch_before_the_project() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    torch_line = next(line for line in text.splitlines() if "torch==2.13.0" in line)
    assert torch_line.startswith("RUN pip install") and "download.pytorch.org/whl/cpu" in torch_line
    assert text.index(torch_line) < text.index("pip install -e .")


def test_the_gateway_is_published_on_loopback_only_and_keys_have_no_open_default() -> None:
    services = compose()["services"]
    published = [port for spec in services.values() for port in spec.get("ports", [])]
    assert published == ["127.0.0.1:8080:8080"]
    keys = compose()["x-settings"]["SKILLBRIDGE_API_KEYS"]
    assert keys.startswith("${SKILLBRIDGE_API_KEYS:?"), "compose must refuse to start without keys"
    example = (REPO_ROOT / ".env.example").read_text()
    assert "\nSKILLBRIDGE_API_KEYS=\n" in example  # the user fills it in: no shared default key
    for ignore in (".gitignore", ".dockerignore"):
        assert ".env" in (REPO_ROOT / ignore).read_text().split(), f"{ignore} must keep .env out"
