"""Load on one Redis scheduler replica: many WatchJob streams over gRPC and SSE watchers through the gateway,
with submitters posting jobs through the gateway meanwhile.

`python -m tests.load.run` (or `make load`) runs the full size: 1,000 WatchJob streams and 500 SSE watchers on
one replica. tests/scheduler/test_redis_load.py runs a smaller one in the suite. All in one process:

1. Replica A (Redis store, no dispatcher) serves the watchers; the gateway in front of it serves SSE.
2. Every watched job is queued before any runs, and every stream holds its first answer before a dispatcher
   exists, so all of them are open at once. Then replica B (same Redis, a dispatcher running noop jobs) starts;
   while it drains the queue every position change and every event wakes all watchers on A at once, the burst
   that used to exhaust redis-py's default pool, and the submitters post more jobs through the gateway.
3. A stream counts as an error unless it ends with the job's SUCCEEDED event; a submit unless it answers 202
   (one resend under its request_id after a dropped connection is counted apart, as a retry).

Figures: errors, the peak of replica A's Redis connections (CLIENT LIST by its client name, sampled) and of the
server's connected_clients (INFO clients; other users of the same server count there too), and the process's
RSS before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import httpx
import redis.asyncio as aioredis
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from services.common.tasks import cancel_and_wait
from services.scheduler.feed import ChangeFeed
from services.scheduler.handlers import NoopHandler
from services.scheduler.model import JobType
from services.scheduler.server import SchedulerServer, start
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.redis_pool import PoolLimits
from tests.gateway.live import served
from tests.scheduler.grpc_helpers import noop_request
from tests.scheduler.redis_support import delete_prefix, redis_url, unique_prefix

SAMPLE_SECONDS = 0.05
OPEN_BATCH = 100


@dataclass
class LoadFigures:
    streams: int
    sse_watchers: int
    submitted_during_run: int
    pool_max_connections: int
    stream_errors: list[str] = field(default_factory=list)
    sse_errors: list[str] = field(default_factory=list)
    submit_errors: list[str] = field(default_factory=list)
    submit_retries: int = 0
    peak_replica_connections: int = 0
    peak_server_connected_clients: int = 0
    replica_connections_after_idle: int | None = None
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return len(self.stream_errors) + len(self.sse_errors) + len(self.submit_errors)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ConnectionSampler:
    """Samples replica A's connections (by client name) and the server's connected_clients until stopped."""

    def __init__(self, url: str, name: str) -> None:
        self._probe = aioredis.Redis.from_url(url)
        self.name, self.peak_named, self.peak_total = name, 0, 0
        self._task: asyncio.Task[None] | None = None

    async def named(self) -> int:
        return sum(1 for c in await self._probe.client_list() if c.get("name") == self.name)

    async def _sample(self) -> None:
        while True:
            self.peak_named = max(self.peak_named, await self.named())
            info = await self._probe.info("clients")
            self.peak_total = max(self.peak_total, int(info["connected_clients"]))
            await asyncio.sleep(SAMPLE_SECONDS)  # a sampling interval, not synchronisation

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            # Its loop of Redis calls can swallow a plain cancel (see services/common/tasks.py): this hung the suite.
            await cancel_and_wait(self._task)
        await self._probe.aclose()


async def watch_grpc(stub: pb_grpc.JobSchedulerServiceStub, job_id: str, opened: asyncio.Event) -> str | None:
    """None when the stream ends with the job's SUCCEEDED event; otherwise what went wrong."""
    try:
        last = ""
        async for message in stub.WatchJob(pb.WatchJobRequest(job_id=job_id)):
            opened.set()
            if message.HasField("event"):
                last = message.event.WhichOneof("kind") or ""
        return None if last == "succeeded" else f"{job_id}: stream ended after {last or 'nothing'}"
    except grpc.aio.AioRpcError as exc:
        return f"{job_id}: {exc.code().name} {exc.details()}"
    finally:
        opened.set()


async def watch_sse(http: httpx.AsyncClient, job_id: str, opened: asyncio.Event) -> str | None:
    try:
        last = ""
        async with http.stream("GET", f"/v1/jobs/{job_id}/events") as response:
            if response.status_code != 200:
                return f"{job_id}: HTTP {response.status_code} {(await response.aread())[:200]!r}"
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    opened.set()
                    last = line[len("event: ") :]
        return None if last == "succeeded" else f"{job_id}: SSE ended after {last or 'nothing'}"
    except httpx.HTTPError as exc:
        return f"{job_id}: {type(exc).__name__} {exc}"
    finally:
        opened.set()


async def submit_rest(http: httpx.AsyncClient, figures: LoadFigures) -> str | None:
    """Posts one noop job as a careful client does: with a request_id, sent again once when the connection
    failed before an answer came (a keep-alive connection the server closed just then), which the request_id
    makes safe. The retry is counted; a second failure, or any answer but 202, is an error."""
    body = {
        "type": "noop",
        "noop": {"payload": base64.b64encode(b"load").decode()},
        "request_id": uuid.uuid4().hex,
    }
    for attempt in (1, 2):
        try:
            response = await http.post("/v1/jobs", json=body)
        except httpx.TransportError as exc:
            if attempt == 1:
                figures.submit_retries += 1
                continue
            figures.submit_errors.append(f"submit: {type(exc).__name__} {exc}")
            return None
        if response.status_code != 202:
            figures.submit_errors.append(f"submit: HTTP {response.status_code} {response.text[:200]}")
            return None
        return str(response.json()["id"])
    return None


@asynccontextmanager
async def replica(
    settings: Settings, url: str, prefix: str, limits: PoolLimits, *, dispatcher: bool
) -> AsyncIterator[SchedulerServer]:
    feed = ChangeFeed()
    store = RedisJobStore(url, feed, prefix=prefix, limits=limits)
    handlers = {JobType.NOOP: NoopHandler()} if dispatcher else None
    server = await start(settings.replace(run_dispatcher=dispatcher), port=0, store=store, feed=feed, handlers=handlers)
    try:
        yield server
    finally:
        await server.stop(1.0)


async def run_load(
    settings: Settings,
    *,
    streams: int,
    sse_watchers: int,
    submitters: int,
    submits_each: int,
    limits: PoolLimits,
    url: str | None = None,
) -> LoadFigures:
    """Runs the load described in the module docstring and returns its figures."""
    url, prefix = url or redis_url(), unique_prefix()
    name = f"sbload-{uuid.uuid4().hex[:8]}"
    figures = LoadFigures(streams, sse_watchers, submitters * submits_each, limits.max_connections)
    figures.rss_before_mb = rss_mb()
    sampler = ConnectionSampler(url, name)
    begun = time.monotonic()
    # The client name rides on the URL (redis-py reads client_name from it), so CLIENT LIST tells A's connections.
    named_url = f"{url}{'&' if '?' in url else '?'}client_name={name}"
    settings = settings.replace(concurrency=16)
    try:
        async with replica(settings, named_url, prefix, limits, dispatcher=False) as a:
            channel = grpc.aio.insecure_channel(a.address)
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            async with AsyncSchedulerClient(a.address, timeout=30.0) as client:
                app = create_app(settings, client=client, call_timeout=30.0, connect_timeout=30.0)
                async with served(app) as base:
                    timeout = httpx.Timeout(60.0, read=None)
                    # Idle keep-alive connections are dropped before uvicorn's 5 s would close them under a
                    # request (a POST is not retried on such a race).
                    limits_http = httpx.Limits(
                        max_connections=None, max_keepalive_connections=None, keepalive_expiry=2.0
                    )
                    async with httpx.AsyncClient(base_url=base, limits=limits_http, timeout=timeout) as http:
                        sampler.start()
                        await drive(
                            figures,
                            stub,
                            http,
                            submitters,
                            submits_each,
                            lambda: replica(settings, url, prefix, limits, dispatcher=True),
                        )
            await channel.close()
            await sampler.stop()
            figures.peak_replica_connections = sampler.peak_named
            figures.peak_server_connected_clients = sampler.peak_total
            sampler = ConnectionSampler(url, name)
            if limits.idle_seconds <= 5.0:
                # Everything is quiet now: after the idle limit (and one trim period) A holds only its subscription.
                await asyncio.sleep(limits.idle_seconds * 1.6)  # waiting out the idle limit is what is measured
                figures.replica_connections_after_idle = await sampler.named()
    finally:
        await sampler.stop()
        await delete_prefix(url, prefix)
    figures.seconds = round(time.monotonic() - begun, 1)
    figures.rss_after_mb = rss_mb()
    return figures


async def drive(
    figures: LoadFigures,
    stub: pb_grpc.JobSchedulerServiceStub,
    http: httpx.AsyncClient,
    submitters: int,
    submits_each: int,
    dispatcher: Callable[[], AbstractAsyncContextManager[object]],
) -> None:
    """Queues the watched jobs, opens every stream, then runs the jobs under `dispatcher()` while submitters
    post more through the gateway; records what went wrong in `figures`."""
    grpc_ids = [(await stub.SubmitJob(noop_request())).job.id for _ in range(figures.streams)]
    sse_ids: list[str] = []
    for _ in range(figures.sse_watchers):
        job_id = await submit_rest(http, figures)
        if job_id is not None:
            sse_ids.append(job_id)
    opened = [asyncio.Event() for _ in range(len(grpc_ids) + len(sse_ids))]
    watchers = [watch_grpc(stub, job_id, opened[i]) for i, job_id in enumerate(grpc_ids)]
    watchers += [watch_sse(http, job_id, opened[len(grpc_ids) + i]) for i, job_id in enumerate(sse_ids)]
    running: list[asyncio.Task[str | None]] = []
    # Every stream open before any job runs; opened a batch at a time, as users arrive rather than all in the
    # same millisecond (the gateway answers an SSE request only once the scheduler sent its first message).
    for first in range(0, len(watchers), OPEN_BATCH):
        running += [asyncio.create_task(w) for w in watchers[first : first + OPEN_BATCH]]
        await asyncio.gather(*(event.wait() for event in opened[first : first + OPEN_BATCH]))

    async def submitter() -> None:
        for _ in range(submits_each):
            await submit_rest(http, figures)

    async with dispatcher():
        await asyncio.gather(*(submitter() for _ in range(submitters)))
        results = await asyncio.gather(*running)
    figures.stream_errors = [r for r in results[: len(grpc_ids)] if r is not None]
    figures.sse_errors = [r for r in results[len(grpc_ids) :] if r is not None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--sse", type=int, default=500)
    parser.add_argument("--submitters", type=int, default=20)
    parser.add_argument("--submits-each", type=int, default=10)
    parser.add_argument("--max-connections", type=int, default=Settings().redis_max_connections)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--in-process", action="store_true", help="replicas and gateway inside this process")
    args = parser.parse_args()
    if args.in_process:
        limits = PoolLimits(max_connections=args.max_connections, idle_seconds=args.idle_seconds)
        run = run_load(
            Settings(),
            streams=args.streams,
            sse_watchers=args.sse,
            submitters=args.submitters,
            submits_each=args.submits_each,
            limits=limits,
        )
    else:
        from tests.load.processes import run_load_in_processes

        run = run_load_in_processes(
            streams=args.streams,
            sse_watchers=args.sse,
            submitters=args.submitters,
            submits_each=args.submits_each,
            max_connections=args.max_connections,
            idle_seconds=args.idle_seconds,
        )
    figures = asyncio.run(run)
    summary = {**asdict(figures), "errors": figures.errors}
    for key in ("stream_errors", "sse_errors", "submit_errors"):
        summary[f"{key[:-1]}_count"] = len(summary[key])
        summary[key] = summary[key][:5]  # the first few
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if figures.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
