"""The SDK's public surface: enums that cover the protos, names that spare users the generated modules, no server
code imported, and the private loop that runs the sync client (Ctrl-C cancels what it waited for)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading

import pytest
import skillbridge_client
from google.protobuf.descriptor import EnumDescriptor
from skillbridge.common.v1 import course_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import JobState, JobType, MatchKind, Stage, StageServiceState, StageState
from skillbridge_client._runner import LoopThread
from skillbridge_client.models import _Constants

from tests.support import wait_until

ENUMS: list[tuple[type[_Constants], EnumDescriptor, str]] = [
    (JobType, job_pb2.DESCRIPTOR.enum_types_by_name["JobType"], "JOB_TYPE_"),
    (JobState, job_pb2.DESCRIPTOR.enum_types_by_name["JobState"], "JOB_STATE_"),
    (Stage, job_pb2.DESCRIPTOR.enum_types_by_name["Stage"], "STAGE_"),
    (StageState, job_pb2.DESCRIPTOR.enum_types_by_name["StageState"], "STAGE_STATE_"),
    (MatchKind, course_pb2.DESCRIPTOR.enum_types_by_name["MatchKind"], "MATCH_KIND_"),
    (StageServiceState, pb.DESCRIPTOR.enum_types_by_name["StageServiceState"], "STAGE_SERVICE_STATE_"),
]


@pytest.mark.parametrize(("constants", "descriptor", "prefix"), ENUMS, ids=[e[0].__name__ for e in ENUMS])
def test_enums_cover_every_proto_value(constants: type[_Constants], descriptor: EnumDescriptor, prefix: str) -> None:
    expected = {v.name.removeprefix(prefix): v.number for v in descriptor.values}
    assert constants.members() == expected


def test_enum_names_and_labels() -> None:
    assert JobState.name(JobState.SUCCEEDED) == "SUCCEEDED" and JobState.name(99) == "99"
    assert Stage.label(Stage.SIMILARITY_ANALYSIS) == "similarity analysis"
    assert JobState.is_terminal(JobState.CANCELLED) and not JobState.is_terminal(JobState.RUNNING)
    assert job_pb2.Job(state=JobState.SUCCEEDED).state == JobState.SUCCEEDED


def test_public_names_need_no_generated_module() -> None:
    for name in skillbridge_client.__all__:
        assert hasattr(skillbridge_client, name), name
    assert skillbridge_client.Job is job_pb2.Job and skillbridge_client.SkillMatch is course_pb2.SkillMatch


def test_the_sdk_imports_no_server_code() -> None:
    code = (
        "import sys, skillbridge_client, skillbridge_client.cli, skillbridge_client.cli_commands, "
        "skillbridge_client.documents, skillbridge_client.cli_progress; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('services', 'gateway')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_ctrl_c_while_waiting_cancels_the_coroutine() -> None:
    runner = LoopThread()
    started, cancelled = threading.Event(), threading.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def press_ctrl_c() -> None:
        started.wait(5)
        # A real SIGINT to the main thread, as a terminal's Ctrl-C: it interrupts the blocking wait.
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(slow())
        wait_until(cancelled.is_set, message="the coroutine kept running after Ctrl-C")
        assert runner.run(asyncio.sleep(0, result="still usable")) == "still usable"
    finally:
        runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(asyncio.sleep(0))
