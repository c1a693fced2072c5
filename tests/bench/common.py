"""Helpers shared by the benchmark modules: ports, percentiles, child processes, readiness, RSS, Redis DBs.

Nothing here measures anything; it starts, waits for and stops what the measurements need. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT
from tests.support import free_port

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
# Our own Redis databases (the server is shared): anchors and raw ceilings in 14, SkillBridge-on-Redis in 13.
ANCHOR_DB = 14
SKILLBRIDGE_DB = 13
REDIS_STORE_MODULE = REPO_ROOT / "services" / "scheduler" / "store" / "redis.py"


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def redis_url(db: int) -> str:
    """REDIS_URL (default the local server) pointed at database `db`."""
    parts = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def redis_available() -> bool:
    parts = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def redis_store_available() -> bool:
    return REDIS_STORE_MODULE.exists()


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB, read from /proc (psutil is not a dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (all its threads), in seconds, from /proc/PID/stat."""
    # The fields after the command name (which may hold spaces), from the state on: utime and stime are 11 and 12.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.update(extra)
    return env


def stop(proc: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def processes(commands: Sequence[tuple[list[str], dict[str, str]]]) -> Iterator[list[subprocess.Popen[Any]]]:
    """Starts each (argv, env) from the repository root; stops them all on exit, last first."""
    procs: list[subprocess.Popen[Any]] = []
    try:
        for argv, env in commands:
            procs.append(subprocess.Popen(argv, cwd=REPO_ROOT, env=env))
        yield procs
    finally:
        for proc in reversed(procs):
            stop(proc)


def scheduler_env(
    store: str, port: int, *, dispatcher: bool, concurrency: int, stage_addresses: dict[str, str] | None = None
) -> dict[str, str]:
    env = base_env(
        SKILLBRIDGE_STORE=store,
        SKILLBRIDGE_SCHEDULER_PORT=str(port),
        SKILLBRIDGE_RUN_DISPATCHER="1" if dispatcher else "0",
        SKILLBRIDGE_CONCURRENCY=str(concurrency),
        SKILLBRIDGE_MAX_QUEUE_DEPTH="1000000",
        SKILLBRIDGE_LOG_LEVEL="WARNING",
        # Each process's metrics endpoint on a port of its own: fixed defaults collide between replicas.
        SKILLBRIDGE_SCHEDULER_METRICS_PORT=str(free_port()),
    )
    for name, address in (stage_addresses or {}).items():
        env[f"SKILLBRIDGE_{name.upper()}_ADDRESS"] = address
    return env


@contextmanager
def schedulers(
    store: str,
    *,
    replicas: int = 1,
    dispatcher: bool,
    concurrency: int,
    stage_addresses: dict[str, str] | None = None,
    ready: bool = True,
) -> Iterator[list[str]]:
    """`replicas` scheduler processes on one store; yields their addresses (once they answer, when `ready`)."""
    ports = [free_port() for _ in range(replicas)]
    commands = [
        (
            [sys.executable, "-m", "services.scheduler"],
            scheduler_env(store, port, dispatcher=dispatcher, concurrency=concurrency, stage_addresses=stage_addresses),
        )
        for port in ports
    ]
    with processes(commands) as procs:
        addresses = [f"127.0.0.1:{port}" for port in ports]
        if ready:
            asyncio.run(wait_schedulers(addresses, procs))
        yield addresses


async def wait_schedulers(addresses: Sequence[str], procs: Sequence[subprocess.Popen[Any]]) -> None:
    for address, proc in zip(addresses, procs, strict=True):
        async with grpc.aio.insecure_channel(address) as channel:
            await wait_ready(pb_grpc.JobSchedulerServiceStub(channel), proc)


async def wait_ready(stub: pb_grpc.JobSchedulerServiceStub, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=1)
            return
        except grpc.aio.AioRpcError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"scheduler exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def wait_port(port: int, proc: subprocess.Popen[Any], within: float = 120.0) -> None:
    """Waits until a TCP port accepts connections (a stage service has loaded its model)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} not ready within {within} s")
