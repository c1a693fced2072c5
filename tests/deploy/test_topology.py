"""The docker-compose.yml topology, run as local processes: every service's `command` with its `environment`
(hosts rewritten to 127.0.0.1, free ports, the Redis service replaced by the local Redis under a key prefix of
this test), scheduler replicas as many as `deploy.replicas`, started in `depends_on` order once the dependencies'
own compose health checks pass. The stage services are the real ones (about 15 s to load their models here).
Jobs submitted to each scheduler replica finish, and every health check command exits 0."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import grpc
import yaml
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT, Settings
from tests.deploy.conftest import Processes
from tests.scheduler.grpc_helpers import course_request
from tests.support import assert_eventually, free_port

JOBS_PER_REPLICA = 3
STARTUP_SECONDS = 90
# What the test puts in the variables compose requires (${VAR:?...}), as a user's .env would.
REQUIRED = {"SKILLBRIDGE_API_KEYS": "k-topology=topology"}
KEY_METADATA = (("authorization", "Bearer k-topology"),)


@dataclass
class Instance:
    """One process of a compose service (a replica), with the ports it was given."""

    service: str
    name: str
    port: int
    metrics_port: int
    spec: dict[str, Any] = field(repr=False)


def default_port(service: str) -> int | None:
    value = getattr(Settings.from_env(environ={}), f"{service}_port", None)
    return value if isinstance(value, int) else None


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default}, taking the defaults, and ${VAR:?error}, taking the test's REQUIRED values:
    the test does not read the developer's variables."""
    value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: REQUIRED[m.group(1)], value)
    return re.sub(r"\$\{\w+:-([^}]*)\}", lambda m: m.group(1), value)


def plan(compose: dict[str, Any]) -> dict[str, list[Instance]]:
    instances: dict[str, list[Instance]] = {}
    for service, spec in compose["services"].items():
        if service == "redis":
            continue  # the local Redis stands in for it
        replicas = int(spec.get("deploy", {}).get("replicas", 1))
        instances[service] = [
            Instance(service, f"{service}-{i}", free_port(), free_port(), spec) for i in range(replicas)
        ]
    return instances


def environment(instance: Instance, instances: dict[str, list[Instance]], store: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for key, raw in instance.spec.get("environment", {}).items():
        value = interpolate(str(raw))
        if value.startswith("redis://redis:6379"):
            value = store
        for other, group in instances.items():
            port = default_port(other)
            if port is not None:
                value = value.replace(f"{other}:{port}", f"127.0.0.1:{group[0].port}")
        env[key] = "127.0.0.1" if key == "SKILLBRIDGE_HOST" else value
    env[f"SKILLBRIDGE_{instance.service.upper()}_PORT"] = str(instance.port)
    if hasattr(Settings.from_env(environ={}), f"{instance.service}_metrics_port"):
        env[f"SKILLBRIDGE_{instance.service.upper()}_METRICS_PORT"] = str(instance.metrics_port)
    env["SKILLBRIDGE_LOG_LEVEL"] = "WARNING"
    return env


def local(command: list[str], instance: Instance) -> list[str]:
    """A compose command or health check as a local one: our interpreter, the instance's port."""
    port = default_port(instance.service)
    args = [a for a in command if a != "CMD"]
    args = [sys.executable if a == "python" else a for a in args]
    return [a.replace(f"127.0.0.1:{port}", f"127.0.0.1:{instance.port}") for a in args]


def healthy(instance: Instance) -> bool:
    check = local(instance.spec["healthcheck"]["test"], instance)
    return subprocess.run(check, cwd=REPO_ROOT, capture_output=True, timeout=30, check=False).returncode == 0


async def test_compose_topology_runs_as_local_processes(redis_prefix: tuple[str, str], processes: Processes) -> None:
    url, prefix = redis_prefix
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["redis"]["command"][0] == "redis-server"
    instances = plan(compose)
    store = f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    assert len(instances["scheduler"]) == 2

    started: set[str] = set()
    ready: set[str] = {"redis"}
    deadline = time.monotonic() + STARTUP_SECONDS
    while ready != {"redis", *instances}:
        assert time.monotonic() < deadline, f"not healthy within {STARTUP_SECONDS} s: {set(instances) - ready}"
        processes.check_alive()
        for service, group in instances.items():
            deps = set(group[0].spec.get("depends_on", {}))
            if service not in started and deps <= ready:
                for instance in group:
                    env = environment(instance, instances, store)
                    processes.start(instance.name, local(instance.spec["command"], instance), env, REPO_ROOT)
                started.add(service)
        for service in started - ready:
            if all(await asyncio.gather(*(asyncio.to_thread(healthy, i) for i in instances[service]))):
                ready.add(service)
        await asyncio.sleep(0.2)  # a polling interval while processes load; readiness decides

    schedulers = instances["scheduler"]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{s.port}") for s in schedulers]
    try:
        stubs = [pb_grpc.JobSchedulerServiceStub(c) for c in channels]
        ids = [
            (await stub.SubmitJob(course_request(), metadata=KEY_METADATA)).job.id
            for stub in stubs
            for _ in range(JOBS_PER_REPLICA)
        ]

        async def all_succeeded() -> bool:
            jobs = [
                (await stubs[i % 2].GetJob(pb.GetJobRequest(job_id=job_id), metadata=KEY_METADATA)).job
                for i, job_id in enumerate(ids)
            ]
            failed = [j for j in jobs if j.state == job_pb2.JOB_STATE_FAILED]
            assert not failed, failed[0].error
            return all(j.state == job_pb2.JOB_STATE_SUCCEEDED for j in jobs)

        await assert_eventually(all_succeeded, within=60, message="the jobs did not all succeed")
        last = await stubs[0].GetJob(pb.GetJobRequest(job_id=ids[-1]), metadata=KEY_METADATA)
        result = last.job.course_recommendation_result
        assert result.job_skills, "the real NER service found no skills"
    finally:
        for channel in channels:
            await channel.close()

    for group in instances.values():
        for instance in group:
            assert await asyncio.to_thread(healthy, instance), instance.name
    for scheduler in schedulers:
        text = await asyncio.to_thread(scrape, scheduler.metrics_port)
        assert "skillbridge_jobs_submitted_total" in text and "skillbridge_queue_depth" in text
    processes.check_alive()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return str(reply.read().decode())
