"""The client package installed alone, as a user installs it: a fresh virtual environment, `pip install
clients/python` (dependencies from the package index), no server code. In it: the SDK watches a job on a real
scheduler, the `skillbridge` command works and says where `up` lives, and a user's `mypy --strict` reads the
package's types (py.typed, re-exported enums and messages)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT
from tests.sdk.harness import Stack

# Building the wheel and installing grpcio, protobuf and rich into a new environment takes a while.
pytestmark = pytest.mark.timeout(600)

WATCH_SCRIPT = """
import json, sys
from skillbridge_client import JobEvent, JobState, SchedulerClient

with SchedulerClient(sys.argv[1], timeout=10) as client:
    job = client.submit_analysis("Data engineer with Python and SQL.", "We need Python, SQL and Kafka.")
    kinds = [u.WhichOneof("kind") for u in client.watch(job.id) if isinstance(u, JobEvent)]
    final = client.get(job.id)
    print(json.dumps({"kinds": kinds, "state": JobState.name(final.state),
                      "gap": list(final.course_recommendation_result.skill_gap)}))
"""

TYPED_SCRIPT = """
from __future__ import annotations

from skillbridge_client import Job, JobState, SchedulerClient, Update


def state_of(client: SchedulerClient, job_id: str) -> str:
    job: Job = client.get(job_id)
    updates: list[Update] = list(client.watch(job_id))
    done: bool = job.state == JobState.SUCCEEDED and bool(updates)
    return JobState.name(job.state) if done else ""


wrong: int = state_of(SchedulerClient("127.0.0.1:1"), "j1")
"""


def run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV"))}
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=540)


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("client-venv") / "venv"
    venv.EnvBuilder(with_pip=True).create(home)
    python = home / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", REPO_ROOT / "clients/python")
    assert installed.returncode == 0, installed.stderr[-3000:]
    return home


def test_nothing_of_the_server_comes_along(client_venv: Path) -> None:
    python = client_venv / "bin" / "python"
    for module in ("services", "gateway", "skillbridge.ner.v1"):
        probe = run(python, "-c", f"import {module}", cwd=client_venv)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, module
    helped = run(client_venv / "bin" / "skillbridge", "--help", cwd=client_venv)
    assert helped.returncode == 0 and "analyze" in helped.stdout and "exit status:" in helped.stdout
    up = run(client_venv / "bin" / "skillbridge", "up", "--demo", cwd=client_venv)
    assert up.returncode == 2 and "server" in up.stderr and "Traceback" not in up.stderr


async def test_watch_against_a_real_scheduler(client_venv: Path, stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "watch.py"
    script.write_text(WATCH_SCRIPT)
    # A separate process: the scheduler serves on this event loop meanwhile.
    process = await asyncio.create_subprocess_exec(
        str(client_venv / "bin" / "python"),
        str(script),
        stack.address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    seen = json.loads(out)
    assert seen["state"] == "SUCCEEDED" and seen["kinds"][-1] == "succeeded" and "stage_started" in seen["kinds"]
    assert seen["gap"] == ["Kafka"]


def test_a_users_mypy_strict_reads_the_types(client_venv: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(TYPED_SCRIPT)
    (tmp_path / "user.py").write_text(script)
    wrong_line = script.splitlines().index('wrong: int = state_of(SchedulerClient("127.0.0.1:1"), "j1")') + 1
    checked = run(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--config-file",
        "",
        "--python-executable",
        client_venv / "bin" / "python",
        "user.py",
        cwd=tmp_path,
    )
    # One error, the deliberate one: everything else type-checks against the installed package's own types.
    assert checked.stdout.strip().splitlines() == [
        f'user.py:{wrong_line}: error: Incompatible types in assignment (expression has type "str", variable has '
        'type "int")  [assignment]',
        "Found 1 error in 1 file (checked 1 source file)",
    ], checked.stdout + checked.stderr
