"""AsyncSchedulerClient against a real in-process scheduler with stage doubles."""

from __future__ import annotations

import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import (
    AsyncSchedulerClient,
    Conflict,
    DeadlineExceeded,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)

from services.common.settings import Settings
from services.scheduler.server import start
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack, running_stack
from tests.support import assert_eventually


async def test_submit_watch_and_result(client: AsyncSchedulerClient) -> None:
    job = await client.submit_analysis(RESUME, JOB_DESCRIPTION, threshold=0.6)
    assert job.id and job.state == job_pb2.JOB_STATE_QUEUED
    updates = [u async for u in client.watch(job.id)]
    assert isinstance(updates[0], job_pb2.Job)
    events = [u for u in updates if isinstance(u, job_pb2.JobEvent)]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[-1].WhichOneof("kind") == "succeeded"
    finished = await client.get(job.id)
    assert finished.state == job_pb2.JOB_STATE_SUCCEEDED
    result = finished.course_recommendation_result
    assert set(result.skill_gap) == {"Kubernetes", "Kafka"}
    assert {c.course.title for c in result.recommended_courses} == {"Learn Kubernetes", "Learn Kafka"}


async def test_watch_resumes_after_scheduler_restart(settings: Settings) -> None:
    """The scheduler stops mid-job and comes back on the same SQLite file and port: the watch reconnects and
    delivers every event exactly once, in order, through to the terminal one."""
    async with running_stack(settings) as stack:
        stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
        port = stack.scheduler.port
        async with AsyncSchedulerClient(stack.address, timeout=5.0) as client:
            job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
            seen: list[job_pb2.JobEvent] = []
            stream = client.watch(job.id)
            async for update in stream:
                if isinstance(update, job_pb2.JobEvent):
                    seen.append(update)
                    if update.WhichOneof("kind") == "stage_started" and update.stage_started.stage == (
                        job_pb2.STAGE_SIMILARITY_ANALYSIS
                    ):
                        break
            # Restart on the same store and port; the hanging stage is released for the next attempt.
            await stack.scheduler.stop(0.1)
            stack.doubles.behaviors["CompareSkills"] = Behavior()
            restarted = await start(stack.settings, port=port)
            stack.scheduler = restarted
            async for update in client.watch(job.id, after_sequence=seen[-1].sequence):
                if isinstance(update, job_pb2.JobEvent):
                    seen.append(update)
            await stream.aclose()
            sequences = [e.sequence for e in seen]
            assert sequences == list(range(1, len(seen) + 1))
            assert seen[-1].WhichOneof("kind") == "succeeded"
            assert (await client.get(job.id)).state == job_pb2.JOB_STATE_SUCCEEDED


async def test_single_watch_survives_restart(settings: Settings) -> None:
    """One watch() iterator, the scheduler restarted under it: it reconnects by itself on UNAVAILABLE."""
    async with running_stack(settings) as stack:
        stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
        port = stack.scheduler.port
        async with AsyncSchedulerClient(stack.address, timeout=5.0) as client:
            job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
            events: list[job_pb2.JobEvent] = []
            restarted = False
            async for update in client.watch(job.id):
                if not isinstance(update, job_pb2.JobEvent):
                    continue
                events.append(update)
                if (
                    not restarted
                    and update.WhichOneof("kind") == "stage_started"
                    and (update.stage_started.stage == job_pb2.STAGE_SIMILARITY_ANALYSIS)
                ):
                    await stack.scheduler.stop(0.1)
                    stack.doubles.behaviors["CompareSkills"] = Behavior()
                    stack.scheduler = await start(stack.settings, port=port)
                    restarted = True
            assert restarted
            assert [e.sequence for e in events] == list(range(1, len(events) + 1))
            assert events[-1].WhichOneof("kind") == "succeeded"
            kinds = [e.WhichOneof("kind") for e in events]
            assert "retried" in kinds or kinds.count("started") == 2


async def test_poll_backs_off_with_injected_sleep(stack: Stack, client: AsyncSchedulerClient) -> None:
    stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    delays: list[float] = []
    statuses: list[int] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)
        now[0] += seconds
        if len(delays) == 8:
            await client.cancel(job.id, reason="enough")

    final = await client.poll(job.id, lambda j: statuses.append(j.state), clock=lambda: now[0], sleep=fake_sleep)
    assert final.state == job_pb2.JOB_STATE_CANCELLED
    assert delays == pytest.approx([0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.0, 2.0])
    assert len(statuses) == 9 and statuses[-1] == job_pb2.JOB_STATE_CANCELLED


async def test_poll_timeout_uses_injected_clock(stack: Stack, client: AsyncSchedulerClient) -> None:
    stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(DeadlineExceeded):
        await client.poll(job.id, clock=lambda: now[0], sleep=fake_sleep, timeout=3.0)
    assert now[0] <= 3.0
    await client.cancel(job.id)


async def test_cancel_running_then_conflict(stack: Stack, client: AsyncSchedulerClient) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    await assert_eventually(stack.doubles.signal("CompareSkills").wait)
    cancelled = await client.cancel(job.id, reason="changed my mind")
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    await assert_eventually(stack.doubles.was_cancelled("CompareSkills").is_set)
    with pytest.raises(Conflict) as info:
        await client.cancel(job.id)
    assert info.value.code == "FAILED_PRECONDITION"


async def test_wait_times_out(stack: Stack, client: AsyncSchedulerClient) -> None:
    stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    with pytest.raises(DeadlineExceeded):
        await client.wait(job.id, timeout=0.3)
    await client.cancel(job.id)
    assert (await client.wait(job.id, timeout=5)).state == job_pb2.JOB_STATE_CANCELLED


async def test_error_mapping(client: AsyncSchedulerClient) -> None:
    with pytest.raises(NotFound):
        await client.get("no-such-job")
    with pytest.raises(InvalidRequest) as bad:
        await client.submit_analysis("", JOB_DESCRIPTION)
    assert any("resume_text" in v.field for v in bad.value.field_violations)


async def test_quota_exceeded_carries_retry_after(settings: Settings) -> None:
    async with (
        running_stack(settings, max_queue_depth=1, run_dispatcher=False) as stack,
        AsyncSchedulerClient(stack.address) as client,
    ):
        await client.submit_noop(b"1")
        with pytest.raises(QuotaExceeded) as info:
            await client.submit_noop(b"2")
        assert info.value.retry_after is not None and info.value.retry_after > 0


async def test_unauthenticated_and_foreign_jobs(settings: Settings) -> None:
    keyed = settings.replace(api_keys="k1=alice,k2=bob")
    async with running_stack(keyed, run_dispatcher=False) as stack:
        async with AsyncSchedulerClient(stack.address) as anonymous:
            with pytest.raises(Unauthenticated):
                await anonymous.queue_status()
        async with (
            AsyncSchedulerClient(stack.address, api_key="k1") as alice,
            AsyncSchedulerClient(stack.address, api_key="k2") as bob,
        ):
            job = await alice.submit_noop(b"x")
            with pytest.raises(NotFound):
                await bob.get(job.id)
            assert [j.id for j in (await alice.list()).jobs] == [job.id]
            assert (await bob.list()).jobs == []


async def test_unreachable_scheduler_is_unavailable() -> None:
    async with AsyncSchedulerClient("127.0.0.1:1", timeout=1.0) as client:
        with pytest.raises((Unavailable, DeadlineExceeded)):
            await client.queue_status()


async def test_queue_status_and_list(stack: Stack, client: AsyncSchedulerClient) -> None:
    job = await client.submit_noop(b"payload")
    done = await client.wait(job.id, timeout=10)
    assert done.noop_result.payload == b"payload"
    status = await client.queue_status()
    assert status.healthy and status.workers >= 1
    listed = await client.list(states=[job_pb2.JOB_STATE_SUCCEEDED])
    assert job.id in [j.id for j in listed.jobs]
