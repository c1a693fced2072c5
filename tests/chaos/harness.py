"""Real processes for the chaos runs: the four stage services (real models, each its own process, killed with
SIGKILL and started again on the same port), scheduler processes on a SQLite file or a Redis key prefix, and
the checks every run ends with (each job SUCCEEDED exactly once, events numbered without gaps).

Used by tests/chaos/test_stage_chaos.py (bounded, in `make test`) and tests/chaos/run.py (`make chaos`).
Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from services.scheduler.stage_clients import HEALTH_NAMES
from tests.support import free_port

STAGE_SERVICES = ("ner", "similarity", "retrieval", "recommendation")
EXAMPLES = REPO_ROOT / "data" / "examples"
TERMINAL = ("succeeded", "failed", "cancelled")
_unique = itertools.count()


class ChaosError(AssertionError):
    """A run broke one of its promises (a job lost, failed, run twice, or an event missing)."""


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", SKILLBRIDGE_LOG_JSON="0", SKILLBRIDGE_LOG_LEVEL="INFO")
    env.update(extra)
    return env


async def until(predicate: Any, *, within: float, what: str, every: float = 0.1) -> Any:
    """Re-checks `predicate` (sync or async) until it returns something truthy; ChaosError after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise ChaosError(f"{what}: not within {within:g} s")
        await asyncio.sleep(every)  # a polling interval; the condition decides


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class StageProcesses:
    """The four stage services as processes on fixed ports, so a killed one comes back where it was."""

    logs: Path
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in STAGE_SERVICES})
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Seconds from each start until the service answered SERVING, in order, per service.
    startups: dict[str, list[float]] = field(default_factory=dict)

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> float:
        env = child_env(
            **{f"SKILLBRIDGE_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
            **{f"SKILLBRIDGE_{name.upper()}_METRICS_PORT": "0" for name in STAGE_SERVICES},
        )
        with (self.logs / f"{service}.log").open("ab") as out:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"], cwd=REPO_ROOT, env=env, stdout=out, stderr=out
            )
        return time.monotonic()

    async def serving(self, service: str, since: float, within: float = 300.0) -> float:
        """Waits until the service's health says SERVING; records and returns the seconds since `since`."""
        proc = self.procs[service]

        async def ready() -> bool:
            if proc.poll() is not None:
                raise ChaosError(f"{service} exited with {proc.returncode}; see {self.logs / service}.log")
            return await health_status(self.address(service), HEALTH_NAMES[service]) == "SERVING"

        await until(ready, within=within, what=f"{service} serving", every=0.05)
        seconds = time.monotonic() - since
        self.startups.setdefault(service, []).append(seconds)
        return seconds

    async def start_all(self) -> None:
        started = {service: self.start(service) for service in STAGE_SERVICES}
        await asyncio.gather(*(self.serving(service, since) for service, since in started.items()))

    def kill(self, service: str) -> None:
        proc = self.procs[service]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)


async def health_status(address: str, service: str) -> str:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1.0
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


@dataclass
class Schedulers:
    """Scheduler processes (with their dispatchers) on one store, calling `stages`."""

    store: str
    stages: StageProcesses
    logs: Path
    settings: dict[str, str] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, replicas: int = 1) -> None:
        for _ in range(replicas):
            port, metrics = free_port(), free_port()
            env = child_env(
                SKILLBRIDGE_STORE=self.store,
                SKILLBRIDGE_SCHEDULER_PORT=str(port),
                SKILLBRIDGE_SCHEDULER_METRICS_PORT=str(metrics),
                SKILLBRIDGE_MAX_QUEUE_DEPTH="100000",
                SKILLBRIDGE_STANDARD_MAX_QUEUED="0",
                SKILLBRIDGE_STANDARD_SUBMIT_RATE="0",
                SKILLBRIDGE_STANDARD_MAX_RUNNING="0",
                **{f"SKILLBRIDGE_{s.upper()}_ADDRESS": self.stages.address(s) for s in STAGE_SERVICES},
                **{f"SKILLBRIDGE_{k.upper()}": v for k, v in self.settings.items()},
            )
            with (self.logs / f"scheduler-{port}.log").open("ab") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=env, stdout=out, stderr=out
                    )
                )
            self.ports.append(port)
            self.metrics_ports.append(metrics)

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    async def ready(self, within: float = 60.0) -> None:
        for address, proc in zip(self.addresses, self.procs, strict=True):

            async def answers(address: str = address, proc: subprocess.Popen[bytes] = proc) -> bool:
                if proc.poll() is not None:
                    raise ChaosError(f"scheduler {address} exited with {proc.returncode}")
                return await health_status(address, "") == "SERVING"

            await until(answers, within=within, what=f"scheduler {address} serving")

    def claims_paused(self) -> float:
        """The dispatchers' paused claim-loop turns, summed over replicas and services (from /metrics)."""
        total = 0.0
        for port in self.metrics_ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                for line in answer.read().decode().splitlines():
                    if line.startswith("skillbridge_claims_paused_total{"):
                        total += float(line.rsplit(" ", 1)[1])
        return total

    def stop_all(self) -> None:
        for proc in self.procs:
            stop_process(proc)


def analysis_request() -> pb.SubmitJobRequest:
    """A real analysis with a resume of its own (a unique last line), never answered from the result cache."""
    return pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
        course_recommendation=job_pb2.CourseRecommendationInput(
            resume_text=f"{(EXAMPLES / 'resume.txt').read_text()}\nReference {next(_unique)}.",
            job_description_text=(EXAMPLES / "job_description.txt").read_text(),
            threshold=0.5,
        ),
        skip_cache=True,
    )


async def submit(stub: pb_grpc.JobSchedulerServiceStub, jobs: int) -> list[str]:
    batch = pb.SubmitJobsRequest(requests=[analysis_request() for _ in range(jobs)])
    return [r.job.id for r in (await stub.SubmitJobs(batch, timeout=30)).responses]


async def counts(stub: pb_grpc.JobSchedulerServiceStub) -> dict[str, int]:
    status = await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=10)
    return {state.removeprefix("JOB_STATE_").lower(): int(n) for state, n in status.jobs_by_state.items()}


async def succeeded_at_least(stub: pb_grpc.JobSchedulerServiceStub, n: int) -> bool:
    return (await counts(stub)).get("succeeded", 0) >= n


async def history(stub: pb_grpc.JobSchedulerServiceStub, job_id: str) -> tuple[list[job_pb2.JobEvent], job_pb2.Job]:
    """Every event of a finished job, from the first, and its final record."""
    events: list[job_pb2.JobEvent] = []
    async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=30):
        if update.HasField("event"):
            events.append(update.event)
    return events, (await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10)).job


async def histories(
    stub: pb_grpc.JobSchedulerServiceStub, ids: Sequence[str]
) -> list[tuple[list[job_pb2.JobEvent], job_pb2.Job]]:
    semaphore = asyncio.Semaphore(16)

    async def one(job_id: str) -> tuple[list[job_pb2.JobEvent], job_pb2.Job]:
        async with semaphore:
            return await history(stub, job_id)

    return await asyncio.gather(*(one(job_id) for job_id in ids))


@dataclass
class Outcome:
    """What a run's jobs went through, checked and counted."""

    jobs: int = 0
    succeeded: int = 0
    waited: int = 0  # jobs with at least one service_waiting event
    requeued: int = 0  # jobs with at least one retried event
    max_attempt: int = 0
    max_waited_s: float = 0.0  # the longest wait that ended with service_recovered
    waits_per_attempt: int = 0  # the most service_waiting events any one attempt had


def check(runs: list[tuple[list[job_pb2.JobEvent], job_pb2.Job]]) -> Outcome:
    """Raises ChaosError unless every job SUCCEEDED exactly once with gap-free events and attempts 1, 2, ..."""
    out = Outcome(jobs=len(runs))
    for events, job in runs:
        sequences = [e.sequence for e in events]
        if sequences != list(range(1, len(events) + 1)):
            raise ChaosError(f"job {job.id}: events are not numbered 1..n without gaps: {sequences}")
        kinds = [e.WhichOneof("kind") for e in events]
        if kinds.count("succeeded") != 1 or kinds[-1] != "succeeded" or job.state != job_pb2.JOB_STATE_SUCCEEDED:
            raise ChaosError(f"job {job.id} ended {job_pb2.JobState.Name(job.state)}: {kinds} {job.error.message}")
        attempts = [e.started.attempt for e in events if e.HasField("started")]
        if attempts != list(range(1, len(attempts) + 1)) or attempts[-1] != job.attempt:
            raise ChaosError(f"job {job.id}: attempts {attempts}, record says {job.attempt}")
        per_attempt: list[int] = []
        for kind in kinds:
            if kind == "started":
                per_attempt.append(0)
            elif kind == "service_waiting":
                per_attempt[-1] += 1
        out.succeeded += 1
        out.waited += "service_waiting" in kinds
        out.requeued += "retried" in kinds
        out.max_attempt = max(out.max_attempt, job.attempt)
        out.waits_per_attempt = max(out.waits_per_attempt, *per_attempt)
        for e in events:
            if e.HasField("service_recovered"):
                out.max_waited_s = max(out.max_waited_s, e.service_recovered.waited.ToTimedelta().total_seconds())
    return out
