"""Queue benchmark of SkillBridge's `noop` job through gRPC, the same four figures the anchor queues get.

(a) enqueue rate: one client, `size` SubmitJob calls one at a time (1 KB payload), no dispatcher running;
(d) bytes per queued job from the same jobs: database file growth (SQLite) or `used_memory` delta (Redis);
(b) drain rate: dispatchers start on the full queue; measured from outside, from the first completed job seen;
(c) submit -> result p50/p99: jobs one at a time, submit then WatchJob until the terminal event, warm worker.

    python -m tests.bench.queue_bench [--store sqlite|redis] [--size 2000] [--roundtrips 300] [--replicas 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.bench.common import (
    SKILLBRIDGE_DB,
    median,
    percentile,
    redis_store_available,
    redis_url,
    schedulers,
    wait_ready,
)

PAYLOAD = b"x" * 1024
TIME_CAP_SECONDS = 60.0
WARM_UP = 10
SUCCEEDED = job_pb2.JobState.Name(job_pb2.JOB_STATE_SUCCEEDED)


# Jobs per SubmitJobs call in the batch-enqueue measurement.
BATCH = 500


def noop() -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_NOOP, noop=job_pb2.NoopInput(payload=PAYLOAD))


def db_bytes(db: Path) -> int:
    """Size of the database once its write-ahead log is folded in (the WAL's size is a cache, not data)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


class RedisMemory:
    """`used_memory` of the Redis server; our keys live under a prefix of their own and are deleted after."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}:"

    def used(self) -> int:
        return int(self._client.info("memory")["used_memory"])

    def release(self) -> None:
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=f"{self.prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)
        self._client.close()


async def measure_enqueue(address: str, size: int, used_bytes: Any) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        await stub.SubmitJob(noop())  # warm-up: first-call costs are not the queue's
        before = used_bytes()
        latencies: list[float] = []
        cap = time.monotonic() + TIME_CAP_SECONDS
        start = time.perf_counter()
        for _ in range(size):
            t = time.perf_counter()
            await stub.SubmitJob(noop())
            latencies.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
        elapsed = time.perf_counter() - start
    n = len(latencies)
    return {
        "enqueue_jobs_per_s": n / elapsed,
        "submit_p50_ms": median(latencies),
        "submit_p99_ms": percentile(latencies, 0.99),
        "bytes_per_job": (used_bytes() - before) / n,
        "enqueued": n + 1,
        "samples_submit_ms": latencies,
    }


async def measure_batch_enqueue(address: str, size: int, batch: int = BATCH) -> dict[str, Any]:
    """One client, SubmitJobs calls of `batch` jobs one after another, no dispatcher running."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        await stub.SubmitJobs(pb.SubmitJobsRequest(requests=[noop()]))  # warm-up
        request = pb.SubmitJobsRequest(requests=[noop() for _ in range(batch)])
        done = 0
        cap = time.monotonic() + TIME_CAP_SECONDS
        start = time.perf_counter()
        while done < size and time.monotonic() < cap:
            done += len((await stub.SubmitJobs(request, timeout=60)).responses)
        elapsed = time.perf_counter() - start
    return {"batch_enqueue_jobs_per_s": done / elapsed, "batch_size": batch}


async def succeeded(stub: pb_grpc.JobSchedulerServiceStub) -> int:
    status = await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=5)
    return int(status.jobs_by_state.get(SUCCEEDED, 0))


async def measure_drain(address: str, expected: int, poll: float = 0.02) -> dict[str, Any]:
    """Watches the count of succeeded jobs from outside, from the moment the scheduler process starts: the rate
    runs from the first time it is seen above zero to the time it reaches `expected` (or the time cap)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        cap = time.monotonic() + TIME_CAP_SECONDS
        first: tuple[float, int] | None = None
        last = (time.perf_counter(), 0)
        while time.monotonic() < cap:
            try:
                done = await succeeded(stub)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:
                    raise
                await asyncio.sleep(poll)  # still starting
                continue
            now = time.perf_counter()
            if done and first is None:
                first = (now, done)
            last = (now, done)
            if done >= expected:
                break
            await asyncio.sleep(poll)
    figures = {"drained": last[1], "expected": expected, "drain_method": "outside"}
    if first is None or last[0] <= first[0]:
        return {**figures, "drain_jobs_per_s": float("nan"), "drain_seconds": 0.0}
    seconds = last[0] - first[0]
    return {**figures, "drain_jobs_per_s": (last[1] - first[1]) / seconds, "drain_seconds": seconds}


def drain_window(db: Path) -> tuple[int, float]:
    """Jobs succeeded, and seconds from the first start to the last end, as the SQLite store recorded them."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT COUNT(*), MIN(json_extract(body, '$.start_time')), MAX(end_time)"
            " FROM jobs WHERE state = 'SUCCEEDED'"
        ).fetchone()
    return int(row[0]), float(row[2] - row[1]) if row[0] else 0.0


async def measure_roundtrip(address: str, count: int) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        samples: list[float] = []
        cap = time.monotonic() + TIME_CAP_SECONDS
        for i in range(count + WARM_UP):
            t = time.perf_counter()
            job = (await stub.SubmitJob(noop())).job
            request = pb.WatchJobRequest(job_id=job.id, after_sequence=job.last_sequence)
            async for update in stub.WatchJob(request, timeout=30):
                if update.HasField("event") and update.event.WhichOneof("kind") in ("succeeded", "failed"):
                    break
            if i >= WARM_UP:  # the first ones warm the path up
                samples.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
        one_call: list[float] = []
        for i in range(count + WARM_UP):
            t = time.perf_counter()
            async for update in stub.SubmitAndWatchJob(pb.SubmitAndWatchJobRequest(job=noop()), timeout=30):
                if update.HasField("event") and update.event.WhichOneof("kind") in ("succeeded", "failed"):
                    break
            if i >= WARM_UP:
                one_call.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
    return {
        "roundtrip_p50_ms": median(samples),
        "roundtrip_p99_ms": percentile(samples, 0.99),
        "samples_roundtrip_ms": samples,
        "roundtrip_one_call_p50_ms": median(one_call),
        "roundtrip_one_call_p99_ms": percentile(one_call, 0.99),
        "samples_roundtrip_one_call_ms": one_call,
    }


def run(
    store: str = "sqlite", *, size: int, roundtrips: int, replicas: int = 1, concurrency: int = 64
) -> dict[str, Any]:
    """The four figures for one store; `replicas` scheduler processes (each with a dispatcher) drain."""
    figures: dict[str, Any] = {"system": f"skillbridge-{store}", "job": "noop", "replicas": replicas}
    figures["concurrency"] = concurrency
    with tempfile.TemporaryDirectory() as tmp:
        if store == "sqlite":
            db = Path(tmp) / "bench.db"
            url, memory, batch_memory = f"sqlite:///{db}", None, None
            batch_url = f"sqlite:///{Path(tmp) / 'batch.db'}"
            used_bytes: Any = lambda: db_bytes(db)  # noqa: E731 - a probe, named where it is chosen
        elif store == "redis":
            if not redis_store_available():
                return {**figures, "available": False, "why": "services/scheduler/store/redis.py does not exist"}
            memory = RedisMemory(redis_url(SKILLBRIDGE_DB))
            url, used_bytes = f"{redis_url(SKILLBRIDGE_DB)}?prefix={memory.prefix}", memory.used
            batch_memory = RedisMemory(redis_url(SKILLBRIDGE_DB))  # its own prefix: the batches' queue
            batch_url = f"{redis_url(SKILLBRIDGE_DB)}?prefix={batch_memory.prefix}"
        else:
            raise ValueError(f"unknown store {store!r}")
        try:
            with schedulers(url, dispatcher=False, concurrency=concurrency) as addresses:
                enqueue = asyncio.run(measure_enqueue(addresses[0], size, used_bytes))
            with schedulers(batch_url, dispatcher=False, concurrency=concurrency) as addresses:
                enqueue.update(asyncio.run(measure_batch_enqueue(addresses[0], size)))
            with schedulers(url, replicas=replicas, dispatcher=True, concurrency=concurrency, ready=False) as addresses:
                drain = asyncio.run(measure_drain(addresses[0], enqueue["enqueued"]))
                roundtrip = asyncio.run(measure_roundtrip(addresses[0], roundtrips))
            if drain["drain_jobs_per_s"] != drain["drain_jobs_per_s"] and store == "sqlite":
                # Drained before the first look from outside (tiny sizes): the store's own start/end times.
                done, seconds = drain_window(db)
                rate = done / seconds if seconds else float("nan")
                drain.update(drain_jobs_per_s=rate, drain_seconds=seconds, drain_method="store times")
        finally:
            for held in (memory, batch_memory):
                if held is not None:
                    held.release()
    return {**figures, "available": True, **enqueue, **drain, **roundtrip}


def report(f: dict[str, Any]) -> str:
    if not f.get("available", True):
        return f"{f['system']}: not available ({f['why']})"
    return "\n".join(
        [
            f"{f['system']} noop queue, {f['replicas']} replica(s), {f['enqueued']} jobs",
            f"  enqueue {f['enqueue_jobs_per_s']:.0f} jobs/s (submit p50 {f['submit_p50_ms']:.2f} ms,"
            f" p99 {f['submit_p99_ms']:.2f} ms)",
            f"  drain {f['drain_jobs_per_s']:.0f} jobs/s ({f['drained']} of {f['expected']} seen done)",
            f"  batch enqueue {f['batch_enqueue_jobs_per_s']:.0f} jobs/s ({f['batch_size']} per SubmitJobs call)",
            f"  submit->result p50 {f['roundtrip_p50_ms']:.2f} ms, p99 {f['roundtrip_p99_ms']:.2f} ms",
            f"  SubmitAndWatchJob p50 {f['roundtrip_one_call_p50_ms']:.2f} ms,"
            f" p99 {f['roundtrip_one_call_p99_ms']:.2f} ms",
            f"  {f['bytes_per_job']:.0f} bytes per queued job (1 KB payload)",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--roundtrips", type=int, default=300)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = run(args.store, size=args.size, roundtrips=args.roundtrips, replicas=args.replicas)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
        print(f"raw samples: {args.json}")


if __name__ == "__main__":
    main()
