"""The `skillbridge` console script as a separate process, as a user runs it: output to files without
PYTHONUNBUFFERED (every line arrives while the job runs), Ctrl-C (SIGINT) leaving the job running with the way
back printed, or cancelling it, and a quiet exit when the reader of its output has gone."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from skillbridge_client import AsyncSchedulerClient, JobState
from skillbridge_client.cli import CLOSED_PIPE
from skillbridge_client.cli_commands import INTERRUPTED, JOB_FAILED

from services.common.settings import Settings
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, running_stack
from tests.support import assert_eventually

SKILLBRIDGE = str(Path(sys.executable).parent / "skillbridge")


def user_environment() -> dict[str, str]:
    """The environment of a user's shell: this machine's PYTHONUNBUFFERED is not there."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env


async def start(tmp_path: Path, *argv: str) -> tuple[asyncio.subprocess.Process, Path, Path]:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            SKILLBRIDGE, *argv, stdout=stdout, stderr=stderr, env=user_environment()
        )
    return process, out, err


async def test_lines_reach_a_file_while_the_job_runs(settings: Settings, tmp_path: Path) -> None:
    resume, job = tmp_path / "resume.txt", tmp_path / "job.txt"
    resume.write_text(RESUME)
    job.write_text(JOB_DESCRIPTION)
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
        process, out, err = await start(
            tmp_path, "--address", stack.address, "analyze", "--resume", str(resume), "--job", str(job)
        )
        await assert_eventually(lambda: "similarity analysis ... running" in err.read_text(), within=30)
        job_id = err.read_text().splitlines()[0].split()[1]
        assert (await client.get(job_id)).state == JobState.RUNNING
        await client.cancel(job_id, reason="seen enough")
        assert await asyncio.wait_for(process.wait(), 30) == JOB_FAILED
    assert f"Job {job_id}: cancelled" in out.read_text()
    assert "cancelled: seen enough" in err.read_text()


async def test_ctrl_c_leaves_the_job_running_and_says_how_to_come_back(settings: Settings, tmp_path: Path) -> None:
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
        job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
        process, _, err = await start(tmp_path, "--address", stack.address, "watch", job.id)
        await assert_eventually(lambda: "similarity analysis ... running" in err.read_text(), within=30)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == INTERRUPTED
        said = err.read_text()
        assert f"job {job.id} goes on without you" in said and f"skillbridge watch {job.id}" in said
        assert "Traceback" not in said
        assert (await client.get(job.id)).state == JobState.RUNNING

        process, _, err = await start(tmp_path, "--address", stack.address, "watch", job.id, "--cancel-on-interrupt")
        await assert_eventually(lambda: "similarity analysis ... running" in err.read_text(), within=30)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == INTERRUPTED
        assert f"interrupted: job {job.id} cancelled" in err.read_text()
        assert (await client.get(job.id)).state == JobState.CANCELLED


async def test_a_closed_pipe_ends_quietly(settings: Settings, tmp_path: Path) -> None:
    """As `skillbridge watch ID | head` once head has gone: the reading end is closed before anything is written."""
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        job = await client.wait((await client.submit_analysis(RESUME, JOB_DESCRIPTION)).id, timeout=10)
        read_end, write_end = os.pipe()
        os.close(read_end)
        err = tmp_path / "err.txt"
        with err.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                SKILLBRIDGE, "--address", stack.address, "watch", job.id,
                stdout=write_end, stderr=stderr, env=user_environment(),
            )  # fmt: skip
        os.close(write_end)
        assert await asyncio.wait_for(process.wait(), 30) == CLOSED_PIPE
    said = err.read_text()
    assert "Broken pipe" not in said and "Traceback" not in said and "Exception ignored" not in said
