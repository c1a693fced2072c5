"""The supervisor behind `skillbridge up`, with a real child process (the scheduler): it waits until the child
is healthy over grpc.health.v1, restarts it when it dies, stops it cleanly, and stops the stack (one line, no
restart loop) when a child cannot start on its configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from skillbridge_client.cli import main

from services.cli import supervisor as supervisor_module
from services.cli.serve import EXIT_CONFIG
from services.cli.supervisor import Child, ConfigurationStop, Supervisor, grpc_healthy, up_environment
from tests.support import free_port, wait_until


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


def scheduler_child(tmp_path: Path, env: dict[str, str]) -> Child:
    port = free_port()
    env.update(SKILLBRIDGE_SCHEDULER_PORT=str(port), SKILLBRIDGE_LOG_JSON="0")
    address = f"127.0.0.1:{port}"
    reason = tmp_path / "scheduler.reason"
    argv = [sys.executable, "-m", "services.cli.serve", "scheduler", "--reason-file", str(reason)]
    return Child("scheduler", argv, lambda: grpc_healthy(address), reason_file=reason)


def test_a_store_that_is_not_a_database_stops_the_stack_with_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "jobs.db"
    corrupt.write_bytes(b"this is not a database, it only has its name " * 40)
    env = up_environment("dev-test-key")
    env["SKILLBRIDGE_STORE"] = f"sqlite:///{corrupt}"
    child = scheduler_child(tmp_path, env)
    supervisor = Supervisor([child], env, start_timeout=60, restart_backoff=0.1)
    try:
        with pytest.raises(ConfigurationStop) as stop:
            supervisor.start()
    finally:
        supervisor.stop()
    message = str(stop.value)
    assert message.startswith(f"scheduler: cannot open the store sqlite:///{corrupt}")
    assert "file is not a database" in message and "SKILLBRIDGE_STORE" in message and "\n" not in message
    assert child.restarts == 0


def test_a_configuration_error_after_a_restart_is_not_restarted_again(tmp_path: Path) -> None:
    """The store is fine at first; the child is killed and its store spoilt: the restarted child stops on a
    configuration error before it is healthy, and the supervisor gives up instead of looping."""
    store = tmp_path / "jobs.db"
    env = up_environment("dev-test-key")
    env["SKILLBRIDGE_STORE"] = f"sqlite:///{store}"
    child = scheduler_child(tmp_path, env)
    supervisor = Supervisor([child], env, start_timeout=60, restart_backoff=0.1)
    try:
        supervisor.start()
        assert child.process is not None
        child.process.kill()
        child.process.wait()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        store.write_bytes(b"spoilt " * 200)
        wait_until(lambda: supervisor.check() == ["scheduler"], within=10)
        wait_until(lambda: supervisor.check() == [] and supervisor.fatal is not None, within=60)
        assert supervisor.stopping.is_set() and child.restarts == 1
        assert supervisor.fatal is not None and "file is not a database" in supervisor.fatal
    finally:
        supervisor.stop()


def test_a_bad_setting_is_one_line_from_serve(tmp_path: Path) -> None:
    env = dict(os.environ, SKILLBRIDGE_SCHEDULER_PORT="fifty")
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.serve", "scheduler"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.strip().splitlines() == [
        "error: scheduler: SKILLBRIDGE_SCHEDULER_PORT='fifty': Input should be a valid integer, unable to parse "
        "string as an integer: fix the setting and start again"
    ]


def test_up_stops_on_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`skillbridge up` with only its scheduler (the stage services take a minute to start and are not what this
    checks): one line saying what is wrong, exit status 78, no restart loop."""
    corrupt = tmp_path / "jobs.db"
    corrupt.write_bytes(b"not a database " * 100)
    port = free_port()
    environ = {
        "SKILLBRIDGE_STORE": f"sqlite:///{corrupt}",
        "SKILLBRIDGE_SCHEDULER_PORT": str(port),
        "SKILLBRIDGE_LOG_JSON": "0",
    }
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        only_scheduler = supervisor_module.stack_children
        patch.setattr(
            supervisor_module,
            "stack_children",
            lambda host, ports, reasons: [c for c in only_scheduler(host, ports, reasons) if c.name == "scheduler"],
        )
        try:
            assert main(["up"]) == EXIT_CONFIG
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: scheduler: cannot open the store sqlite:///{corrupt}")
    assert errors[0].endswith("(a configuration error: stopped, not restarting)")


def test_up_with_a_bad_setting_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKILLBRIDGE_GATEWAY_PORT", "eighty")
    assert main(["up"]) == EXIT_CONFIG
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: SKILLBRIDGE_GATEWAY_PORT='eighty': Input should be a valid integer, unable to parse string as an "
        "integer: fix the setting and run `skillbridge up` again"
    ]


def test_up_environment_keeps_configured_keys_and_allows_anonymous_callers_only_locally() -> None:
    local = up_environment("dev-k", {"SKILLBRIDGE_API_KEYS": "k-alice=alice"})
    assert local["SKILLBRIDGE_API_KEYS"] == "dev-k=dev:standard,k-alice=alice"
    assert local["SKILLBRIDGE_ALLOW_ANONYMOUS"] == "1"
    exposed = up_environment("dev-k", {"SKILLBRIDGE_API_KEYS": "k-alice=alice"}, anonymous=False)
    assert "SKILLBRIDGE_ALLOW_ANONYMOUS" not in exposed
    assert up_environment("dev-k", {})["SKILLBRIDGE_API_KEYS"] == "dev-k=dev:standard"
