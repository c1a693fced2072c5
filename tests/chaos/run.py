"""`make chaos`: the full-size chaos runs with real models, on both stores, and the figures they measured.

For each store (SQLite; Redis with two scheduler replicas): each stage service in turn is killed with SIGKILL
while `--jobs` analyses are queued, and started again `--restart-delay` seconds later; then one service is kept
down past a short outage budget. Also the SIGTERM drain of a scheduler with running jobs and open watches.
Prints one table and writes the rows as JSON.

    python -m tests.chaos.run [--jobs 50] [--stores sqlite,redis] [--services ner,similarity,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tests.bench.common import redis_available, redis_url
from tests.chaos.drain import drain_with_watchers
from tests.chaos.harness import STAGE_SERVICES, Schedulers, StageProcesses
from tests.chaos.scenarios import Figures, kill_mid_run, outlast_budget

CHAOS_REDIS_DB = 12
SLOTS = 4
SHORT_BUDGET_SECONDS = 3.0


def store_url(store: str, tmp: Path, name: str) -> str:
    if store == "sqlite":
        return f"sqlite:///{tmp / f'{name}.db'}"
    return f"{redis_url(CHAOS_REDIS_DB)}?prefix=chaos:{uuid.uuid4().hex[:10]}:"


async def run_store(store: str, args: argparse.Namespace, stages: StageProcesses, tmp: Path) -> list[Figures]:
    replicas = 2 if store == "redis" else 1
    rows: list[Figures] = []
    schedulers = Schedulers(store_url(store, tmp, "kill"), stages, tmp, {"concurrency": str(SLOTS)})
    schedulers.start(replicas)
    try:
        await schedulers.ready()
        for service in args.services:
            figures = await kill_mid_run(
                stages,
                schedulers,
                store=store,
                service=service,
                jobs=args.jobs,
                kill_after=max(args.jobs // 10, 1),
                restart_delay=args.restart_delay,
                slots=SLOTS * replicas,
            )
            rows.append(figures)
            print_row(figures)
    finally:
        schedulers.stop_all()
    short = {"concurrency": str(SLOTS), "stage_outage_budget_seconds": str(SHORT_BUDGET_SECONDS)}
    schedulers = Schedulers(store_url(store, tmp, "outlast"), stages, tmp, short)
    schedulers.start(replicas)
    try:
        await schedulers.ready()
        figures = await outlast_budget(
            stages,
            schedulers,
            store=store,
            service=args.outlast,
            jobs=args.jobs,
            kill_after=max(args.jobs // 10, 1),
            slots=SLOTS * replicas,
        )
        rows.append(figures)
        print_row(figures)
    finally:
        schedulers.stop_all()
    return rows


COLUMNS = (
    ("scenario", "{}"),
    ("store", "{}"),
    ("service", "{}"),
    ("jobs", "{}"),
    ("succeeded", "{}"),
    ("startup_s", "{:.1f}"),
    ("outage_s", "{:.1f}"),
    ("run_s", "{:.1f}"),
    ("waited", "{}"),
    ("max_waited_s", "{:.1f}"),
    ("requeued", "{}"),
    ("max_attempt", "{}"),
    ("claims_paused", "{:.0f}"),
)


def print_row(figures: Figures) -> None:
    row = figures.row()
    print(" | ".join(fmt.format(row[name]) for name, fmt in COLUMNS), flush=True)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp_name:
        tmp = Path(tmp_name)
        stages = StageProcesses(tmp)
        try:
            await stages.start_all()
            first = {service: seconds[0] for service, seconds in stages.startups.items()}
            print("start-up until SERVING, all four at once:", json.dumps(first), flush=True)
            print(" | ".join(name for name, _ in COLUMNS), flush=True)
            for store in args.stores:
                if store == "redis" and not redis_available():
                    print("redis: no server at REDIS_URL; skipped", flush=True)
                    continue
                rows += [f.row() for f in await run_store(store, args, stages, tmp)]
            shared = None if redis_available() else f"sqlite:///{tmp / 'drain.db'}"
            drain = await drain_with_watchers(tmp, jobs=args.jobs, grace=args.grace, stages=stages, store=shared)
            print("SIGTERM drain:", json.dumps(drain), flush=True)
            print("start-ups per service (s):", json.dumps(stages.startups), flush=True)
        finally:
            stages.stop_all()
    return {"rows": rows, "drain": drain, "startups": stages.startups}


def main(argv: list[str]) -> int:
    args = parse(argv)
    figures = asyncio.run(measure(args))
    Path(args.out).write_text(json.dumps(figures, indent=2))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument("--jobs", type=int, default=50, help="analyses queued per run (default 50)")
    parser.add_argument("--stores", default="sqlite,redis", help="comma-separated: sqlite, redis")
    parser.add_argument("--services", default=",".join(STAGE_SERVICES), help="the stage services to kill in turn")
    parser.add_argument("--outlast", default="ner", help="the service kept down past the budget (default ner)")
    parser.add_argument("--restart-delay", type=float, default=2.0, help="seconds dead before the restart")
    parser.add_argument("--grace", type=float, default=10.0, help="shutdown_grace_seconds for the drain run")
    parser.add_argument("--out", default="chaos-results.json")
    args = parser.parse_args(argv)
    args.stores = [s for s in args.stores.split(",") if s]
    args.services = [s for s in args.services.split(",") if s]
    return args


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
