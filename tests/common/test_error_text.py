"""Errors never echo unbounded input: messages and violations are bounded where errors are made, and every
status is made to fit gRPC's metadata limit where it is encoded."""

from __future__ import annotations

import random

from google.rpc import code_pb2, error_details_pb2

from services.common import errors
from services.common.error_text import (
    MAX_DESCRIPTION_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_QUOTED_CHARS,
    MAX_VIOLATIONS,
    bounded,
    counted,
    quote,
)
from services.common.grpc_errors import TRAILER_BUDGET_BYTES, fitted, to_status_proto, trailer_bytes


def test_long_runs_are_cut_and_say_how_much_was_left_out() -> None:
    job_id = "j" * 100_000
    text = bounded(f"job {job_id!r} not found")
    assert text.startswith("job '" + "j" * (MAX_QUOTED_CHARS - 2) + "… (+")
    assert bounded(text) == text  # bounding is idempotent
    assert text.endswith("chars) not found") and len(text) < 200
    assert bounded("job 0123 not found") == "job 0123 not found"  # short text is left alone


def test_a_long_message_is_capped_and_gives_its_length() -> None:
    words = " ".join(["word"] * 50_000)
    text = bounded(words)
    assert len(text) <= MAX_MESSAGE_CHARS and f"({len(words)} chars in all)" in text and text.endswith("word")


def test_quote_and_counted() -> None:
    assert quote("abc") == "'abc'"
    assert quote("x" * 1000) == "'" + "x" * 62 + "… (+939 chars)"
    assert bounded("a" * 65) == "a" * 63 + "… (+2 chars)"
    assert counted(["a", "b"], "id") == "2 ids" and counted(["a"], "id") == "1 id"


def test_errors_bound_their_message_and_violations() -> None:
    huge = "é" * 1_000_000
    assert len(errors.NotFound(f"job {huge} not found").message) <= MAX_MESSAGE_CHARS
    violation = errors.FieldViolation(f"depends_on[{huge}]", f"no job {huge} of yours")
    assert len(violation.field) <= 128 and len(violation.description) <= MAX_DESCRIPTION_CHARS
    many = [errors.FieldViolation(f"depends_on[{i}]", f"no job {'x' * 40}{i} of yours") for i in range(100)]
    error = errors.InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in many), many)
    assert len(error.violations) == MAX_VIOLATIONS and error.violation_count == 100
    assert len(error.message) <= MAX_MESSAGE_CHARS
    assert error.message.startswith(f"100 field violations, the first {MAX_VIOLATIONS} listed: depends_on[0]")


def test_every_status_fits_the_trailer_budget() -> None:
    rng = random.Random(7)
    alphabet = ["a", "é", "中", "😀", " ", "%", "\n"]
    for _ in range(200):
        size = rng.choice([10, 100, 1000, 10_000])
        text = "".join(rng.choice(alphabet) for _ in range(size))
        violations = [errors.FieldViolation(f"f{i}{text[:100]}", text) for i in range(rng.randint(0, 40))]
        for error in (
            errors.InvalidArgument(text, violations),
            errors.NotFound(text),
            errors.ResourceExhausted(text, retry_after=1.0, violations=[errors.QuotaViolation(text, text)] * 3),
        ):
            status = to_status_proto(error)
            assert trailer_bytes(status) <= TRAILER_BUDGET_BYTES
            assert status.code != code_pb2.RESOURCE_EXHAUSTED or isinstance(error, errors.ResourceExhausted)
            assert any(d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) for d in status.details)


def test_fitting_keeps_violations_before_a_long_message_and_counts_what_it_drops() -> None:
    violations = [errors.FieldViolation(f"field_{i}", "€" * 200) for i in range(20)]
    status = to_status_proto(errors.InvalidArgument("€" * 1000, violations))
    bad = error_details_pb2.BadRequest()
    next(d for d in status.details if d.Is(bad.DESCRIPTOR)).Unpack(bad)
    assert 0 < len(bad.field_violations) < 20
    assert status.message.endswith(f"(20 field violations; {len(bad.field_violations)} listed)")
    assert fitted(status) is status  # already fits: unchanged
