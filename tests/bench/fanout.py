"""Status fan-out: many WatchJob streams, from one client process over a few channels, on running ML jobs, and on
no-op jobs (what the scheduler itself adds, with no stage service busy on the same cores).

`jobs` course-recommendation jobs are submitted, then `streams` WatchJob streams are opened on them (spread evenly).
Delivery latency of an event = receipt time - the event's own timestamp (JobEvent.time, set by the scheduler on the
same host). Events written before a stream was open (its replay) are not counted. No-op jobs would end before the
streams are open, so they are submitted with a start a few seconds ahead: their live events are the release, the
start and the success.

    python -m tests.bench.fanout [--streams 1000] [--jobs 50] [--noop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.bench.common import median, percentile, schedulers
from tests.bench.ml_bench import TERMINAL, course_job, ml_stack

TIME_CAP_SECONDS = 90.0
# How far ahead no-op jobs start, at least and per stream to open: every stream is open before they run.
NOOP_LEAD_SECONDS = 2.0
NOOP_LEAD_PER_STREAM_SECONDS = 0.003


async def follow(stub: pb_grpc.JobSchedulerServiceStub, job_id: str, after: int, latencies: list[float]) -> bool:
    """Reads one stream to its terminal event; True when it got there."""
    opened: float | None = None
    async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job_id, after_sequence=after)):
        received = time.time()
        if opened is None:
            opened = received  # the first message (the snapshot) proves the stream is open
        if not update.HasField("event"):
            continue
        stamped = update.event.time.seconds + update.event.time.nanos / 1e9
        if stamped >= opened:
            latencies.append((received - stamped) * 1000)
        if update.event.WhichOneof("kind") in TERMINAL:
            return True
    return False


async def measure(
    address: str, streams: int, jobs: int, channels: int = 8, *, noop: bool = False, prefix: str = "fanout"
) -> dict[str, Any]:
    chans = [grpc.aio.insecure_channel(address) for _ in range(channels)]
    try:
        stubs = [pb_grpc.JobSchedulerServiceStub(c) for c in chans]
        submitted = [(await stubs[0].SubmitJob(noop_job(streams) if noop else course_job(), timeout=10)).job
                     for _ in range(jobs)]  # fmt: skip
        latencies: list[float] = []
        tasks = [
            follow(stubs[i % channels], submitted[i % jobs].id, submitted[i % jobs].last_sequence, latencies)
            for i in range(streams)
        ]
        start = time.perf_counter()
        ended = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIME_CAP_SECONDS)
        seconds = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.close() for c in chans))
    errors = [repr(e) for e in ended if isinstance(e, BaseException)]
    return {
        f"{prefix}_streams": streams,
        f"{prefix}_jobs": jobs,
        f"{prefix}_channels": channels,
        f"{prefix}_streams_completed": sum(1 for e in ended if e is True),
        f"{prefix}_errors": errors[:5],
        f"{prefix}_events_counted": len(latencies),
        f"{prefix}_seconds": seconds,
        f"{prefix}_p50_ms": median(latencies),
        f"{prefix}_p99_ms": percentile(latencies, 0.99),
        f"samples_{prefix}_ms": latencies,
    }


def noop_job(streams: int) -> pb.SubmitJobRequest:
    """A no-op job that starts once `streams` streams had time to open."""
    request = pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_NOOP, noop=job_pb2.NoopInput(payload=b"x" * 1024))
    lead = NOOP_LEAD_SECONDS + NOOP_LEAD_PER_STREAM_SECONDS * streams
    request.delay.FromNanoseconds(int(lead * 1e9))
    return request


def run_noop(streams: int, jobs: int, concurrency: int = 64) -> dict[str, Any]:
    """Fan-out on no-op jobs: one scheduler on a fresh SQLite file, its dispatcher running."""
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{Path(tmp) / 'fanout.db'}"
        with schedulers(store, dispatcher=True, concurrency=concurrency) as addresses:
            figures = asyncio.run(measure(addresses[0], streams, jobs, noop=True, prefix="fanout_noop"))
    return {"system": "skillbridge-fanout", **figures}


def run(streams: int, jobs: int, concurrency: int = 16) -> dict[str, Any]:
    with ml_stack(concurrency) as stack:
        return {"system": "skillbridge-fanout", **asyncio.run(measure(stack.scheduler, streams, jobs))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--noop", action="store_true", help="no-op jobs on a scheduler of its own, no ML stack")
    args = parser.parse_args(argv)
    figures = run_noop(args.streams, args.jobs) if args.noop else run(args.streams, args.jobs)
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith("samples")}, indent=1))


if __name__ == "__main__":
    main()
