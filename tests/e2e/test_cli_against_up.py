"""`skillbridge analyze` on the example files against `skillbridge up`: the whole stack as supervised processes
with the real models, as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT
from tests.support import wait_until

pytestmark = pytest.mark.ml

EXAMPLES = REPO_ROOT / "data" / "examples"
SERVICES = ("SCHEDULER", "NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION", "GATEWAY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    return [sys.executable, "-c", "from skillbridge_client.cli import main; raise SystemExit(main())"]


def test_analyze_the_examples_against_up(tmp_path: Path) -> None:
    env = dict(os.environ)
    for name in SERVICES:
        port = free_port()
        env[f"SKILLBRIDGE_{name}_PORT"] = str(port)
        env[f"SKILLBRIDGE_{name}_ADDRESS"] = f"127.0.0.1:{port}"
    env.update(
        SKILLBRIDGE_STORE=f"sqlite:///{tmp_path / 'jobs.db'}",
        SKILLBRIDGE_IMPORTED_CATALOG_PATH=str(tmp_path / "no-imported-catalog.jsonl"),
        SKILLBRIDGE_DEV_KEY="e2e-dev-key",
        SKILLBRIDGE_LOG_LEVEL="WARNING",
    )
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen([*cli(), "up"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: "SkillBridge is up" in (tmp_path / "up.log").read_text() or up.poll() is not None,
            within=120,
            message="the stack did not come up",
        )
        assert up.poll() is None, (tmp_path / "up.log").read_text()
        started = time.monotonic()
        analysis = subprocess.run(
            [
                *cli(),
                "--address",
                env["SKILLBRIDGE_SCHEDULER_ADDRESS"],
                "--api-key",
                "e2e-dev-key",
                "analyze",
                "--resume",
                str(EXAMPLES / "resume.txt"),
                "--job",
                str(EXAMPLES / "job_description.txt"),
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert analysis.returncode == 0, analysis.stderr
        assert time.monotonic() - started < 60
        report = analysis.stdout
        assert ": succeeded" in report
        assert "Match score:" in report and "Missing skills (" in report
        assert "Recommended courses:" in report and "why: Covers" in report
        assert "entity recognition ... succeeded" in analysis.stderr
        assert "scoring ... succeeded" in analysis.stderr
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(60)
        finally:
            if up.poll() is None:
                up.kill()
            log.close()
    assert up.returncode == 0
