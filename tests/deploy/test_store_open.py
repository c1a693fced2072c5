"""`python -m services.scheduler` (how the container, compose and Kubernetes start it) with a store it cannot
open: one line naming the file and what to do, exit status 78 (a configuration error the supervisor does not
restart), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.serve import EXIT_CONFIG
from services.common.settings import REPO_ROOT
from tests.chaos.harness import child_env


def corrupt_file(tmp: Path) -> Path:
    path = tmp / "jobs.db"
    path.write_bytes(b"this is not a SQLite database, just bytes where one should be\n" * 100)
    return path


def under_a_file(tmp: Path) -> Path:
    (tmp / "plain-file").write_text("x")
    return tmp / "plain-file" / "jobs.db"


@pytest.mark.parametrize("make_path", [corrupt_file, under_a_file], ids=["not-a-database", "impossible-path"])
def test_a_store_that_cannot_be_opened_exits_with_one_line_naming_it(tmp_path: Path, make_path: object) -> None:
    assert callable(make_path)
    path = make_path(tmp_path)
    env = child_env(
        SKILLBRIDGE_STORE=f"sqlite:///{path}", SKILLBRIDGE_SCHEDULER_PORT="0", SKILLBRIDGE_SCHEDULER_METRICS_PORT="0"
    )
    done = subprocess.run(
        [sys.executable, "-m", "services.scheduler"], cwd=REPO_ROOT, env=env, capture_output=True, timeout=120
    )
    err = done.stderr.decode()
    assert done.returncode == EXIT_CONFIG, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert str(path) in lines[0] and "SKILLBRIDGE_STORE" in lines[0] and "move it away" in lines[0]
