"""The course-recommendation job on the embedded default: four stage services and a scheduler, each its own process.

- one full job, warm, p50/p95 over `jobs` sequential jobs (submit until the terminal event);
- per-stage time, from each job's own stage durations (p50 over the same jobs);
- jobs/s sustained with 1, 4 and 16 concurrent submitters, each level bounded in time and in jobs;
- resident memory (VmRSS) of every process after the run;
- the wait estimate: a burst of analyses submitted at once, each one's estimate at submit against its wait.

`--cpu-jobs N` measures only CPU instead (steady on a shared, busy machine where times are not): the CPU
milliseconds each process spends per analysis over N analyses, read from /proc before and after.

Each job's resume gets a unique last line, so no cache answers for the whole job.

    python -m tests.bench.ml_bench [--jobs 20] [--seconds 15]
    python -m tests.bench.ml_bench --cpu-jobs 60 [--cpu-submitters 16]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from tests.bench.common import (
    base_env,
    cpu_seconds,
    free_port,
    median,
    percentile,
    processes,
    rss_mib,
    scheduler_env,
    wait_port,
    wait_schedulers,
)
from tests.eval.dataset import load_split

STAGE_SERVICES = ("ner", "similarity", "retrieval", "recommendation")
EXAMPLES = REPO_ROOT / "data" / "examples"
WARM_UP = 3
TERMINAL = ("succeeded", "failed", "cancelled")
_unique = itertools.count()


@dataclass(frozen=True)
class Stack:
    scheduler: str
    pids: dict[str, int]
    concurrency: int


@contextmanager
def ml_stack(concurrency: int, *, one_process: bool = False) -> Iterator[Stack]:
    """The four stage services (real models) and one scheduler with its dispatcher on a fresh SQLite file.
    The stage services run as four processes, or as one (`python -m services.stack`, one embedding model)."""
    ports = {name: free_port() for name in STAGE_SERVICES}
    addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    env = {
        **{f"SKILLBRIDGE_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **{f"SKILLBRIDGE_{name.upper()}_METRICS_PORT": str(free_port()) for name in ports},
        "SKILLBRIDGE_LOG_LEVEL": "WARNING",
    }
    services = (
        [([sys.executable, "-m", "services.stack"], base_env(**env))]
        if one_process
        else [([sys.executable, "-m", f"services.{name}"], base_env(**env)) for name in ports]
    )
    with tempfile.TemporaryDirectory() as tmp, processes(services) as procs:
        for i, port in enumerate(ports.values()):
            wait_port(port, procs[0 if one_process else i])
        port = free_port()
        env = scheduler_env(
            f"sqlite:///{Path(tmp) / 'ml.db'}",
            port,
            dispatcher=True,
            concurrency=concurrency,
            stage_addresses=addresses,
        )
        with processes([([sys.executable, "-m", "services.scheduler"], env)]) as (scheduler,):
            address = f"127.0.0.1:{port}"
            asyncio.run(wait_schedulers([address], [scheduler]))
            pids = (
                {"stages": procs[0].pid}
                if one_process
                else {name: p.pid for name, p in zip(STAGE_SERVICES, procs, strict=True)}
            )
            yield Stack(scheduler=address, pids={**pids, "scheduler": scheduler.pid}, concurrency=concurrency)


def course_job(resume: str | None = None) -> pb.SubmitJobRequest:
    """The example analysis (or `resume` against the example job ad), its resume made unique by a last line."""
    resume = (EXAMPLES / "resume.txt").read_text() if resume is None else resume
    return pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
        course_recommendation=job_pb2.CourseRecommendationInput(
            resume_text=f"{resume}\nReference {next(_unique)}.",
            job_description_text=(EXAMPLES / "job_description.txt").read_text(),
            threshold=0.5,
        ),
    )


async def run_one(stub: pb_grpc.JobSchedulerServiceStub, resume: str | None = None) -> tuple[float, job_pb2.Job]:
    """Submits one job and follows it to its end; returns seconds taken and the finished job."""
    start = time.perf_counter()
    job = (await stub.SubmitJob(course_job(resume), timeout=10)).job
    kind = ""
    async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job.id, after_sequence=job.last_sequence), timeout=60):
        if update.HasField("event") and (kind := update.event.WhichOneof("kind") or "") in TERMINAL:
            break
    elapsed = time.perf_counter() - start
    if kind != "succeeded":
        raise RuntimeError(f"job {job.id} ended {kind or 'without a terminal event'}")
    return elapsed, (await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=10)).job


async def latency(stub: pb_grpc.JobSchedulerServiceStub, jobs: int, cap: float) -> dict[str, Any]:
    for _ in range(WARM_UP):
        await run_one(stub)
    samples: list[float] = []
    stages: dict[str, list[float]] = {}
    deadline = time.monotonic() + cap
    for _ in range(jobs):
        seconds, job = await run_one(stub)
        samples.append(seconds * 1000)
        for stage in job.stages:
            name = job_pb2.Stage.Name(stage.stage).removeprefix("STAGE_").lower()
            stages.setdefault(name, []).append(stage.duration.ToTimedelta().total_seconds() * 1000)
        if time.monotonic() > deadline:
            break
    return {
        "ml_job_p50_ms": median(samples),
        "ml_job_p95_ms": percentile(samples, 0.95),
        "samples_ml_job_ms": samples,
        **{f"stage_{name}_p50_ms": median(values) for name, values in stages.items()},
        "samples_stage_ms": stages,
    }


async def new_resumes(stub: pb_grpc.JobSchedulerServiceStub, jobs: int) -> dict[str, Any]:
    """One analysis at a time, each of a resume no earlier job had (the evaluation's dev resumes, against the
    example job ad). The example resume's repeats above differ only in their last line, so the similarity
    service has the vectors of its sentences cached after the first job; a new user's resume has none."""
    samples, similarity = [], []
    for pair in load_split("dev")[:jobs]:
        seconds, job = await run_one(stub, pair.resume)
        samples.append(seconds * 1000)
        similarity.extend(
            s.duration.ToTimedelta().total_seconds() * 1000
            for s in job.stages
            if s.stage == job_pb2.STAGE_SIMILARITY_ANALYSIS
        )
    return {
        "ml_new_resume_p50_ms": median(samples),
        "stage_similarity_analysis_new_resume_p50_ms": median(similarity),
        "samples_ml_new_resume_ms": samples,
    }


async def sustained(stub: pb_grpc.JobSchedulerServiceStub, submitters: int, seconds: float, max_jobs: int) -> float:
    """Jobs finished per second while `submitters` clients each run jobs back to back."""
    done = 0
    deadline = time.monotonic() + seconds

    async def submitter() -> None:
        nonlocal done
        while time.monotonic() < deadline and done < max_jobs:
            await run_one(stub)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    return done / (time.perf_counter() - start)


async def measure(stack: Stack, jobs: int, seconds: float, levels: tuple[int, ...]) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(stack.scheduler) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        figures = await latency(stub, jobs, cap=seconds * 4)
        figures.update(await new_resumes(stub, jobs))
        for submitters in levels:
            rate = await sustained(stub, submitters, seconds, max_jobs=max(jobs, int(seconds * 40)))
            figures[f"ml_jobs_per_s_{submitters}_submitters"] = rate
    figures.update({f"rss_mib_{name}": rss_mib(pid) for name, pid in stack.pids.items()})
    return figures


async def cpu_per_job(stack: Stack, jobs: int, submitters: int) -> dict[str, float]:
    """CPU milliseconds per analysis of each process (and their total) over `jobs` analyses run by `submitters`
    clients at once, after the warm-up; this client's own CPU is left out."""
    async with grpc.aio.insecure_channel(stack.scheduler) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        for _ in range(WARM_UP):
            await run_one(stub)
        left = jobs

        async def submitter() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await run_one(stub)

        before = {name: cpu_seconds(pid) for name, pid in stack.pids.items()}
        await asyncio.gather(*(submitter() for _ in range(submitters)))
        after = {name: cpu_seconds(pid) for name, pid in stack.pids.items()}
    spent = {f"cpu_ms_per_job_{name}": (after[name] - before[name]) * 1000 / jobs for name in before}
    return {**spent, "cpu_ms_per_job_total": sum(spent.values())}


# Analyses submitted at once to measure the wait estimate against the wait that followed.
BURST = 100
# Jobs that started within this many seconds of their submit did not wait: their relative error says nothing.
MIN_WAIT_SECONDS = 0.25


def estimate_errors(estimates: dict[str, float], waits: dict[str, float]) -> dict[str, Any]:
    """How far each job's estimate at submit was from the wait that followed. The headline is the median of
    |estimate - wait| / wait over the jobs that waited at least MIN_WAIT_SECONDS. Beside it, over every job:
    the same error with the wait floored at MIN_WAIT_SECONDS (so a job that started at once but was told to
    wait counts too), and the absolute error in seconds."""
    waited = [abs(estimates[i] - w) / w for i, w in waits.items() if w >= MIN_WAIT_SECONDS]
    floored = [abs(estimates[i] - w) / max(w, MIN_WAIT_SECONDS) for i, w in waits.items()]
    seconds = [abs(estimates[i] - w) for i, w in waits.items()]
    return {
        "estimate_median_abs_error_pct": median(waited) * 100 if waited else float("nan"),
        "estimate_p90_abs_error_pct": percentile(waited, 0.9) * 100 if waited else float("nan"),
        "estimate_jobs_that_waited": len(waited),
        "estimate_all_jobs_median_abs_error_pct": median(floored) * 100 if floored else float("nan"),
        "estimate_median_abs_error_s": median(seconds) if seconds else float("nan"),
        "samples_estimate_error_pct": [e * 100 for e in waited],
    }


async def measure_estimates(stack: Stack, burst: int) -> dict[str, Any]:
    """Submits `burst` analyses back to back, keeps each one's estimated wait from its submit answer (the first
    estimate a caller sees; watchers get fresh ones as the queue moves), and once all ended compares it with the
    wait measured by the scheduler (start_time - create_time): see estimate_errors."""
    async with grpc.aio.insecure_channel(stack.scheduler) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        submitted = [(await stub.SubmitJob(course_job(), timeout=10)).job for _ in range(burst)]
        estimates = {j.id: j.estimated_wait.ToTimedelta().total_seconds() for j in submitted}
        waits: dict[str, float] = {}
        for job in submitted:
            async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job.id, after_sequence=job.last_sequence)):
                if update.HasField("event") and update.event.WhichOneof("kind") in TERMINAL:
                    break
            done = (await stub.GetJob(pb.GetJobRequest(job_id=job.id), timeout=10)).job
            created = done.create_time.ToNanoseconds() / 1e9
            started = done.start_time.ToNanoseconds() / 1e9 if done.HasField("start_time") else created
            waits[job.id] = started - created
    last = submitted[-1].id
    return {
        **estimate_errors(estimates, waits),
        "estimate_last_job_estimated_s": estimates[last],
        "estimate_last_job_waited_s": waits[last],
    }


# What the scheduler has measured when the burst comes: "full" runs every phase above first (its slot time
# under load is known), "sequential" only the one-at-a-time jobs (what a job takes alone), "none" nothing.
WARMUPS = ("full", "sequential", "none")


async def measure_estimates_after(stack: Stack, jobs: int, warmup: str) -> dict[str, Any]:
    if warmup == "sequential":
        async with grpc.aio.insecure_channel(stack.scheduler) as channel:
            await latency(pb_grpc.JobSchedulerServiceStub(channel), jobs, cap=60.0)
    return await measure_estimates(stack, BURST)


def run(jobs: int, seconds: float, levels: tuple[int, ...] = (1, 4, 16), concurrency: int = 16) -> dict[str, Any]:
    with ml_stack(concurrency) as stack:
        figures = asyncio.run(measure(stack, jobs, seconds, levels))
        figures.update(asyncio.run(measure_estimates(stack, BURST)))
    return {"system": "skillbridge-ml", "dispatcher_concurrency": concurrency, **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--estimate-only",
        choices=WARMUPS[1:],
        help="only the wait-estimate burst, on a fresh stack after this warm-up (the full run measures it last)",
    )
    parser.add_argument("--cpu-jobs", type=int, help="only CPU ms per analysis of each process, over this many")
    parser.add_argument("--cpu-submitters", type=int, default=1, help="clients running --cpu-jobs at once")
    args = parser.parse_args(argv)
    figures: dict[str, Any]
    if args.cpu_jobs:
        with ml_stack(16) as stack:
            spent = asyncio.run(cpu_per_job(stack, args.cpu_jobs, args.cpu_submitters))
        figures = {"system": "skillbridge-ml", "cpu_submitters": args.cpu_submitters, **spent}
    elif args.estimate_only:
        with ml_stack(16) as stack:
            figures = asyncio.run(measure_estimates_after(stack, args.jobs, args.estimate_only))
        figures = {"system": "skillbridge-ml", "estimate_warmup": args.estimate_only, **figures}
    else:
        figures = run(args.jobs, args.seconds)
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith("samples")}, indent=1))


if __name__ == "__main__":
    main()
