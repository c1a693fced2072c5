"""SIGTERM of a scheduler replica under load: two scheduler processes on one Redis store, every job followed by
the SDK's watch through a channel that knows both replicas. The first replica is stopped with SIGTERM mid-run:
it must exit within its grace period, its open streams end with UNAVAILABLE, and every watch goes on from the
other replica without a gap (each job's events 1..n, exactly one terminal event)."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient

from services.common.settings import REPO_ROOT
from tests.bench.common import redis_url
from tests.chaos.harness import (
    ChaosError,
    StageProcesses,
    analysis_request,
    child_env,
    free_port,
    health_status,
    stop_process,
    until,
)

DRAIN_REDIS_DB = 12


class _Interruptions(logging.Handler):
    """Counts the SDK's 'watch interrupted, resuming' log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "interrupted" in record.getMessage():
            self.count += 1


def start_doubles(tmp: Path, delay: float) -> tuple[subprocess.Popen[bytes], str]:
    """The stage doubles as a process (tests/scheduler/stage_doubles.py): answers after `delay` s per call."""
    port = free_port()
    with (tmp / "doubles.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.scheduler.stage_doubles", str(port), str(delay)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=out,
        )
    return proc, f"127.0.0.1:{port}"


def start_scheduler(
    tmp: Path, store: str, port: int, grace: float, addresses: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = child_env(
        SKILLBRIDGE_STORE=store,
        SKILLBRIDGE_SCHEDULER_PORT=str(port),
        SKILLBRIDGE_SCHEDULER_METRICS_PORT="0",
        SKILLBRIDGE_SHUTDOWN_GRACE_SECONDS=str(grace),
        SKILLBRIDGE_CONCURRENCY="4",
        SKILLBRIDGE_STANDARD_MAX_QUEUED="0",
        SKILLBRIDGE_STANDARD_SUBMIT_RATE="0",
        SKILLBRIDGE_STANDARD_MAX_RUNNING="0",
        **{f"SKILLBRIDGE_{s.upper()}_ADDRESS": a for s, a in addresses.items()},
    )
    with (tmp / f"drain-scheduler-{port}.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=env, stdout=out, stderr=out
        )


async def drain_with_watchers(
    tmp: Path,
    *,
    jobs: int,
    grace: float,
    stages: StageProcesses | None = None,
    double_delay: float = 0.2,
    store: str | None = None,
    term_when_running: int = 0,
) -> dict[str, Any]:
    """Runs the scenario (with the real `stages`, or stage doubles; each replica has 4 slots) and returns its
    figures; raises ChaosError when a watch lost or repeated an event, a job did not succeed, or the replica
    outlived its grace period."""
    doubles: subprocess.Popen[bytes] | None = None
    if stages is None:
        doubles, address = start_doubles(tmp, double_delay)
        addresses = dict.fromkeys(("ner", "similarity", "retrieval", "recommendation"), address)
    else:
        addresses = {service: stages.address(service) for service in stages.ports}
    store = store or f"{redis_url(DRAIN_REDIS_DB)}?prefix=drain:{uuid.uuid4().hex[:10]}:"
    ports = [free_port(), free_port()]
    procs = [start_scheduler(tmp, store, port, grace, addresses) for port in ports]
    interruptions = _Interruptions()
    sdk_log = logging.getLogger("skillbridge_client")
    sdk_log.addHandler(interruptions)
    level = sdk_log.level
    sdk_log.setLevel(logging.INFO)
    try:
        for port in ports:
            await until(lambda p=port: _serving(f"127.0.0.1:{p}"), within=60, what=f"scheduler on {port} serving")
        # pick_first over both replicas: every call goes to the first until it goes away, then to the second.
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
        async with AsyncSchedulerClient(target, reconnect_attempts=40) as client:
            texts = [analysis_request().course_recommendation for _ in range(jobs)]
            submitted = [await client.submit_analysis(t.resume_text, t.job_description_text) for t in texts]
            watches = [asyncio.create_task(_follow(client, job.id)) for job in submitted]
            if term_when_running:  # SIGTERM while both replicas' slots are full: the first holds running jobs
                await until(lambda: _running_at_least(client, term_when_running), within=120, what="every slot running")
            else:  # SIGTERM mid-run, once some jobs finished
                await until(lambda: _some_done(watches, max(jobs // 5, 1)), within=300, what="jobs finishing")
            pending_at_term = sum(1 for w in watches if not w.done())
            procs[0].send_signal(signal.SIGTERM)
            termed = time.monotonic()
            await until(lambda: procs[0].poll() is not None, within=grace * 3 + 30, what="the replica exiting")
            drain = time.monotonic() - termed
            histories = await asyncio.wait_for(asyncio.gather(*watches), 300)
        for job_id, events in histories:
            sequences = [e.sequence for e in events]
            if sequences != list(range(1, len(events) + 1)):
                raise ChaosError(f"job {job_id}: the watch saw {sequences}: a gap or a repeat")
            kinds = [e.WhichOneof("kind") for e in events]
            if kinds[-1] != "succeeded" or sum(k in ("succeeded", "failed", "cancelled") for k in kinds) != 1:
                raise ChaosError(f"job {job_id}: {kinds}")
        handed_back = sum(
            1
            for _, events in histories
            if any("shut down" in e.retried.reason for e in events if e.HasField("retried"))
        )
        if drain > grace + 1.0:
            raise ChaosError(f"SIGTERM took {drain:.1f} s, more than the grace period of {grace:g} s")
        return {
            "jobs": jobs,
            "grace_s": grace,
            "sigterm_to_exit_s": round(drain, 2),
            "drained_s": drained_seconds(tmp / f"drain-scheduler-{ports[0]}.log"),
            "exit_status": procs[0].returncode,
            "watches_open_at_sigterm": pending_at_term,
            "watch_reconnects": interruptions.count,
            "handed_back": handed_back,
            "all_succeeded_gap_free": True,
        }
    finally:
        sdk_log.removeHandler(interruptions)
        sdk_log.setLevel(level)
        for proc in procs:
            stop_process(proc)
        if doubles is not None:
            stop_process(doubles)


def drained_seconds(log: Path) -> float:
    """What the replica logged its drain took ("drained in X s"); NaN when it logged none."""
    for line in log.read_text().splitlines():
        if "drained in" in line:
            return float(line.split("drained in", 1)[1].split()[0])
    return float("nan")


async def _serving(address: str) -> bool:
    return await health_status(address, "") == "SERVING"


async def _running_at_least(client: AsyncSchedulerClient, n: int) -> bool:
    return (await client.queue_status()).running >= n


def _some_done(watches: list[asyncio.Task[Any]], n: int) -> bool:
    return sum(1 for w in watches if w.done()) >= n


async def _follow(client: AsyncSchedulerClient, job_id: str) -> tuple[str, list[job_pb2.JobEvent]]:
    events = [u async for u in client.watch(job_id) if isinstance(u, job_pb2.JobEvent)]
    return job_id, events
