"""Secure by default: on an address other machines can reach, the scheduler, the gateway and `skillbridge up`
refuse to serve unauthenticated callers unless SKILLBRIDGE_INSECURE_NO_AUTH is set, in one line that says how
to configure keys. The refusals are checked on the real entry points, as processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.exposure import InsecureBind, check_exposure, is_loopback
from services.common.settings import REPO_ROOT, Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.1.2.3", "192.168.0.10", "no-such-host.invalid"])
def test_reachable_or_unknown_addresses(host: str) -> None:
    assert not is_loopback(host)


def test_which_settings_may_serve_a_reachable_address() -> None:
    def refused(**fields: object) -> bool:
        try:
            check_exposure(Settings.from_env({}, **fields), "0.0.0.0", 50051, "scheduler")
        except InsecureBind:
            return True
        return False

    assert refused()  # no keys: everyone would be an admin
    assert refused(api_keys="k=alice", allow_anonymous=True)  # anonymous callers would be served
    assert not refused(api_keys="k=alice")
    assert not refused(insecure_no_auth=True)
    check_exposure(Settings.from_env({}), "127.0.0.1", 50051, "scheduler")  # a laptop needs no keys


def run_exposed(command: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLBRIDGE_")} | {
        "SKILLBRIDGE_HOST": "0.0.0.0",
        "SKILLBRIDGE_STORE": f"sqlite:///{tmp_path / 'jobs.db'}",
        "SKILLBRIDGE_SCHEDULER_METRICS_PORT": "0",
        **extra,
    }
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("command", "process"),
    [
        ([sys.executable, "-m", "services.scheduler"], "scheduler"),
        ([sys.executable, "-m", "gateway"], "gateway"),
        ([sys.executable, "-m", "skillbridge_client.cli", "up"], "skillbridge up"),
    ],
)
def test_entry_points_refuse_a_reachable_address_without_keys(command: list[str], process: str, tmp_path: Path) -> None:
    result = run_exposed(command, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith(f"error: {process}: refusing to serve on 0.0.0.0:")
    assert "SKILLBRIDGE_API_KEYS=key=owner" in lines[0] and "SKILLBRIDGE_INSECURE_NO_AUTH=1" in lines[0]
    anonymous = run_exposed(command, tmp_path, SKILLBRIDGE_API_KEYS="k=alice", SKILLBRIDGE_ALLOW_ANONYMOUS="1")
    assert anonymous.returncode != 0 and "anonymous access" in anonymous.stderr
