"""`make run` as a user meets it: `skillbridge up --demo` as a process with the real models, its output going to a
file, without PYTHONUNBUFFERED (a user's machine does not set it). The demo's live progress and report must reach
the file while the stack keeps running; then `skillbridge analyze`, `list` and `show` run against that stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT
from tests.support import free_port, wait_until

pytestmark = pytest.mark.ml

EXAMPLES = REPO_ROOT / "data" / "examples"
SERVICES = ("SCHEDULER", "NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION", "GATEWAY")
SKILLBRIDGE = str(Path(sys.executable).parent / "skillbridge")
# Generous: on a busy two-core machine the similarity service alone has taken over two minutes to start.
START_TIMEOUT = 400


@dataclass
class RunningUp:
    """`skillbridge up --demo` running, and where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        address = ["--address", self.env["SKILLBRIDGE_SCHEDULER_ADDRESS"], "--api-key", "e2e-dev-key"]
        return subprocess.run(
            [SKILLBRIDGE, *address, *argv], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=180
        )


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUp]:
    tmp = tmp_path_factory.mktemp("up")
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    for name in SERVICES:
        port = free_port()
        env[f"SKILLBRIDGE_{name}_PORT"] = str(port)
        env[f"SKILLBRIDGE_{name}_ADDRESS"] = f"127.0.0.1:{port}"
    env.update(
        SKILLBRIDGE_STORE=f"sqlite:///{tmp / 'jobs.db'}",
        SKILLBRIDGE_IMPORTED_CATALOG_PATH=str(tmp / "no-imported-catalog.jsonl"),
        SKILLBRIDGE_DEV_KEY="e2e-dev-key",
        SKILLBRIDGE_LOG_LEVEL="WARNING",
    )
    log = tmp / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SKILLBRIDGE, "up", "--demo", "--start-timeout", str(START_TIMEOUT)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RunningUp(process, log, env)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, running.output()[-3000:]


@pytest.mark.timeout(900)
def test_up_demo_prints_progress_and_the_report_while_serving(up: RunningUp) -> None:
    wait_until(
        lambda: "SkillBridge is up" in up.output() or up.process.poll() is not None,
        within=850,
        message="the stack did not come up",
    )
    assert up.process.poll() is None, up.output()[-3000:]
    wait_until(
        lambda: "to try your own resume" in up.output() or up.process.poll() is not None,
        within=180,
        message="the demo's report never reached the file",
    )
    assert up.process.poll() is None, up.output()[-3000:]
    output = up.output()
    assert "demo failed" not in output, output[-3000:]
    progress = output[output.index("Analysing data/examples") :]
    for line in ("queued at position", "entity recognition ... succeeded", "scoring ... succeeded", "] succeeded"):
        assert line in progress, progress
    assert "Match score:" in progress and "Missing skills (" in progress
    assert "Recommended courses:" in progress and "why: " in progress and "potential score" in progress


@pytest.mark.timeout(600)
def test_analyze_list_and_show_against_up(up: RunningUp) -> None:
    wait_until(lambda: "to try your own resume" in up.output(), within=500)
    started = time.monotonic()
    resume, job = str(EXAMPLES / "resume.txt"), str(EXAMPLES / "job_description.txt")
    # The demo analysed these files already: --skip-cache runs the stages again.
    analysis = up.cli("analyze", "--resume", resume, "--job", job, "--skip-cache")
    assert analysis.returncode == 0, analysis.stderr
    print(f"analyze took {time.monotonic() - started:.1f} s")  # noqa: T201 - a figure for the log, not a check
    report = analysis.stdout
    assert ": succeeded" in report and "Match score:" in report and "Recommended courses:" in report
    assert "entity recognition ... succeeded" in analysis.stderr and "scoring ... succeeded" in analysis.stderr
    job_id = analysis.stderr.splitlines()[0].split()[1]

    listed = up.cli("list")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert len(rows) >= 2 and rows[0].split()[:2] == [job_id, "succeeded"]  # newest first: then the demo's

    shown = up.cli("show", job_id)
    assert shown.returncode == 0 and shown.stdout == report

    # Without it, the same analysis is answered at once from the earlier result, as a job of its own.
    again = up.cli("analyze", "--resume", resume, "--job", job)
    assert again.returncode == 0, again.stderr
    assert "reused the result of job" in again.stderr and "Match score:" in again.stdout
