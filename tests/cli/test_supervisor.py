"""The supervisor behind `skillbridge up`, with a real child process (the scheduler): it waits until the child
is healthy over grpc.health.v1, restarts it when it dies, and stops it cleanly."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from skillbridge_client.cli_up import Child, Supervisor, grpc_healthy, up_environment

from tests.support import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_start_restart_and_stop(tmp_path: Path) -> None:
    port = free_port()
    env = up_environment("dev-test-key")
    env.update(
        SKILLBRIDGE_SCHEDULER_PORT=str(port),
        SKILLBRIDGE_STORE=f"sqlite:///{tmp_path / 'jobs.db'}",
        SKILLBRIDGE_LOG_JSON="0",
    )
    address = f"127.0.0.1:{port}"
    child = Child("scheduler", [sys.executable, "-m", "services.scheduler"], lambda: grpc_healthy(address))
    supervisor = Supervisor([child], env, start_timeout=60, stop_grace=10, restart_backoff=0.1)
    try:
        supervisor.start()
        assert child.process is not None and grpc_healthy(address)
        first = child.process
        first.kill()
        first.wait()
        wait_until(lambda: supervisor.check() == ["scheduler"], within=10)
        assert child.process is not first and child.restarts == 1
        wait_until(lambda: grpc_healthy(address), within=60)
    finally:
        supervisor.stop()
    assert child.process is not None and child.process.returncode == 0  # drained on SIGTERM, not killed
    assert not grpc_healthy(address)


def test_up_environment_keeps_configured_keys_and_allows_anonymous_callers_only_locally() -> None:
    local = up_environment("dev-k", {"SKILLBRIDGE_API_KEYS": "k-alice=alice"})
    assert local["SKILLBRIDGE_API_KEYS"] == "dev-k=dev:standard,k-alice=alice"
    assert local["SKILLBRIDGE_ALLOW_ANONYMOUS"] == "1"
    exposed = up_environment("dev-k", {"SKILLBRIDGE_API_KEYS": "k-alice=alice"}, anonymous=False)
    assert "SKILLBRIDGE_ALLOW_ANONYMOUS" not in exposed
    assert up_environment("dev-k", {})["SKILLBRIDGE_API_KEYS"] == "dev-k=dev:standard"
