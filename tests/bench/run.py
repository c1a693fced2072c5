"""`make bench`: SkillBridge side by side with Celery, RQ, arq, Dramatiq and saq, the raw ceilings, the ML pipeline
and status fan-out, all in one run on the local Redis. Prints a table, writes the JSON (one record per figure with
its raw samples) and rewrites docs/benchmarks.md.

    python -m tests.bench.run [--out bench-results.json] [--size 10000] [--repeat 1] [--skip-anchors]
    python -m tests.bench.run --only skillbridge-sqlite,ceilings --out /tmp/sqlite.json   # some sections only

Systems are interleaved inside each repeat; each figure is the median over repeats.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from services.common.settings import REPO_ROOT
from tests.bench import anchors_venv, ceilings, fanout, ml_bench, queue_bench, report, write_bench
from tests.bench.common import ANCHOR_DB, percentile, redis_available, redis_url

UNITS = {"_per_s": "/s", "_ms": "ms", "bytes_per_job": "B", "rss_mib": "MiB"}
QUEUE_KEYS = (
    "enqueue_jobs_per_s",
    "submit_p50_ms",
    "submit_p99_ms",
    "batch_enqueue_jobs_per_s",
    "drain_jobs_per_s",
    "roundtrip_p50_ms",
    "roundtrip_p99_ms",
    "roundtrip_one_call_p50_ms",
    "roundtrip_one_call_p99_ms",
    "bytes_per_job",
)
SAMPLES = {
    "enqueue_jobs_per_s": ("samples_enqueue_ms", "samples_submit_ms"),
    "submit_p50_ms": ("samples_submit_ms", "samples_enqueue_ms"),
    "submit_p99_ms": ("samples_submit_ms", "samples_enqueue_ms"),
    "roundtrip_p50_ms": ("samples_roundtrip_ms",),
    "roundtrip_p99_ms": ("samples_roundtrip_ms",),
    "roundtrip_one_call_p50_ms": ("samples_roundtrip_one_call_ms",),
    "roundtrip_one_call_p99_ms": ("samples_roundtrip_one_call_ms",),
    "ml_job_p50_ms": ("samples_ml_job_ms",),
    "ml_job_p95_ms": ("samples_ml_job_ms",),
    "ml_new_resume_p50_ms": ("samples_ml_new_resume_ms",),
    "fanout_p50_ms": ("samples_fanout_ms",),
    "fanout_p99_ms": ("samples_fanout_ms",),
    "fanout_noop_p50_ms": ("samples_fanout_noop_ms",),
    "fanout_noop_p99_ms": ("samples_fanout_noop_ms",),
    "grpc_unary_p50_ms": ("samples_grpc_unary_ms",),
}


# What --only can name: the anchor queues, SkillBridge's queue on each store, fan-out on no-op jobs, the raw
# ceilings and the ML pipeline.
SECTIONS = ("anchors", "skillbridge-sqlite", "skillbridge-redis", "fanout-noop", "ceilings", "ml")


def unit(figure: str) -> str:
    return next((u for suffix, u in UNITS.items() if suffix in figure), "")


def numeric(figures: dict[str, Any]) -> dict[str, float]:
    skip = ("enqueued", "expected", "drained", "replicas", "concurrency", "misses")
    return {
        k: float(v)
        for k, v in figures.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and not k.startswith(skip)
    }


class Collector:
    """Gathers each system's figures over the repeats, then folds them into one record per figure."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.labels: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}

    def attempt(self, group: str, system: str, label: str, measure: Callable[[], dict[str, Any]]) -> None:
        started = time.monotonic()
        try:
            figures = measure()
        except Exception as exc:  # one system failing must not lose the others' figures
            figures = {"available": False, "why": f"{type(exc).__name__}: {str(exc)[:300]}"}
        if not figures.get("available", True):
            self.unavailable[label] = str(figures.get("why", "not available"))
            print(f"  {label}: not available ({self.unavailable[label]})", flush=True)
            return
        self.labels[system] = figures.get("label", label)
        self.runs.setdefault((group, system), []).append(figures)
        print(f"  {label}: done in {time.monotonic() - started:.0f} s", flush=True)

    def records(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for (group, system), runs in self.runs.items():
            keys = QUEUE_KEYS if group == "queue" else tuple(numeric(runs[0]))
            for figure in keys:
                values = [float(numeric(r).get(figure, float("nan"))) for r in runs]
                clean = [v for v in values if v == v]
                samples = [r.get(k, []) for r in runs for k in SAMPLES.get(figure, ()) if k in r]
                if figure.startswith("stage_"):
                    stage = figure.removeprefix("stage_").removesuffix("_p50_ms")
                    samples = [r.get("samples_stage_ms", {}).get(stage, []) for r in runs]
                if figure.startswith("submit_p") and not clean:
                    # The anchors report each enqueue call's time as samples: the same figure, computed here.
                    q = 0.5 if figure == "submit_p50_ms" else 0.99
                    clean = [percentile(s, q) for s in samples if s]
                    values = clean
                out.append(
                    {
                        "group": group,
                        "system": system,
                        "label": self.labels.get(system, system),
                        "figure": figure,
                        "unit": unit(figure),
                        "value": statistics.median(clean) if clean else float("nan"),
                        "runs": values,
                        "samples": samples,
                    }
                )
        return out


def versions(with_anchors: bool) -> dict[str, str]:
    import sqlite3

    import redis

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    try:
        found["redis-server"] = str(redis.Redis.from_url(redis_url(ANCHOR_DB)).info("server")["redis_version"])
    except redis.RedisError:
        found["redis-server"] = "unreachable"
    for name in ("grpcio", "protobuf", "uvloop", "redis", "hiredis"):
        found[name] = metadata.version(name)
    if with_anchors:
        found.update({f"{k} (anchors)": v for k, v in anchors_venv.versions().items()})
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench-results.json")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--size", type=int, default=10_000, help="jobs per enqueue/drain measurement")
    parser.add_argument("--roundtrips", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64, help="SkillBridge dispatcher slots for the noop job")
    parser.add_argument("--ml-jobs", type=int, default=20)
    parser.add_argument("--ml-seconds", type=float, default=15.0, help="time per submitter level")
    parser.add_argument("--ml-concurrency", type=int, default=16)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--skip-anchors", action="store_true", help="SkillBridge only (no anchors venv)")
    parser.add_argument("--skip-ml", action="store_true")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=None,
        help=f"comma-separated sections to run ({', '.join(SECTIONS)}); docs/benchmarks.md is then left alone",
    )
    args = parser.parse_args(argv)
    if args.only is not None:
        unknown = args.only - set(SECTIONS)
        if unknown:
            parser.error(f"unknown --only section(s): {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
        args.no_docs = True
    wanted = lambda section: args.only is None or section in args.only  # noqa: E731

    with_anchors = not args.skip_anchors and redis_available() and wanted("anchors")
    if with_anchors:
        print("anchors venv:", anchors_venv.ensure(), flush=True)
    c = Collector()
    if not redis_available():
        c.unavailable["Redis"] = f"nothing listens at {os.environ.get('REDIS_URL', '127.0.0.1:6379')}"
    size, trips = args.size, args.roundtrips
    for r in range(args.repeat):
        print(f"repeat {r + 1}/{args.repeat}", flush=True)
        if with_anchors:
            for lib, variant in anchors_venv.VARIANTS:
                run_one = lambda lib=lib, v=variant: anchors_venv.run_variant(lib, v, redis_url(ANCHOR_DB), size, trips)  # noqa: E731
                c.attempt(
                    "queue", f"{lib}" if variant == "default" else f"{lib}-{variant}", f"{lib} {variant}", run_one
                )
        if wanted("skillbridge-sqlite"):
            c.attempt(
                "queue", "skillbridge-sqlite", "SkillBridge (SQLite)",
                lambda: queue_bench.run("sqlite", size=size, roundtrips=trips, concurrency=args.concurrency),
            )  # fmt: skip
        for replicas in (1, 2) if wanted("skillbridge-redis") else ():
            c.attempt(
                "queue", f"skillbridge-redis-x{replicas}", f"SkillBridge (Redis, {replicas} replica(s))",
                lambda n=replicas: queue_bench.run(  # type: ignore[misc]
                    "redis", size=size, roundtrips=trips, replicas=n, concurrency=args.concurrency
                ),
            )  # fmt: skip
        if wanted("fanout-noop"):
            c.attempt(
                "ml", "skillbridge-fanout-noop", "fan-out on no-op jobs",
                lambda: fanout.run_noop(args.streams, max(2, args.streams // 20), args.concurrency),
            )  # fmt: skip
        if wanted("ceilings"):
            c.attempt("ceiling", "ceilings", "raw ceilings", lambda: ceilings.run(min(size, 5000)))
        if not args.skip_ml and wanted("ml"):
            c.attempt("ml", "skillbridge-ml", "ML pipeline + fan-out", lambda: ml_and_fanout(args))
    records = c.records()
    for rec in records:  # the ML run measured both; split the fan-out figures into their own system
        if rec["figure"].startswith("fanout_"):
            rec["system"] = "skillbridge-fanout"
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "repeat": args.repeat,
        "size": size,
        "roundtrips": trips,
        "concurrency": args.concurrency,
        "ml_concurrency": args.ml_concurrency,
        "streams": args.streams,
        "cpus": os.cpu_count(),
        "versions": versions(with_anchors),
        "redis_tool": next((r.get("redis_tool") for (g, _), rs in c.runs.items() if g == "ceiling" for r in rs), None),
        "command": " ".join([Path(sys.executable).name, "-m", "tests.bench.run", *(argv or sys.argv[1:])]),
    }
    unavailable = [f"{k}: {v}" for k, v in c.unavailable.items()]
    doc = {"meta": meta, "records": records, "unavailable": unavailable}
    print(report.stdout_table(records, unavailable))
    args.out.write_text(json.dumps(doc, indent=1, default=str))
    print(f"JSON with raw samples: {args.out}")
    if not args.no_docs:
        args.docs.parent.mkdir(parents=True, exist_ok=True)
        args.docs.write_text(report.markdown(doc))
        print(f"rewrote {args.docs}")


def ml_and_fanout(args: argparse.Namespace) -> dict[str, Any]:
    """One ML stack for both: the ML figures first, then fan-out on fresh running jobs."""
    import asyncio

    with ml_bench.ml_stack(args.ml_concurrency) as stack:
        figures = asyncio.run(ml_bench.measure(stack, args.ml_jobs, args.ml_seconds, (1, 4, 16)))
        figures.update(asyncio.run(ml_bench.measure_estimates(stack, ml_bench.BURST)))
        jobs = max(2, args.streams // 20)
        figures.update(asyncio.run(fanout.measure(stack.scheduler, args.streams, jobs)))
    # The same pipeline with the four stage services in one process (one copy of the embedding model).
    with ml_bench.ml_stack(args.ml_concurrency, one_process=True) as stack:
        one = asyncio.run(ml_bench.measure(stack, args.ml_jobs, args.ml_seconds, (16,)))
        # Then what the store writes for analyses of 50 KB of text (on this stack: it is the same scheduler).
        figures.update(asyncio.run(write_bench.measure(stack, write_bench.JOBS, write_bench.TEXT_KIB * 1024)))
    kept = (
        "ml_job_p50_ms",
        "ml_job_p95_ms",
        "ml_new_resume_p50_ms",
        "ml_jobs_per_s_16_submitters",
        "rss_mib_stages",
        "rss_mib_scheduler",
    )
    figures.update({f"one_process_{name}": one[name] for name in kept if name in one})
    return figures


if __name__ == "__main__":
    main()
