"""The supervisor behind `skillbridge up`: the local stack as child processes, each health-checked, restarted
when it dies, and stopped cleanly (SIGTERM, then SIGKILL after a grace period) on Ctrl-C or SIGTERM.

A child that exits with status 78 (EX_CONFIG) before it became healthy stopped on a configuration error, which a
restart cannot fix: the supervisor stops the stack and reports the child's one-line reason instead of restarting
it in a loop. After a child has been healthy, any exit (78 included) is a crash and it is restarted."""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.serve import EXIT_CONFIG, SERVICES

log = logging.getLogger(__name__)


class ConfigurationStop(RuntimeError):
    """A child stopped on a configuration error; the message is its reason, for one line on the terminal."""


@dataclass
class Child:
    """One supervised process: how to start it and how to tell it is healthy."""

    name: str
    argv: Sequence[str]
    health: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    # Where the child writes why it stopped on a configuration error (`--reason-file` of services.cli.serve).
    reason_file: Path | None = None
    # Whether it has been healthy since it was last started.
    healthy_since_start: bool = False

    def configuration_error(self) -> str | None:
        """The child's reason when it exited with EXIT_CONFIG before it became healthy; None otherwise."""
        process = self.process
        if process is None or process.returncode != EXIT_CONFIG or self.healthy_since_start:
            return None
        reason = ""
        if self.reason_file is not None and self.reason_file.exists():
            reason = self.reason_file.read_text(encoding="utf-8").strip()
        return reason or f"{self.name} stopped on a configuration error (exit status {EXIT_CONFIG})"


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


def stack_children(host: str, ports: Mapping[str, int], reasons: Path) -> list[Child]:
    """The six processes of the local stack, stage services first so the scheduler finds them; each writes the
    reason for a configuration stop into the folder `reasons`."""
    children = []
    for name in SERVICES:
        address = f"{host}:{ports[name]}"
        check: Callable[[], bool] = (
            functools.partial(http_healthy, f"http://{address}")
            if name == "gateway"
            else functools.partial(grpc_healthy, address)
        )
        reason = reasons / f"{name}.reason"
        argv = [sys.executable, "-m", "services.cli.serve", name, "--reason-file", str(reason)]
        children.append(Child(name, argv, check, reason_file=reason))
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
    # Set when a child stopped on a configuration error: its reason. The supervisor then stops.
    fatal: str | None = None

    def _spawn(self, child: Child) -> None:
        log.info("starting %s: %s", child.name, " ".join(child.argv))
        if child.reason_file is not None:
            child.reason_file.unlink(missing_ok=True)
        child.healthy_since_start = False
        # Its own process group: a terminal's Ctrl-C reaches the supervisor alone, which then stops the children
        # in order (see stop).
        child.process = subprocess.Popen(list(child.argv), env=dict(self.env), process_group=0)

    def start(self) -> None:
        """Starts every child in order and waits until each is healthy; raises ConfigurationStop if one stopped
        on a configuration error, RuntimeError if one exited or did not become healthy in time."""
        for child in self.children:
            self._spawn(child)
            deadline = time.monotonic() + self.start_timeout
            while not child.health():
                if self.stopping.is_set():
                    return
                if child.process is not None and child.process.poll() is not None:
                    reason = child.configuration_error()
                    if reason is not None:
                        raise ConfigurationStop(reason)
                    raise RuntimeError(f"{child.name} exited with code {child.process.returncode} while starting")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name} was not healthy within {self.start_timeout:.0f} s")
                self.stopping.wait(0.2)  # health poll interval
            child.healthy_since_start = True
            log.info("%s is healthy", child.name)

    def check(self) -> list[str]:
        """Restarts children that have exited (with a growing backoff); returns the names restarted. A child
        that stopped on a configuration error is not restarted: `fatal` gets its reason and the supervisor stops."""
        restarted: list[str] = []
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is None or self.stopping.is_set():
                continue
            if process.poll() is None:
                if not child.healthy_since_start:
                    child.healthy_since_start = child.health()
                continue
            reason = child.configuration_error()
            if reason is not None:
                self.fatal = reason
                self.stopping.set()
                return restarted
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
        """SIGTERM to each child in turn, newest first, waiting for one to exit before the next: the gateway and the
        scheduler close their streams to the stage services before those stop (stopped all at once, a stage
        service cancelled the scheduler's open health watches, which grpc.aio logs as an unhandled error with a
        traceback). SIGKILL to one still running when the grace period is over."""
        self.stopping.set()
        deadline = time.monotonic() + self.stop_grace
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in time: killing it", process.pid)
                process.kill()
                process.wait()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        # SIGHUP too: the children are in their own process group, so a closed terminal reaches only this process.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, handler)


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
