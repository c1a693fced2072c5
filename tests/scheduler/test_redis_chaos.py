"""Two scheduler processes on one Redis store and two replicas of the (slow) stage services, balanced
round-robin; one scheduler is killed with SIGKILL mid-run, then one stage replica. The survivors finish every job
exactly once, and the surviving scheduler's WatchJob shows each job's whole history without gaps."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from tests.scheduler.grpc_helpers import course_request, events_of, watch_all
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.support import assert_eventually, free_port

pytestmark = pytest.mark.redis

JOBS = 200
KILL_AFTER_SUCCEEDED = 40
STAGE_DELAY = 0.02
SUCCEEDED = "JOB_STATE_SUCCEEDED"


@pytest.fixture
async def redis_store_url() -> AsyncIterator[str]:
    """SKILLBRIDGE_STORE for a fresh key prefix, deleted afterwards."""
    url, prefix = await require_redis(), unique_prefix()
    yield f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    await delete_prefix(url, prefix)


def start_scheduler(store: str, stages: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        SKILLBRIDGE_STORE=store,
        SKILLBRIDGE_SCHEDULER_PORT=str(port),
        SKILLBRIDGE_LEASE_SECONDS="1.0",
        SKILLBRIDGE_CONCURRENCY="4",
        SKILLBRIDGE_POLL_INTERVAL_SECONDS="0.5",
        SKILLBRIDGE_LOG_JSON="0",
        SKILLBRIDGE_LOG_LEVEL="WARNING",
    )
    for service in ("NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION"):
        env[f"SKILLBRIDGE_{service}_ADDRESS"] = stages
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=env, stdout=out, stderr=out
        )


async def succeeded(stub: pb_grpc.JobSchedulerServiceStub) -> int:
    try:
        status = await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=2)
    except grpc.aio.AioRpcError:
        return -1
    return int(status.jobs_by_state[SUCCEEDED])


def start_stage_replica(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.scheduler.stage_doubles", str(port), str(STAGE_DELAY)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=out,
        )


async def test_kill_9_of_one_replica_every_job_succeeds_once(redis_store_url: str, tmp_path: Path) -> None:
    stage_ports = [free_port(), free_port()]
    stage_procs = [start_stage_replica(p, tmp_path / f"stage-{p}.log") for p in stage_ports]
    stages = ",".join(f"127.0.0.1:{p}" for p in stage_ports)
    for port in stage_ports:
        await assert_eventually(lambda p=port: _listening(p), within=30, message="a stage replica did not start")
    ports = [free_port(), free_port()]
    procs = [start_scheduler(redis_store_url, stages, p, tmp_path / f"scheduler-{p}.log") for p in ports]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{p}") for p in ports]
    try:
        victim, survivor = (pb_grpc.JobSchedulerServiceStub(c) for c in channels)
        for stub in (victim, survivor):
            await assert_eventually(lambda s=stub: _at_least(s, 0), within=30, message="a scheduler did not start")
        ids = [(await (victim, survivor)[i % 2].SubmitJob(course_request(skip_cache=True))).job.id for i in range(JOBS)]
        assert len(set(ids)) == JOBS

        await assert_eventually(
            lambda: _at_least(survivor, KILL_AFTER_SUCCEEDED), within=40, message="jobs did not start finishing"
        )
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        done = await succeeded(survivor)
        assert done < JOBS, "every job finished before the kill: nothing was tested"
        # Later a stage replica dies too: calls in flight on it fail UNAVAILABLE and are retried, and the
        # round-robin balancer sends the rest to the replica that is left.
        await assert_eventually(lambda: _at_least(survivor, done + 20), within=40, message="no progress after kill")
        stage_procs[0].send_signal(signal.SIGKILL)
        stage_procs[0].wait(10)
        after_stage_kill = await succeeded(survivor)
        assert after_stage_kill < JOBS, "every job finished before the stage replica died: nothing was tested"

        await assert_eventually(
            lambda: _at_least(survivor, JOBS), within=60, message="the survivor did not finish every job"
        )
        semaphore = asyncio.Semaphore(16)

        async def history(job_id: str) -> tuple[list[job_pb2.JobEvent], job_pb2.Job]:
            async with semaphore:
                events = events_of(await watch_all(survivor, job_id))
                job = (await survivor.GetJob(pb.GetJobRequest(job_id=job_id))).job
            return events, job

        histories = await asyncio.gather(*(history(i) for i in ids))
        for job_id, (events, job) in zip(ids, histories, strict=True):
            assert [e.sequence for e in events] == list(range(1, len(events) + 1)), job_id
            assert sum(1 for e in events if e.HasField("succeeded")) == 1, job_id
            assert events[-1].HasField("succeeded") and job.state == job_pb2.JOB_STATE_SUCCEEDED, job_id
        assert max(job.attempt for _, job in histories) >= 2, "the jobs running at the kill did not run again"
    finally:
        for channel in channels:
            await channel.close()
        for proc in [*procs, *stage_procs]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _at_least(stub: pb_grpc.JobSchedulerServiceStub, n: int) -> bool:
    return await succeeded(stub) >= n
