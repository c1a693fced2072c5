"""`skillbridge up` / `serve`: the local stack as supervised child processes, each health-checked, restarted
when it dies, and stopped cleanly (SIGTERM, then SIGKILL after a grace period) on Ctrl-C or SIGTERM."""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

log = logging.getLogger(__name__)

GRPC_SERVICES = ("ner", "similarity", "retrieval", "recommendation", "scheduler")
SERVICES = (*GRPC_SERVICES, "gateway")


@dataclass
class Child:
    """One supervised process: how to start it and how to tell it is healthy."""

    name: str
    argv: Sequence[str]
    health: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0


def grpc_healthy(address: str, timeout: float = 1.0) -> bool:
    """grpc.health.v1 Check on the overall ("") service."""
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


def http_healthy(url: str, timeout: float = 1.0) -> bool:
    """GET {url}/healthz answers 200."""
    try:
        return httpx.get(f"{url}/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def module_of(name: str) -> str:
    return "gateway" if name == "gateway" else f"services.{name}"


def stack_children(host: str, ports: Mapping[str, int]) -> list[Child]:
    """The six processes of the local stack, stage services first so the scheduler finds them."""
    children = []
    for name in SERVICES:
        address = f"{host}:{ports[name]}"
        check: Callable[[], bool] = (
            functools.partial(http_healthy, f"http://{address}")
            if name == "gateway"
            else functools.partial(grpc_healthy, address)
        )
        children.append(Child(name, [sys.executable, "-m", module_of(name)], check))
    return children


@dataclass
class Supervisor:
    """Starts children in order, waits for each to be healthy, restarts those that die, stops them all."""

    children: list[Child]
    env: Mapping[str, str]
    start_timeout: float = 120.0
    stop_grace: float = 10.0
    restart_backoff: float = 1.0
    stopping: threading.Event = field(default_factory=threading.Event)

    def _spawn(self, child: Child) -> None:
        log.info("starting %s: %s", child.name, " ".join(child.argv))
        child.process = subprocess.Popen(list(child.argv), env=dict(self.env))

    def start(self) -> None:
        """Starts every child in order and waits until each is healthy; raises RuntimeError if one is not."""
        for child in self.children:
            self._spawn(child)
            deadline = time.monotonic() + self.start_timeout
            while not child.health():
                if self.stopping.is_set():
                    return
                if child.process is not None and child.process.poll() is not None:
                    raise RuntimeError(f"{child.name} exited with code {child.process.returncode} while starting")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name} was not healthy within {self.start_timeout:.0f} s")
                self.stopping.wait(0.2)  # health poll interval
            log.info("%s is healthy", child.name)

    def check(self) -> list[str]:
        """Restarts children that have exited (with a growing backoff); returns the names restarted."""
        restarted = []
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is None or process.poll() is None or self.stopping.is_set():
                continue
            if child.next_start == 0.0:
                delay = min(self.restart_backoff * 2**child.restarts, 30.0)
                child.next_start = now + delay
                log.warning("%s exited with code %s; restarting in %.1f s", child.name, process.returncode, delay)
            if now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self._spawn(child)
                restarted.append(child.name)
        return restarted

    def run_until_stopped(self, interval: float = 0.5) -> None:
        while not self.stopping.wait(interval):
            self.check()

    def stop(self) -> None:
        """SIGTERM to every child, newest first; SIGKILL to those still running after the grace period."""
        self.stopping.set()
        alive = [c.process for c in reversed(self.children) if c.process is not None and c.process.poll() is None]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + self.stop_grace
        for process in alive:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in time: killing it", process.pid)
                process.kill()
                process.wait()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def up_environment(dev_key: str, base: Mapping[str, str] | None = None, *, anonymous: bool = True) -> dict[str, str]:
    """The children's environment: one local development key beside any keys configured, and (on a local
    stack) anonymous callers allowed, so the page works without a key."""
    env = dict(os.environ if base is None else base)
    configured = env.get("SKILLBRIDGE_API_KEYS", "").strip()
    env["SKILLBRIDGE_API_KEYS"] = ",".join(k for k in (f"{dev_key}=dev:standard", configured) if k)
    if anonymous:
        env["SKILLBRIDGE_ALLOW_ANONYMOUS"] = "1"
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def serve_one(name: str) -> None:
    """`skillbridge serve NAME`: runs one service in the foreground with settings from the environment."""
    from services.common.logs import configure_logging
    from services.common.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service=name)
    if name == "gateway":
        from gateway.server import serve as serve_gateway

        serve_gateway(settings)
        return
    from services.common.server import run

    server_module = importlib.import_module(f"{module_of(name)}.server")
    run(lambda: server_module.serve(settings))
