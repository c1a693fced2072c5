"""The anchor-queue harness. Runs with the anchors' own virtualenv (never the project's), from this directory.

    python harness.py run --lib celery --variant solo --size 10000 --roundtrips 300

prints one JSON line: enqueue jobs/s, drain jobs/s, submit->result p50/p99 and Redis bytes per queued job, with the
raw samples. The Redis URL (its own database, emptied after use) comes from BENCH_REDIS_URL.

Method, the same for every library: (a)+(d) a child process enqueues `size` jobs with a 1 KB argument one call at a
time and exits (so its connections and subscriptions are not counted), then `used_memory` delta / jobs; (b) one
worker process starts on the full queue; the rate runs from the first completed job seen from outside to the last,
polled on the libraries' own result/status keys; (c) with the worker warm, jobs one at a time from submit until the
library's wait API returns the result. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

HERE = Path(__file__).resolve().parent
PAYLOAD = "x" * 1024
DRAIN_CAP_SECONDS = 60.0
ROUNDTRIP_CAP_SECONDS = 30.0
ENQUEUE_CAP_SECONDS = 60.0
WARM_UP = 10
CHECK_BATCH = 500


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def call(fn: Any, *args: Any) -> Any:
    """Calls a sync or async adapter method the same way."""
    result = fn(*args)
    return await result if inspect.isawaitable(result) else result


def adapter_for(lib: str, variant: str, url: str) -> Any:
    return importlib.import_module(f"lib_{lib}").Adapter(url, variant)


async def enqueue(lib: str, variant: str, url: str, size: int) -> dict[str, Any]:
    adapter = adapter_for(lib, variant, url)
    await call(adapter.open)
    await call(adapter.enqueue, PAYLOAD)  # warm-up: connections and imports are not the queue's
    keys: list[str] = []
    samples: list[float] = []
    cap = time.monotonic() + ENQUEUE_CAP_SECONDS
    start = time.perf_counter()
    for _ in range(size):
        t = time.perf_counter()
        keys.append(await call(adapter.enqueue, PAYLOAD))
        samples.append((time.perf_counter() - t) * 1000)
        if time.monotonic() > cap:
            break
    elapsed = time.perf_counter() - start
    await call(adapter.close)
    rate = len(keys) / elapsed
    return {"keys": keys, "enqueue_jobs_per_s": rate, "enqueued": len(keys) + 1, "samples_enqueue_ms": samples}


def drain(adapter: Any, client: redis.Redis, keys: list[str], poll: float = 0.02) -> dict[str, Any]:
    """Advances a cursor over the jobs in enqueue order while they are done; the rate runs from the first time
    the cursor is seen above zero to the time it reaches the end (or the time cap)."""
    cursor, first, last = 0, None, (time.perf_counter(), 0)
    cap = time.monotonic() + DRAIN_CAP_SECONDS
    while cursor < len(keys) and time.monotonic() < cap:
        while cursor < len(keys):
            batch = keys[cursor : cursor + CHECK_BATCH]
            done = adapter.done_many(client, batch)
            advanced = next((i for i, d in enumerate(done) if not d), len(batch))
            cursor += advanced
            if advanced < len(batch):
                break
        now = time.perf_counter()
        if cursor and first is None:
            first = (now, cursor)
        last = (now, cursor)
        if cursor < len(keys):
            time.sleep(poll)
    if first is None or last[0] <= first[0]:
        return {"drain_jobs_per_s": float("nan"), "drained": cursor, "drain_seconds": 0.0}
    seconds = last[0] - first[0]
    return {"drain_jobs_per_s": (last[1] - first[1]) / seconds, "drained": cursor, "drain_seconds": seconds}


async def roundtrips(adapter: Any, count: int) -> dict[str, Any]:
    await call(adapter.open)
    samples: list[float] = []
    cap = time.monotonic() + ROUNDTRIP_CAP_SECONDS
    try:
        for i in range(count + WARM_UP):
            t = time.perf_counter()
            await call(adapter.roundtrip, PAYLOAD)
            if i >= WARM_UP:
                samples.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
    finally:
        await call(adapter.close)
    return {
        "roundtrip_p50_ms": statistics.median(samples) if samples else float("nan"),
        "roundtrip_p99_ms": percentile(samples, 0.99),
        "samples_roundtrip_ms": samples,
        "misses": getattr(adapter, "misses", 0),
    }


def wait_gone(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def run(lib: str, variant: str, url: str, size: int, count: int) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    if client.dbsize():
        raise RuntimeError(f"{url} is not empty: it belongs to someone else or to a crashed run")
    env = {**os.environ, "BENCH_REDIS_URL": url, "PYTHONPATH": str(HERE)}
    adapter = adapter_for(lib, variant, url)
    figures: dict[str, Any] = {"system": lib, "variant": variant, "label": adapter.label}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            keys_file = Path(tmp) / "keys"
            before = int(client.info("memory")["used_memory"])
            child = [sys.executable, __file__, "enqueue", "--lib", lib, "--variant", variant, "--size", str(size)]
            out = subprocess.run(
                [*child, "--keys-file", str(keys_file)], cwd=HERE, env=env, capture_output=True, text=True, timeout=180
            )
            if out.returncode:
                raise RuntimeError(f"{lib} enqueue failed: {out.stderr[-2000:]}")
            figures.update(json.loads(out.stdout.strip().splitlines()[-1]))
            figures["bytes_per_job"] = (int(client.info("memory")["used_memory"]) - before) / figures["enqueued"]
            keys = keys_file.read_text().split("\n")
        worker = subprocess.Popen(
            adapter.worker_argv(), cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            figures.update(drain(adapter, client, keys))
            if worker.poll() is not None:
                raise RuntimeError(f"{lib} worker exited: {worker.stderr.read()[-2000:] if worker.stderr else ''}")
            figures.update(asyncio.run(roundtrips(adapter, count)))
        finally:
            wait_gone(worker)
    finally:
        client.flushdb()  # our own database only
        client.close()
    figures["expected"] = size + 1
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["run", "enqueue"])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--variant", default="default")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--roundtrips", type=int, default=300)
    parser.add_argument("--keys-file", type=Path)
    args = parser.parse_args()
    url = os.environ["BENCH_REDIS_URL"]
    sys.path.insert(0, str(HERE))
    if args.mode == "enqueue":
        figures = asyncio.run(enqueue(args.lib, args.variant, url, args.size))
        args.keys_file.write_text("\n".join(figures.pop("keys")))
    else:
        figures = run(args.lib, args.variant, url, args.size, args.roundtrips)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
