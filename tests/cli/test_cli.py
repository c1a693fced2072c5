"""The `skillbridge` CLI in-process against a scheduler with stage doubles."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient
from skillbridge_client.cli import main
from skillbridge_client.cli_commands import JOB_FAILED, USAGE

from services.common.settings import Settings
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, running_stack
from tests.support import assert_eventually


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    resume, job = tmp_path / "resume.txt", tmp_path / "job.txt"
    resume.write_text(RESUME)
    job.write_text(JOB_DESCRIPTION)
    return resume, job


async def run_cli(*argv: str) -> int:
    # The scheduler serves on this event loop; the CLI blocks, so it runs in a thread.
    return await asyncio.to_thread(main, list(argv))


async def test_analyze_prints_progress_and_report(
    settings: Settings, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(settings) as stack:
        code = await run_cli("--address", stack.address, "analyze", "--resume", str(inputs[0]), "--job", str(inputs[1]))
    out, err = capsys.readouterr()
    assert code == 0
    assert "similarity analysis ... running" in err and "scoring ... succeeded" in err
    assert "Missing skills (2): Kubernetes, Kafka" in out
    assert "Learn Kubernetes" in out and "why: Covers Kubernetes" in out and "potential score" in out


async def test_analyze_json(settings: Settings, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    async with running_stack(settings) as stack:
        argv = ["--address", stack.address, "analyze", "--resume", str(inputs[0]), "--job", str(inputs[1])]
        code = await run_cli(*argv, "--json", "--threshold", "0.7")
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 0 and data["state"] == "JOB_STATE_SUCCEEDED"
    assert data["course_recommendation"]["threshold"] == 0.7


async def test_status_cancel_queue_watch(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
        job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
        await assert_eventually(stack.doubles.signal("CompareSkills").wait)
        capsys.readouterr()
        assert await run_cli("--address", stack.address, "status", job.id) == 0
        out = capsys.readouterr().out
        assert f"Job {job.id} (course recommendation): running" in out
        assert "skill extraction" in out and "succeeded" in out

        assert await run_cli("--address", stack.address, "queue") == 0
        assert "running 1" in capsys.readouterr().out

        assert await run_cli("--address", stack.address, "cancel", job.id) == 0
        assert f"job {job.id}: cancelled" in capsys.readouterr().out
        assert (await client.get(job.id)).state == job_pb2.JOB_STATE_CANCELLED

        assert await run_cli("--address", stack.address, "watch", job.id) == JOB_FAILED
        assert "cancelled" in capsys.readouterr().out
        assert await run_cli("--address", stack.address, "cancel", job.id) == USAGE
        assert "FAILED_PRECONDITION" in capsys.readouterr().err
        assert await run_cli("--address", stack.address, "status", "nope") == USAGE
        assert "NOT_FOUND" in capsys.readouterr().err


async def test_api_key_is_sent(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async with running_stack(settings, api_keys="sekrit=carol", run_dispatcher=False) as stack:
        assert await run_cli("--address", stack.address, "queue") == USAGE
        assert "UNAUTHENTICATED" in capsys.readouterr().err
        assert await run_cli("--address", stack.address, "--api-key", "sekrit", "queue") == 0


async def test_analyze_after_another_job_and_with_a_delay_shows_both(
    settings: Settings, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(settings) as stack:
        async with AsyncSchedulerClient(stack.address) as client:
            first = await client.submit_noop(b"first")
        argv = ["--address", stack.address, "analyze", "--resume", str(inputs[0]), "--job", str(inputs[1])]
        code = await run_cli(*argv, "--delay", "0.3", "--after", first.id)
        queue = await run_cli("--address", stack.address, "queue")
    out, err = capsys.readouterr()
    assert code == 0 and queue == 0
    assert "scheduled: starts at" in err
    assert "released (" in err
    assert "you: dev (admin" in out


def test_catalog_import_validates_and_persists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "imported.jsonl"
    monkeypatch.setenv("SKILLBRIDGE_IMPORTED_CATALOG_PATH", str(target))
    good = tmp_path / "courses.csv"
    good.write_text(
        "id,title,provider,description,skills,level,duration_hours,url\n"
        "c1,Kafka Basics,Acme,Streams,Apache Kafka;Stream Processing,beginner,6,https://example.org/kafka\n"
    )
    assert main(["catalog", "import", str(good)]) == 0
    assert "Kafka Basics" in target.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,level\nc2,Broken,expert\n")
    assert main(["catalog", "import", str(bad)]) != 0
    assert "level" in capsys.readouterr().err
    assert "Kafka Basics" in target.read_text()  # the earlier import is untouched
