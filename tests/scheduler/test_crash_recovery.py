"""kill -9 of the scheduler process while jobs are queued and running: after a restart on the same file,
every job finishes exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from tests.scheduler.grpc_helpers import course_request, events_of, watch_all
from tests.scheduler.stage_doubles import Behavior, StageDoubles, start_stage_doubles
from tests.support import assert_eventually, free_port

JOBS = 6


class SchedulerProcess:
    """`python -m services.scheduler` as a child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=self.env, stdout=out, stderr=out
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def process_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        SKILLBRIDGE_STORE=f"sqlite:///{tmp_path / 'jobs.db'}",
        SKILLBRIDGE_SCHEDULER_PORT=str(free_port()),
        SKILLBRIDGE_LEASE_SECONDS="1.0",
        SKILLBRIDGE_CONCURRENCY="2",
        SKILLBRIDGE_POLL_INTERVAL_SECONDS="0.2",
        SKILLBRIDGE_LOG_JSON="0",
    )
    yield env


async def test_jobs_survive_kill_9_and_finish_exactly_once(process_env: dict[str, str], tmp_path: Path) -> None:
    doubles = StageDoubles()
    for name in ("ExtractEntities", "ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses"):
        doubles.behaviors[name] = Behavior(delay=0.15)
    stages, address = await start_stage_doubles(doubles)
    for service in ("NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION"):
        process_env[f"SKILLBRIDGE_{service}_ADDRESS"] = address
    target = f"127.0.0.1:{process_env['SKILLBRIDGE_SCHEDULER_PORT']}"
    scheduler = SchedulerProcess(process_env, tmp_path / "scheduler.log")
    scheduler.start()
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            await assert_eventually(lambda: channel_ready(channel), within=30, message="scheduler did not start")
            ids = [(await stub.SubmitJob(course_request())).job.id for _ in range(JOBS)]

            async def some_running() -> bool:
                jobs = [(await stub.GetJob(pb.GetJobRequest(job_id=i))).job for i in ids]
                return any(j.state == job_pb2.JOB_STATE_RUNNING and j.current_stage for j in jobs)

            await assert_eventually(some_running, within=30)
            scheduler.kill9()
            scheduler.start()
            await assert_eventually(lambda: channel_ready(channel), within=30, message="scheduler did not restart")

            async def all_done() -> bool:
                jobs = [(await stub.GetJob(pb.GetJobRequest(job_id=i))).job for i in ids]
                return all(j.state == job_pb2.JOB_STATE_SUCCEEDED for j in jobs)

            await assert_eventually(all_done, within=90, message="not every job finished after the restart")
            attempts = []
            for job_id in ids:
                events = events_of(await watch_all(stub, job_id))
                assert [e.sequence for e in events] == list(range(1, len(events) + 1))
                assert sum(1 for e in events if e.HasField("succeeded")) == 1
                attempts.append((await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job.attempt)
            assert max(attempts) >= 2, "the jobs running at the kill ran again"
    finally:
        scheduler.stop()
        await stages.stop(0)


async def channel_ready(channel: grpc.aio.Channel) -> bool:
    try:
        await pb_grpc.JobSchedulerServiceStub(channel).GetQueueStatus(pb.GetQueueStatusRequest(), timeout=1)
    except grpc.aio.AioRpcError:
        return False
    return True


async def test_sigterm_drains_and_hands_running_jobs_back(process_env: dict[str, str], tmp_path: Path) -> None:
    doubles = StageDoubles()
    doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    stages, address = await start_stage_doubles(doubles)
    for service in ("NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION"):
        process_env[f"SKILLBRIDGE_{service}_ADDRESS"] = address
    process_env["SKILLBRIDGE_SHUTDOWN_GRACE_SECONDS"] = "0.5"
    target = f"127.0.0.1:{process_env['SKILLBRIDGE_SCHEDULER_PORT']}"
    scheduler = SchedulerProcess(process_env, tmp_path / "scheduler.log")
    scheduler.start()
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            await assert_eventually(lambda: channel_ready(channel), within=30, message="scheduler did not start")
            job_id = (await stub.SubmitJob(course_request())).job.id
            await assert_eventually(lambda: doubles.signal("ExtractEntities").is_set(), within=30)
            assert scheduler.proc is not None
            scheduler.proc.send_signal(signal.SIGTERM)
            assert scheduler.proc.wait(20) == 0
        doubles.behaviors["ExtractEntities"] = Behavior()
        scheduler.start()
        async with grpc.aio.insecure_channel(target) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            await assert_eventually(lambda: channel_ready(channel), within=30, message="scheduler did not restart")
            events = events_of(await watch_all(stub, job_id))
            kinds = [e.WhichOneof("kind") for e in events]
            assert "retried" in kinds and kinds[-1] == "succeeded"
            assert next(e for e in events if e.HasField("retried")).retried.reason == "worker shut down"
    finally:
        scheduler.stop()
        await stages.stop(0)
