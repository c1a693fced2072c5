"""The submit path's own shortcuts write exactly what the library calls they replace would: the JSON of records
and events, the timestamps and durations of an answer, and the compressed form of an input."""

from __future__ import annotations

import json
import math
import zlib

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from skillbridge.scheduler.v1 import job_pb2

from services.scheduler import codec, convert
from services.scheduler.model import CourseInput, JobType, NoopInput


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
