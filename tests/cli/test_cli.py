"""The `skillbridge` CLI in-process against a scheduler with stage doubles."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import docx
import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient
from skillbridge_client.cli import main
from skillbridge_client.cli_commands import JOB_FAILED, SERVER, USAGE

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


async def test_list_and_show(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        done = await client.wait((await client.submit_analysis(RESUME, JOB_DESCRIPTION)).id, timeout=10)
        stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
        running = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
        capsys.readouterr()

        assert await run_cli("--address", stack.address, "list") == 0
        table = capsys.readouterr().out.splitlines()
        assert table[0].split() == ["ID", "STATE", "TYPE", "SCORE", "SUBMITTED"]
        rows = {line.split()[0]: line for line in table[1:]}
        assert "succeeded" in rows[done.id] and "%" in rows[done.id] and "ago" in rows[done.id]
        assert "running" in rows[running.id] or "queued" in rows[running.id]

        assert await run_cli("--address", stack.address, "list", "--state", "succeeded", "--output", "json") == 0
        listed = json.loads(capsys.readouterr().out)
        assert [j["id"] for j in listed] == [done.id]

        assert await run_cli("--address", stack.address, "list", "--limit", "1") == 0
        assert len(capsys.readouterr().out.splitlines()) == 2  # header and the newest job

        assert await run_cli("--address", stack.address, "show", done.id) == 0
        report = capsys.readouterr().out
        assert f"Job {done.id}: succeeded" in report and "Recommended courses:" in report
        assert await run_cli("--address", stack.address, "show", done.id, "-o", "json") == 0
        assert json.loads(capsys.readouterr().out)["course_recommendation_result"]["skill_gap"]

        assert await run_cli("--address", stack.address, "show", running.id) == 0
        out, err = capsys.readouterr()
        assert f"Job {running.id}:" in out and f"skillbridge watch {running.id}" in err
        await client.cancel(running.id)


async def test_watch_a_finished_job_shows_when_things_happened(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        stack.doubles.behaviors["CompareSkills"] = Behavior(delay=0.5)
        job = await client.wait((await client.submit_analysis(RESUME, JOB_DESCRIPTION)).id, timeout=10)
        capsys.readouterr()
        assert await run_cli("--address", stack.address, "watch", job.id) == 0
    err = capsys.readouterr().err
    stamps = {
        line.split("]", 1)[1].strip(): float(line[1:].split("s]")[0]) for line in err.splitlines() if "s] " in line
    }
    assert stamps["similarity analysis ... running"] < 0.5
    assert stamps["course retrieval ... running"] >= 0.5  # the delay of the stage before it, not the replay's speed
    assert stamps["succeeded"] >= 0.5


async def test_exit_statuses(settings: Settings, inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    resume, job = (str(p) for p in inputs)
    assert await run_cli("--address", "127.0.0.1:1", "--timeout", "1", "queue") == SERVER
    assert "UNAVAILABLE" in capsys.readouterr().err
    assert await run_cli("analyze", "--resume", resume) == USAGE  # --job missing
    assert await run_cli("list", "--limit", "0") == USAGE
    assert await run_cli("--address", "127.0.0.1:1", "analyze", "--resume", "/no/such.txt", "--job", job) == USAGE
    assert "cannot read /no/such.txt" in capsys.readouterr().err
    async with running_stack(settings) as stack:
        stack.doubles.behaviors["CompareSkills"] = Behavior(fail_code=grpc.StatusCode.INVALID_ARGUMENT, fail_times=-1)
        argv = ["--address", stack.address, "analyze", "--resume", resume, "--job", job]
        assert await run_cli(*argv) == JOB_FAILED
        assert "failed" in capsys.readouterr().out
        assert await run_cli(*argv, "--threshold", "3") == USAGE
        assert "threshold" in capsys.readouterr().err
        assert await run_cli("--address", stack.address, "--help") == 0
    assert "exit status:" in capsys.readouterr().out


async def test_analyze_reads_pdf_and_docx(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resume, job = tmp_path / "cv.pdf", tmp_path / "ad.docx"
    resume.write_bytes(pdf_with_text(RESUME))
    document = docx.Document()
    document.add_paragraph(JOB_DESCRIPTION)
    document.save(str(job))
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        argv = ["--address", stack.address, "analyze", "--resume", str(resume), "--job", str(job), "-o", "json"]
        assert await run_cli(*argv) == 0
        finished = await client.get(json.loads(capsys.readouterr().out)["id"])
    assert "Data engineer with Python" in finished.course_recommendation.resume_text
    assert finished.course_recommendation.job_description_text.strip() == JOB_DESCRIPTION
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 not really")
    assert await run_cli("analyze", "--resume", str(broken), "--job", str(job)) == USAGE
    assert "this PDF file could not be read" in capsys.readouterr().err


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica, built by hand (no PDF writer among the dependencies)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
