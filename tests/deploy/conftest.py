"""Fixtures of the deployment tests: free ports, a Redis key prefix of their own, processes that are always
stopped, and the `load` marker (the bounded load test, deselect with `-m "not load"`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "load: the bounded load test (10,000 jobs by default; slow)")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """(Redis URL, a fresh key prefix); the prefix's keys are deleted afterwards."""
    url, prefix = await require_redis(), unique_prefix()
    yield url, prefix
    await delete_prefix(url, prefix)


class Processes:
    """Subprocesses started by a test, each logging to its own file; all are stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=out)
        self.started[name] = proc
        return proc

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.started.items() if p.poll() is not None}
        assert not dead, f"processes exited: {dead}\n" + "\n".join(self.log_of(n) for n in dead)

    def stop_all(self) -> None:
        for proc in self.started.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
