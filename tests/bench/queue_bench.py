"""Queue benchmark of the `noop` job on the embedded SQLite store, one scheduler process with its dispatcher.

Prints, and writes as JSON with the raw samples: submit latency p50/p99, jobs/s drained, submit->result p50/p99,
and bytes on disk per queued job (1 KB payload). Every loop is bounded in count and in time.

    python -m tests.bench.queue_bench [--jobs 5000] [--roundtrips 300] [--json bench-results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT

PAYLOAD = b"x" * 1024
TIME_CAP_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@contextmanager
def scheduler_process(db: Path, port: int, *, dispatcher: bool, concurrency: int) -> Iterator[str]:
    env = dict(os.environ)
    env.update(
        SKILLBRIDGE_STORE=f"sqlite:///{db}",
        SKILLBRIDGE_SCHEDULER_PORT=str(port),
        SKILLBRIDGE_RUN_DISPATCHER="1" if dispatcher else "0",
        SKILLBRIDGE_CONCURRENCY=str(concurrency),
        SKILLBRIDGE_MAX_QUEUE_DEPTH="1000000",
        SKILLBRIDGE_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen([sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=env)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_ready(stub: pb_grpc.JobSchedulerServiceStub) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=1)
            return
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def noop() -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_NOOP, noop=job_pb2.NoopInput(payload=PAYLOAD))


def db_bytes(db: Path) -> int:
    """Size of the database once its write-ahead log is folded in (the WAL's size is a cache, not data)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def drain_window(db: Path) -> tuple[int, float]:
    """Jobs succeeded, and seconds from the first start to the last end, as the store recorded them."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT COUNT(*), MIN(json_extract(body, '$.start_time')), MAX(end_time)"
            " FROM jobs WHERE state = 'SUCCEEDED'"
        ).fetchone()
    return int(row[0]), float(row[2] - row[1]) if row[0] else 0.0


async def measure_submit(address: str, jobs: int, db: Path) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        await stub.SubmitJob(noop())  # warm-up: first-call costs are not the queue's
        before = db_bytes(db)
        latencies: list[float] = []
        cap = time.monotonic() + TIME_CAP_SECONDS
        start = time.perf_counter()
        for _ in range(jobs):
            t = time.perf_counter()
            await stub.SubmitJob(noop())
            latencies.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
        elapsed = time.perf_counter() - start
    n = len(latencies)
    return {
        "submit_p50_ms": statistics.median(latencies),
        "submit_p99_ms": percentile(latencies, 0.99),
        "submit_jobs_per_s": n / elapsed,
        "bytes_per_queued_job": (db_bytes(db) - before) / n,
        "submitted": n + 1,
        "samples_submit_ms": latencies,
    }


async def measure_drain(address: str, db: Path, expected: int) -> dict[str, Any]:
    """The dispatcher starts draining as soon as its process is up; the rate comes from the jobs' own start and
    end times, so process start-up and this client's polling do not count."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        cap = time.monotonic() + TIME_CAP_SECONDS
        while time.monotonic() < cap:
            status = await stub.GetQueueStatus(pb.GetQueueStatusRequest())
            if status.queued == 0 and status.running == 0:
                break
            await asyncio.sleep(0.05)
    done, seconds = drain_window(db)
    return {
        "drain_jobs_per_s": done / seconds if seconds else 0.0,
        "drained": done,
        "drain_seconds": seconds,
        "expected": expected,
    }


async def measure_roundtrip(address: str, count: int) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        await wait_ready(stub)
        samples: list[float] = []
        cap = time.monotonic() + TIME_CAP_SECONDS
        for i in range(count + 10):
            t = time.perf_counter()
            job = (await stub.SubmitJob(noop())).job
            async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job.id, after_sequence=job.last_sequence)):
                if update.HasField("event") and update.event.WhichOneof("kind") in ("succeeded", "failed"):
                    break
            if i >= 10:  # the first ten warm the path up
                samples.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
    return {
        "roundtrip_p50_ms": statistics.median(samples),
        "roundtrip_p99_ms": percentile(samples, 0.99),
        "samples_roundtrip_ms": samples,
    }


def run(jobs: int, roundtrips: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        with scheduler_process(db, port, dispatcher=False, concurrency=concurrency) as address:
            submit = asyncio.run(measure_submit(address, jobs, db))
        with scheduler_process(db, port, dispatcher=True, concurrency=concurrency) as address:
            drain = asyncio.run(measure_drain(address, db, submit["submitted"]))
            roundtrip = asyncio.run(measure_roundtrip(address, roundtrips))
    return {"store": "sqlite", "job": "noop", "concurrency": concurrency, **submit, **drain, **roundtrip}


def report(figures: dict[str, Any]) -> str:
    rows = [
        (
            "submit latency p50 / p99",
            f"{figures['submit_p50_ms']:.2f} / {figures['submit_p99_ms']:.2f} ms",
            "p50 <= 2 ms",
        ),
        ("enqueue rate (one client)", f"{figures['submit_jobs_per_s']:.0f} jobs/s", ""),
        ("drain (one dispatcher process)", f"{figures['drain_jobs_per_s']:.0f} jobs/s", ">= 2,000 jobs/s"),
        (
            "submit -> result p50 / p99",
            f"{figures['roundtrip_p50_ms']:.2f} / {figures['roundtrip_p99_ms']:.2f} ms",
            "p50 <= 2 ms, p99 <= 8 ms",
        ),
        ("bytes on disk per queued job (1 KB payload)", f"{figures['bytes_per_queued_job']:.0f} B", ""),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"SkillBridge noop queue on SQLite ({figures['submitted']} jobs)"]
    lines += [f"  {name:<{width}}  {value:>22}   {target}" for name, value, target in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--roundtrips", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench-results.json")
    args = parser.parse_args(argv)
    figures = run(args.jobs, args.roundtrips, args.concurrency)
    print(report(figures))
    args.json.write_text(json.dumps(figures, indent=1))
    print(f"raw samples: {args.json}")


if __name__ == "__main__":
    main()
