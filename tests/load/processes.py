"""The full-size load with each server in its own process, as deployed: replica A (`python -m services.scheduler`,
Redis store, no dispatcher) serving the watchers, the gateway (`python -m gateway`) in front of it, and later
replica B (a dispatcher) running the jobs. This process only drives the clients, so A's figures (its Redis
connections, its RSS) are its own. The steps and checks are tests/load/run.py's `drive`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import httpx
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from tests.chaos.harness import child_env, free_port, health_status, stop_process, until
from tests.load.run import ConnectionSampler, LoadFigures, drive
from tests.scheduler.redis_support import delete_prefix, redis_url, unique_prefix


def rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Processes:
    """Child processes with their logs under `logs`, stopped with SIGTERM at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.procs = logs, list[subprocess.Popen[bytes]]()

    def start(self, module: str, log_name: str, **env: str) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{log_name}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", module], cwd=REPO_ROOT, env=child_env(**env), stdout=out, stderr=out
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)


def scheduler_env(
    store: str, port: int, *, dispatcher: bool, max_connections: int, idle_seconds: float
) -> dict[str, str]:
    return {
        "SKILLBRIDGE_STORE": store,
        "SKILLBRIDGE_SCHEDULER_PORT": str(port),
        "SKILLBRIDGE_SCHEDULER_METRICS_PORT": "0",
        "SKILLBRIDGE_RUN_DISPATCHER": "1" if dispatcher else "0",
        "SKILLBRIDGE_CONCURRENCY": "16",
        "SKILLBRIDGE_MAX_QUEUE_DEPTH": "100000",
        "SKILLBRIDGE_REDIS_MAX_CONNECTIONS": str(max_connections),
        "SKILLBRIDGE_REDIS_IDLE_SECONDS": str(idle_seconds),
        "SKILLBRIDGE_LOG_LEVEL": "WARNING",
    }


async def serving(address: str, proc: subprocess.Popen[bytes]) -> None:
    async def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{address} exited with {proc.returncode}")
        return await health_status(address, "") == "SERVING"

    await until(answers, within=120.0, what=f"scheduler {address} serving")


async def run_load_in_processes(
    *, streams: int, sse_watchers: int, submitters: int, submits_each: int, max_connections: int, idle_seconds: float
) -> LoadFigures:
    url, prefix, name = redis_url(), unique_prefix(), f"sbload-{uuid.uuid4().hex[:8]}"
    figures = LoadFigures(streams, sse_watchers, submitters * submits_each, max_connections)
    children = Processes(REPO_ROOT / "tests" / "artifacts" / "load")
    begun = time.monotonic()
    sep = "&" if "?" in url else "?"
    store_a = f"{url}{sep}prefix={prefix}&client_name={name}"
    store_b = f"{url}{sep}prefix={prefix}"
    port_a, port_b, port_gw = free_port(), free_port(), free_port()
    sampler = ConnectionSampler(url, name)
    try:
        a = children.start(
            "services.scheduler",
            "replica-a",
            **scheduler_env(
                store_a, port_a, dispatcher=False, max_connections=max_connections, idle_seconds=idle_seconds
            ),
        )
        gateway = children.start(
            "gateway",
            "gateway",
            SKILLBRIDGE_GATEWAY_PORT=str(port_gw),
            SKILLBRIDGE_SCHEDULER_ADDRESS=f"127.0.0.1:{port_a}",
            SKILLBRIDGE_LOG_LEVEL="WARNING",
        )
        await serving(f"127.0.0.1:{port_a}", a)
        base = f"http://127.0.0.1:{port_gw}"

        async def gateway_up() -> bool:
            if gateway.poll() is not None:
                raise AssertionError(f"the gateway exited with {gateway.returncode}")
            try:
                async with httpx.AsyncClient() as probe:
                    return (await probe.get(f"{base}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await until(gateway_up, within=120.0, what="gateway serving")
        figures.rss_before_mb = rss_of(a.pid)

        @asynccontextmanager
        async def dispatcher() -> AsyncIterator[object]:
            env = scheduler_env(store_b, port_b, dispatcher=True, max_connections=64, idle_seconds=idle_seconds)
            b = children.start("services.scheduler", "replica-b", **env)
            await serving(f"127.0.0.1:{port_b}", b)
            yield b

        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=2.0)
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{port_a}") as channel,
            httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(60.0, read=None)) as http,
        ):
            sampler.start()
            await drive(figures, pb_grpc.JobSchedulerServiceStub(channel), http, submitters, submits_each, dispatcher)
        await sampler.stop()
        figures.peak_replica_connections, figures.peak_server_connected_clients = sampler.peak_named, sampler.peak_total
        figures.rss_after_mb = rss_of(a.pid)
        sampler = ConnectionSampler(url, name)
        # Quiet now: after the idle limit and one trim period A holds only its subscription.
        await asyncio.sleep(idle_seconds * 1.6)  # waiting out the idle limit is what is measured
        figures.replica_connections_after_idle = await sampler.named()
    finally:
        await sampler.stop()
        children.stop_all()
        await delete_prefix(url, prefix)
    figures.seconds = round(time.monotonic() - begun, 1)
    return figures
