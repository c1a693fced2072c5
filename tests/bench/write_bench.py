"""Bytes the embedded store writes per analysis with large texts, against the size of the texts.

A job's input is immutable, so ideally it is written once; every state change, event and the result add to that.
This runs real analyses of `text_kib` KiB of text each (resume and job ad, half each: real prose, the evaluation's dev
resumes and job ads strung together from a different start for each job, so no two inputs are alike and they compress
as prose does) on the SQLite default and counts what reached the storage layer: the scheduler process's `write_bytes`
(Linux /proc/<pid>/io: the database and its write-ahead log, nothing sent over sockets or pipes), plus the final
checkpoint that copies what the log still holds into the database file, run from here at the end.

An idle scheduler writes too (its dispatcher's heartbeat), by the second rather than by the job: that rate is measured
for a few seconds before the jobs and reported, and the net figure takes it out.

    python -m tests.bench.write_bench [--jobs 10] [--text-kib 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.bench.ml_bench import TERMINAL, Stack, ml_stack
from tests.eval.dataset import load_split

JOBS = 10
TEXT_KIB = 50
IDLE_SECONDS = 5.0


def written_bytes(pid: int | str) -> int:
    """Bytes the process has caused to be sent to the storage layer so far."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, number = line.partition(":")
        if key == "write_bytes":
            return int(number)
    raise RuntimeError(f"/proc/{pid}/io has no write_bytes")


def database_of(pid: int) -> Path:
    """The SQLite file the scheduler has open (found among its file descriptors)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = Path(os.readlink(fd))
        if target.suffix == ".db":
            return target
    raise RuntimeError(f"process {pid} has no .db file open")


def prose(kind: str) -> list[str]:
    """The dev split's resumes or job ads ("resume" or "job_description"), in the evaluation's order."""
    return [getattr(pair, kind) for pair in load_split("dev")]


def sized_text(texts: list[str], size: int, start: int, tag: str) -> str:
    """Texts strung together from `start` on, cut to `size` bytes (UTF-8), ending with a line that makes it unique."""
    tail = f"\nReference {tag}."
    parts, total, i = [], len(tail.encode()), start
    while total < size:
        parts.append(texts[i % len(texts)])
        total += len(parts[-1].encode()) + 2
        i += 1
    return "\n\n".join(parts).encode()[: size - len(tail.encode())].decode(errors="ignore") + tail


def large_job(index: int, text_bytes: int, resumes: list[str], ads: list[str]) -> pb.SubmitJobRequest:
    half = text_bytes // 2
    return pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
        course_recommendation=job_pb2.CourseRecommendationInput(
            resume_text=sized_text(resumes, half, index, f"large-{index}"),
            job_description_text=sized_text(ads, text_bytes - half, index * 7, f"ad-{index}"),
        ),
    )


async def measure(stack: Stack, jobs: int, text_bytes: int) -> dict[str, Any]:
    pid = stack.pids["scheduler"]
    resumes, ads = prose("resume"), prose("job_description")
    requests = [large_job(i, text_bytes, resumes, ads) for i in range(jobs)]
    input_bytes = sum(
        len(r.course_recommendation.resume_text.encode()) + len(r.course_recommendation.job_description_text.encode())
        for r in requests
    )
    idle_from = written_bytes(pid)
    await asyncio.sleep(IDLE_SECONDS)  # a measuring interval, not a wait for anything
    idle_rate = (written_bytes(pid) - idle_from) / IDLE_SECONDS
    before, started = written_bytes(pid), time.monotonic()
    async with grpc.aio.insecure_channel(stack.scheduler, options=[("grpc.max_send_message_length", -1)]) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        submitted = [(await stub.SubmitJob(r, timeout=30)).job for r in requests]
        for job in submitted:
            kind = ""
            async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job.id, after_sequence=job.last_sequence)):
                if update.HasField("event") and (kind := update.event.WhichOneof("kind") or "") in TERMINAL:
                    break
            if kind != "succeeded":
                done = (await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=10)).job
                raise RuntimeError(f"job {job.id} ended {kind or 'without a terminal event'}: {done.error}")
    scheduler_wrote, seconds = written_bytes(pid) - before, time.monotonic() - started
    # What the write-ahead log still holds reaches the database file at the next checkpoint: count it too.
    mine = written_bytes("self")
    with sqlite3.connect(database_of(pid), timeout=30) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint_wrote = written_bytes("self") - mine
    total = scheduler_wrote + checkpoint_wrote
    net = max(total - idle_rate * seconds, 0.0)
    return {
        "write_jobs": jobs,
        "write_seconds": seconds,
        "write_input_bytes_per_job": input_bytes / jobs,
        "write_bytes_per_job": total / jobs,
        "write_bytes_per_input_byte": total / input_bytes,
        "write_idle_bytes_per_s": idle_rate,
        "write_net_bytes_per_input_byte": net / input_bytes,
        "write_final_checkpoint_bytes": checkpoint_wrote,
    }


def run(jobs: int = JOBS, text_kib: int = TEXT_KIB) -> dict[str, Any]:
    with ml_stack(2) as stack:
        return {"system": "skillbridge-ml", **asyncio.run(measure(stack, jobs, text_kib * 1024))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--text-kib", type=int, default=TEXT_KIB)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.jobs, args.text_kib), indent=1))


if __name__ == "__main__":
    main()
