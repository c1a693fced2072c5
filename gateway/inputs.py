"""What the REST routes accept: request bodies and parameters, with the same limits as the scheduler's SubmitJob.

Two kinds of limit live here. Those fixed by the protocol or the scheduler's rules (a threshold in [0, 1], an
int32 priority, at most 100 dependencies, ids of bounded length, finite numbers, text that UTF-8 can encode) are
part of the schema, so OpenAPI documents them and a value the scheduler could never take is refused before it is
sent. Those the deployment configures (max_priority, max_text_bytes) come from the settings object, checked by
`check_submission` with the scheduler's own words. Either way the answer is a 400 INVALID_ARGUMENT naming the
field, as over gRPC."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from skillbridge.scheduler.v1 import job_pb2

from gateway.errors import ApiError
from gateway.settings import GatewaySettings

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# The scheduler's fixed submit limits (services.scheduler.core.Limits); tests check both sides agree.
MAX_REQUEST_ID_CHARS = 128
MAX_DELAY_SECONDS = 30 * 24 * 3600.0
MAX_DEPENDENCIES = 100
# Job ids are 22 characters; a longer one names no job, and is refused before an error message could quote it.
MAX_ID_CHARS = 64
MAX_REASON_CHARS = 1000
MAX_PAGE_TOKEN_CHARS = 1024
MAX_STATE_FILTERS = 16


def _encodable(value: str) -> str:
    """Refuses lone surrogates ("\\ud800"): JSON can carry them, UTF-8 (and so protobuf) cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"is not valid Unicode text (a lone surrogate at character {exc.start})") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]
# A text with something in it: the scheduler refuses empty and blank ones ("must not be empty").
NONBLANK_PATTERN = r"\S"
NonBlankText = Annotated[str, StringConstraints(pattern=NONBLANK_PATTERN), AfterValidator(_encodable)]
JobId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_encodable)]
Threshold = Annotated[
    float,
    Field(
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Minimum similarity in [0, 1] for a resume skill to cover a job skill (0: any similarity).",
    ),
]


class _Strict(BaseModel):
    # JSON has no NaN or Infinity (and 1e999 parses as Infinity): every number must be finite. Strict: a value
    # is taken only in its documented JSON type (no `false` for a number, no "3" for an integer).
    model_config = ConfigDict(allow_inf_nan=False, strict=True)


class AnalysisInput(_Strict):
    """Input of a course-recommendation job. Each text must be non-empty and at most the scheduler's
    max_text_bytes (UTF-8)."""

    resume_text: NonBlankText
    job_description_text: NonBlankText
    threshold: Threshold = 0.5


class NoopBody(_Strict):
    """Input of a noop job: base64 bytes returned unchanged as its result."""

    payload: Annotated[str, StringConstraints(max_length=2 * 1024 * 1024)] = ""


class SubmitBody(_Strict):
    """POST /v1/jobs: SubmitJobRequest as JSON. `type` may be the enum name or its short form."""

    type: Literal["JOB_TYPE_COURSE_RECOMMENDATION", "JOB_TYPE_NOOP", "course_recommendation", "noop"] = (
        "JOB_TYPE_COURSE_RECOMMENDATION"
    )
    course_recommendation: AnalysisInput | None = None
    noop: NoopBody | None = None
    priority: int = Field(
        default=0, ge=0, le=INT32_MAX, description="Higher runs first: 0 to max_priority (9 unless configured)."
    )
    request_id: Annotated[str, StringConstraints(max_length=MAX_REQUEST_ID_CHARS), AfterValidator(_encodable)] = Field(
        default="", description="Idempotency key: a second submit with the same key returns the first job."
    )
    delay_seconds: float | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="Start no sooner than this after submit."
    )
    depends_on: list[JobId] = Field(
        default_factory=list, max_length=MAX_DEPENDENCIES, description="Ids of your jobs that must succeed first."
    )


class CancelBody(_Strict):
    """Optional body of a cancel."""

    reason: Annotated[str, StringConstraints(max_length=MAX_REASON_CHARS), AfterValidator(_encodable)] = ""


class SeedPayload(_Strict):
    """The analysis input of the original contract: an empty or missing text is a 400 with `detail`, as the
    original answered."""

    resume_text: NonBlankText
    job_description_text: NonBlankText
    threshold: Threshold = 0.5


class SeedSubmit(_Strict):
    """POST /jobs/submit body."""

    type: Literal["course_recommendation"] = "course_recommendation"
    payload: SeedPayload


StateName = Literal[
    "queued",
    "running",
    "completed",
    "succeeded",
    "failed",
    "cancelled",
    "scheduled",
    "waiting",
    "JOB_STATE_QUEUED",
    "JOB_STATE_RUNNING",
    "JOB_STATE_SUCCEEDED",
    "JOB_STATE_FAILED",
    "JOB_STATE_CANCELLED",
    "JOB_STATE_SCHEDULED",
    "JOB_STATE_WAITING",
]

STATE_BY_NAME: dict[str, job_pb2.JobState.ValueType] = {
    **{job_pb2.JobState.Name(s): s for s in job_pb2.JobState.values() if s},
    "queued": job_pb2.JOB_STATE_QUEUED,
    "running": job_pb2.JOB_STATE_RUNNING,
    "completed": job_pb2.JOB_STATE_SUCCEEDED,
    "succeeded": job_pb2.JOB_STATE_SUCCEEDED,
    "failed": job_pb2.JOB_STATE_FAILED,
    "cancelled": job_pb2.JOB_STATE_CANCELLED,
    "scheduled": job_pb2.JOB_STATE_SCHEDULED,
    "waiting": job_pb2.JOB_STATE_WAITING,
}


def check_submission(
    settings: GatewaySettings, *, priority: int, texts: dict[str, str], text_path: str = "course_recommendation"
) -> None:
    """The limits the deployment configures, in the scheduler's words: raises a 400 naming every field over."""
    violations: list[tuple[str, str]] = []
    if priority > settings.max_priority:
        violations.append(("priority", f"must be between 0 and {settings.max_priority}"))
    for name, text in texts.items():
        size = len(text.encode("utf-8"))
        if size > settings.max_text_bytes:
            violations.append((f"{text_path}.{name}", f"is {size} bytes; the limit is {settings.max_text_bytes}"))
    if violations:
        raise ApiError(400, "; ".join(f"{f} {d}" for f, d in violations), violations=violations)
