"""How a job is kept: the small mutable record apart from the input (written once) and the result (written once,
in its wire form, served as it is)."""

from __future__ import annotations

import os
import zlib

from skillbridge.scheduler.v1 import job_pb2

from services.scheduler import codec, convert, core
from services.scheduler.model import CourseInput, JobState, JobType, JobView
from services.scheduler.store.base import JobStore
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.store_support import create
from tests.scheduler.test_store_contract import store  # noqa: F401 - the parametrized store fixture

NOW = 4_000_000.0
RESUME = "Resume " + "python sql docker " * 2000  # about 36 KB


async def raw_record(store: JobStore, job_id: str) -> bytes:  # noqa: F811
    if isinstance(store, SqliteJobStore):
        (body,) = store._db.execute("SELECT body FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return str(body).encode()
    assert isinstance(store, RedisJobStore)
    data = await store._redis.get(store.keys.job(job_id))
    assert isinstance(data, bytes)
    return data if data[:1] == b"{" else zlib.decompress(data)


async def test_the_record_stays_small_and_the_input_and_result_are_kept_once(store: JobStore) -> None:  # noqa: F811
    sub = core.Submission(JobType.COURSE_RECOMMENDATION, CourseInput(RESUME, "Needs Python", 0.6))
    job, _ = await create(store, sub, "ann", NOW)
    (claimed,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    assert claimed.input == CourseInput(RESUME, "Needs Python", 0.6)  # the handler gets the input
    result = job_pb2.CourseRecommendationResult(skill_gap=["Kafka"], recommendations_text="take a course")
    wire = result.SerializeToString()
    await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, wire, NOW + 1, 60.0), NOW + 1)
    record = await raw_record(store, job.id)
    assert len(record) < 2000 and b"python sql docker" not in record and b"take a course" not in record
    done = await store.get(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert done.input == claimed.input and done.result == wire
    served = convert.job(JobView(done))
    assert served.course_recommendation_result == result
    assert served.course_recommendation.resume_text == RESUME


def test_records_of_the_earlier_layout_are_still_read() -> None:
    legacy = {
        "id": "j1",
        "owner": "ann",
        "type": "course_recommendation",
        "state": "SUCCEEDED",
        "priority": 0,
        "create_time": 1.0,
        "input": {"resume_text": "r", "job_description_text": "j", "threshold": 0.5},
        "result": {"skill_gap": ["Kafka"], "matching_details": {"overall_score": 0.5}},
    }
    job = codec.record_from_dict(legacy)
    assert job.input == CourseInput("r", "j", 0.5)
    assert job_pb2.CourseRecommendationResult.FromString(job.result or b"").skill_gap == ["Kafka"]
    noop = codec.record_from_dict(
        {**legacy, "type": "noop", "input": {"payload": "aGk="}, "result": {"payload": "aGk="}}
    )
    assert codec.input_to_bytes(noop.input) == job_pb2.NoopInput(payload=b"hi").SerializeToString()


async def test_a_large_result_is_stored_compressed_and_served_as_written(store: JobStore) -> None:  # noqa: F811
    sub = core.Submission(JobType.COURSE_RECOMMENDATION, CourseInput(RESUME, "Needs Python", 0.6))
    job, _ = await create(store, sub, "ann", NOW)
    (claimed,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    evidence = [f"Built pipeline {i} in Python and SQL for the finance team." for i in range(600)]
    result = job_pb2.CourseRecommendationResult(user_skills=evidence, recommendations_text="take a course")
    wire = result.SerializeToString()
    await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, wire, NOW + 1, 60.0), NOW + 1)
    if isinstance(store, SqliteJobStore):
        (stored,) = store._db.execute("SELECT data FROM results WHERE job_id = ?", (job.id,)).fetchone()
    else:
        assert isinstance(store, RedisJobStore)
        stored = await store._redis.get(store.keys.result(job.id))
    assert len(stored) < len(wire) / 4
    done = await store.get(job.id)
    assert done is not None and done.result == wire


def test_a_result_is_compressed_only_when_large_and_smaller_and_no_result_looks_compressed() -> None:
    small = job_pb2.CourseRecommendationResult(skill_gap=["Kafka"]).SerializeToString()
    assert codec.result_to_stored(small) == small
    noise = job_pb2.NoopInput(payload=os.urandom(9000)).SerializeToString()
    assert codec.result_to_stored(noise) == noise  # incompressible: kept as it is
    full = job_pb2.CourseRecommendationResult(
        recommended_courses=[job_pb2.CourseRecommendation()], skill_gap=["a"] * 2000, uncovered_skills=["b"]
    ).SerializeToString()
    for wire in (small, noise, full, job_pb2.RankAnalysesResult().SerializeToString(), b""):
        assert codec.result_from_stored(codec.result_to_stored(wire)) == wire
    assert codec.result_to_stored(full)[:1] == codec.ZLIB_FIRST_BYTE
