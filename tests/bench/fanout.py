"""Status fan-out: many WatchJob streams, from one client process over a few channels, on running ML jobs.

`jobs` course-recommendation jobs are submitted, then `streams` WatchJob streams are opened on them (spread evenly).
Delivery latency of an event = receipt time - the event's own timestamp (JobEvent.time, set by the scheduler on the
same host). Events written before a stream was open (its replay) are not counted.

    python -m tests.bench.fanout [--streams 1000] [--jobs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.bench.common import median, percentile
from tests.bench.ml_bench import TERMINAL, course_job, ml_stack

TIME_CAP_SECONDS = 90.0


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


async def measure(address: str, streams: int, jobs: int, channels: int = 8) -> dict[str, Any]:
    chans = [grpc.aio.insecure_channel(address) for _ in range(channels)]
    try:
        stubs = [pb_grpc.JobSchedulerServiceStub(c) for c in chans]
        submitted = [(await stubs[0].SubmitJob(course_job(), timeout=10)).job for _ in range(jobs)]
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
        "fanout_streams": streams,
        "fanout_jobs": jobs,
        "fanout_channels": channels,
        "fanout_streams_completed": sum(1 for e in ended if e is True),
        "fanout_errors": errors[:5],
        "fanout_events_counted": len(latencies),
        "fanout_seconds": seconds,
        "fanout_p50_ms": median(latencies),
        "fanout_p99_ms": percentile(latencies, 0.99),
        "samples_fanout_ms": latencies,
    }


def run(streams: int, jobs: int, concurrency: int = 16) -> dict[str, Any]:
    with ml_stack(concurrency) as stack:
        return {"system": "skillbridge-fanout", **asyncio.run(measure(stack.scheduler, streams, jobs))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args(argv)
    figures = run(args.streams, args.jobs)
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith("samples")}, indent=1))


if __name__ == "__main__":
    main()
