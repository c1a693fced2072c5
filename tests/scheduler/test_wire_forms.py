"""The submit path's own shortcuts write exactly what the library calls they replace would: the JSON of records
and events, the timestamps and durations of an answer, and the compressed form of an input."""

from __future__ import annotations

import dataclasses
import json
import math
import zlib

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from skillbridge.scheduler.v1 import job_pb2

from services.scheduler import codec, convert, core
from services.scheduler.model import (
    CourseInput,
    JobError,
    JobRecord,
    JobState,
    JobType,
    JobView,
    NoopInput,
    Stage,
    StageState,
)


@pytest.mark.parametrize(
    "value",
    [
        {"position": 3, "estimated_wait": 0.125},
        {"s": "café \u2028 \U0001f600", "n": None, "t": True, "f": False, "l": [1, -0.0, 1e300, 2.5e-7]},
        {1: "int key", 2.5: "float key", None: "none key", False: "bool key"},
        {"nested": {"list": [[], {}, [{"x": 1}]]}},
        {"inf": math.inf, "ninf": -math.inf},
        [1, "two", 3.0],
        "plain \u00e9",
        7,
        None,
    ],
)
def test_dumps_writes_what_json_dumps_writes(value: object) -> None:
    assert codec.dumps(value) == json.dumps(value, separators=(",", ":"))


def test_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        codec.dumps({"x": object()})


@pytest.mark.parametrize("seconds", [0.0, 1.5, -0.5, -1.25, 3e-9, -3e-9, 1_700_000_000.123456, 86_400.000000001])
def test_durations_and_timestamps_are_what_protobuf_makes_of_the_nanoseconds(seconds: float) -> None:
    expected_duration = duration_pb2.Duration()
    expected_duration.FromNanoseconds(int(seconds * 1e9))
    assert convert.duration(seconds) == expected_duration
    expected_timestamp = timestamp_pb2.Timestamp()
    expected_timestamp.FromNanoseconds(int(seconds * 1e9))
    assert convert.timestamp(seconds) == expected_timestamp


@pytest.mark.parametrize("seconds", [-62_135_596_801.0, 253_402_300_800.0])
def test_a_timestamp_out_of_protobufs_range_is_refused_as_protobuf_refuses_it(seconds: float) -> None:
    with pytest.raises(ValueError):
        timestamp_pb2.Timestamp().FromNanoseconds(int(seconds * 1e9))
    with pytest.raises(ValueError):
        convert.timestamp(seconds)


@pytest.mark.parametrize(
    "given",
    [
        NoopInput(b"x" * 1024),
        NoopInput(bytes(range(256)) * 3),
        CourseInput("python sql docker " * 50, "kafka spark airflow " * 60, 0.5),
        CourseInput("python sql docker " * 3000, "kafka " * 10, 0.0),  # over SMALL_DEFLATE_BYTES
    ],
)
def test_an_input_is_stored_as_zlib_would_compress_it_and_reads_back(given: NoopInput | CourseInput) -> None:
    stored = codec.input_to_bytes(given)
    raw = (
        job_pb2.NoopInput(payload=given.payload)
        if isinstance(given, NoopInput)
        else job_pb2.CourseRecommendationInput(
            resume_text=given.resume_text, job_description_text=given.job_description_text, threshold=given.threshold
        )
    ).SerializeToString()
    packed = zlib.compress(raw)
    assert stored == (packed if len(packed) < len(raw) else raw)
    job_type = JobType.NOOP if isinstance(given, NoopInput) else JobType.COURSE_RECOMMENDATION
    assert codec.input_from_bytes(job_type, stored) == given


def varied_records() -> list[JobRecord]:
    """Records with every field set and unset: stages with metrics, an error, dependencies, a digest, times that
    are None, whole, fractional, huge, NaN and infinite, text that JSON escapes, and ints for floats."""
    plain = core.new_job(core.Submission(JobType.NOOP, NoopInput(b"x")), "ann", 1_732_957_273.123456)[0]
    course = core.new_job(
        core.Submission(JobType.COURSE_RECOMMENDATION, CourseInput("r", "j"), priority=3, request_id='r-\u00e9"1'),
        "b\u00f6b \\ \U0001f600",
        1e-7,
    )[0]
    course.request_digest = "ab" * 32
    course.state, course.attempt, course.fence, course.start_time = JobState.RUNNING, 2, 5, 1_732_957_274
    course.lease_owner, course.lease_until, course.current_stage = "w\n1", 1e300, Stage.SKILL_EXTRACTION
    course.stages[0].state, course.stages[0].start_time, course.stages[0].end_time = StageState.SUCCEEDED, 1.5, 2.25
    course.stages[0].summary, course.stages[0].metrics, course.stages[0].progress = "ok \t", {"f1": 0.5}, 1.0
    failed = core.new_job(core.Submission(JobType.RANK_ANALYSES, None, depends_on=("a", "b\u2028")), "cy", 7.0)[0]
    failed.state, failed.end_time, failed.expire_time = JobState.FAILED, math.inf, -math.inf
    failed.error = JobError(13, 'boom "quoted"', Stage.SCORING, "WHY")
    failed.not_before, failed.queue_seq, failed.fair_round, failed.last_sequence = math.nan, 12, 4, 9
    failed.max_running, failed.traceparent, failed.cache_key, failed.cached_from = 16, "00-t-01", "k", "j0"
    failed.waiting_for_service, failed.error.stage = "ner", None
    return [plain, course, failed]


@pytest.mark.parametrize("job", varied_records(), ids=["plain", "course", "failed"])
def test_record_json_writes_what_dumps_writes_of_the_record(job: JobRecord) -> None:
    assert codec.record_json(job) == codec.dumps(codec.record_to_dict(job))
    assert codec.record_json(job) == json.dumps(codec.record_to_dict(job), separators=(",", ":"))


@pytest.mark.parametrize("job", varied_records(), ids=["plain", "course", "failed"])
def test_a_job_answer_leaves_default_fields_unset_and_is_the_same_bytes(job: JobRecord) -> None:
    """fill_job skips scalars at their default: setting each of them anyway changes nothing on the wire."""
    if job.not_before is not None:  # times a Timestamp can hold
        job = dataclasses.replace(job, not_before=1e9, end_time=1e9 + 1, expire_time=1e9 + 2)
    for view in (JobView(job), JobView(job, 7, 2.5)):
        answer = convert.job(view)
        explicit = job_pb2.Job()
        explicit.CopyFrom(answer)
        explicit.priority, explicit.request_id = job.priority, job.request_id
        explicit.position_in_queue, explicit.progress = view.position, core.progress(job)
        explicit.attempt, explicit.last_sequence = job.attempt, job.last_sequence
        explicit.cached_from_job_id, explicit.waiting_for_service = job.cached_from, job.waiting_for_service
        assert explicit.SerializeToString() == answer.SerializeToString()
        assert answer.HasField("estimated_wait") and answer.HasField("create_time")
        assert answer.HasField("not_before") is (job.not_before is not None)
