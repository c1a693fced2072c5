"""Domain types of the scheduler: jobs, stages and events as plain dataclasses (no protobuf).

Value types are frozen, except those built for every job of a batch submit: NewEvent, JobView and the admission
types here, core.Submission, admission.AdmissionRequest and store.base.AdmissionRequestKeys. A frozen dataclass
sets each field through object.__setattr__, about five times a plain one's cost; frozen, these took 11% of the
instructions of a 500-job SubmitJobs (callgrind). Nothing changes them once built.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.common import errors


class JobState(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SCHEDULED = "SCHEDULED"
    WAITING = "WAITING"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
# States that count against an owner's max_queued: waiting to run, one way or another.
PENDING_STATES = frozenset({JobState.QUEUED, JobState.SCHEDULED, JobState.WAITING})


class JobType(enum.StrEnum):
    COURSE_RECOMMENDATION = "course_recommendation"
    NOOP = "noop"
    RANK_ANALYSES = "rank_analyses"


class Stage(enum.StrEnum):
    """Stages of the course-recommendation pipeline, in the order they run."""

    ENTITY_RECOGNITION = "ENTITY_RECOGNITION"
    SKILL_EXTRACTION = "SKILL_EXTRACTION"
    SIMILARITY_ANALYSIS = "SIMILARITY_ANALYSIS"
    COURSE_RETRIEVAL = "COURSE_RETRIEVAL"
    RECOMMENDATION = "RECOMMENDATION"
    SCORING = "SCORING"


# The stage service each stage calls, by the short name events and queue status use.
SERVICE_OF_STAGE: dict[Stage, str] = {
    Stage.ENTITY_RECOGNITION: "ner",
    Stage.SKILL_EXTRACTION: "ner",
    Stage.SIMILARITY_ANALYSIS: "similarity",
    Stage.COURSE_RETRIEVAL: "retrieval",
    Stage.RECOMMENDATION: "recommendation",
    Stage.SCORING: "recommendation",
}
STAGE_SERVICES = ("ner", "similarity", "retrieval", "recommendation")


def stages_of(service: str) -> list[Stage]:
    """The stages that call `service`, in pipeline order."""
    return [stage for stage, name in SERVICE_OF_STAGE.items() if name == service]


STAGES_BY_TYPE: dict[JobType, tuple[Stage, ...]] = {
    JobType.COURSE_RECOMMENDATION: tuple(Stage),
    JobType.NOOP: (),
    JobType.RANK_ANALYSES: (),
}


class StageState(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class EventKind(enum.StrEnum):
    """What an event records; the names match the `kind` oneof of the JobEvent proto."""

    QUEUED = "queued"
    STARTED = "started"
    STAGE_STARTED = "stage_started"
    STAGE_PROGRESS = "stage_progress"
    STAGE_FINISHED = "stage_finished"
    RETRIED = "retried"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"
    WAITING = "waiting"
    RELEASED = "released"
    SERVICE_WAITING = "service_waiting"
    SERVICE_RECOVERED = "service_recovered"

    @property
    def terminal(self) -> bool:
        return self in (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED)


# The similarity threshold of an analysis that gives none (absent; 0 is a threshold of its own).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class CourseInput:
    """The input of a course-recommendation analysis."""

    resume_text: str = ""
    job_description_text: str = ""
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class NoopInput:
    """The input of a no-op job: a payload it returns."""

    payload: bytes = b""


@dataclass(frozen=True)
class RankInput:
    """A rank-analyses job has no input of its own: it ranks the jobs it depends on."""


JobInput = CourseInput | NoopInput | RankInput
# The input each job type takes.
INPUT_TYPES: dict[JobType, type[CourseInput] | type[NoopInput] | type[RankInput]] = {
    JobType.COURSE_RECOMMENDATION: CourseInput,
    JobType.NOOP: NoopInput,
    JobType.RANK_ANALYSES: RankInput,
}


@dataclass
class StageRecord:
    """The state of one stage of one job."""

    stage: Stage
    state: StageState = StageState.PENDING
    start_time: float | None = None
    end_time: float | None = None
    summary: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    progress: float = 0.0

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass
class JobError:
    """Why a job failed or was cancelled. `code` is a google.rpc.Code number."""

    code: int
    message: str
    stage: Stage | None = None
    reason: str = ""


@dataclass
class JobRecord:
    """Everything the store keeps about a job. Times are seconds since the epoch."""

    id: str
    owner: str
    type: JobType
    state: JobState
    priority: int
    # Written once at submit and kept apart from the record, which every state change rewrites.
    input: JobInput
    create_time: float
    request_id: str = ""
    # With a request_id: a digest of the body it was submitted with (services/scheduler/idempotency.py).
    request_digest: str = ""
    queue_seq: int = 0
    attempt: int = 0
    fence: int = 0
    start_time: float | None = None
    end_time: float | None = None
    expire_time: float | None = None
    lease_owner: str = ""
    lease_until: float | None = None
    stages: list[StageRecord] = field(default_factory=list)
    current_stage: Stage | None = None
    # The result in its wire form (the serialised result message of the job's type), written once at the end
    # and kept apart from the record; None until then, and when the record was read without it.
    result: bytes | None = None
    error: JobError | None = None
    last_sequence: int = 0
    # Scheduling policy: the fair-order round, the delay, the jobs it waits for, and its owner's running cap.
    fair_round: int = 0
    not_before: float | None = None
    depends_on: list[str] = field(default_factory=list)
    max_running: int = 0
    # W3C traceparent of the request that submitted the job: its stage calls continue that trace.
    traceparent: str = ""
    # The result cache: the key of this job's inputs with the model and data versions ("" when not cacheable),
    # and the job whose result this one reused ("" when it ran itself).
    cache_key: str = ""
    cached_from: str = ""
    # The stage service the running attempt is waiting for because it cannot reach it ("" when none).
    waiting_for_service: str = ""


@dataclass(frozen=True)
class JobEvent:
    """One stored event; `data` holds the kind's fields (plain JSON values)."""

    job_id: str
    sequence: int
    time: float
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


@dataclass  # not frozen: built for every job of a batch submit (see the module's docstring)
class NewEvent:
    """An event before the store numbers it. `timings` are measured durations worth keeping for estimates
    (("stage:<STAGE>" | "service:<STAGE>" | "job:<type>", seconds), ...), which the store records with the event."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)
    timings: tuple[tuple[str, float], ...] = ()


class JobNotFound(errors.NotFound):
    reason = "JOB_NOT_FOUND"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} not found")
        self.job_id = job_id


class StaleAttempt(Exception):
    """A worker wrote with a fencing token that is no longer the job's: its attempt was superseded."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the owner their jobs belong to, and whether they may see everyone's."""

    owner: str
    admin: bool = False
    tier: str = "standard"


@dataclass(frozen=True)
class Timing:
    """Measured durations of one stage or job type."""

    key: str
    mean: float
    p95: float
    samples: int
    p50: float = 0.0
    # The median of the newest samples only: what it takes now (under the load of the moment).
    recent: float = 0.0


@dataclass
class QueueCounts:
    """Counts the store keeps: queued per priority and jobs per state."""

    queued_by_priority: dict[int, int] = field(default_factory=dict)
    by_state: dict[JobState, int] = field(default_factory=dict)
    finished_last_minute: int = 0
    workers: int = 0


@dataclass  # not frozen: built for every job of a batch submit (see the module's docstring)
class JobView:
    """A job as callers see it: the record plus its live queue position and wait estimate."""

    job: JobRecord
    position: int = 0
    estimated_wait: float = 0.0


@dataclass(frozen=True)
class Quota:
    """One owner's limits, from their tier; 0 means unlimited."""

    tier: str
    max_priority: int
    max_queued: int
    max_running: int
    submit_rate: float
    submit_burst: int

    @property
    def limited(self) -> bool:
        return bool(self.max_queued or self.max_running or self.submit_rate)


@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: tokens left at `updated` (seconds since the epoch)."""

    tokens: float
    updated: float


@dataclass(frozen=True)
class OwnerUsage:
    """How many of an owner's jobs wait (queued, scheduled or waiting) and run."""

    pending: int
    running: int


def order_key(priority: int, fair_round: int, queue_seq: int) -> str:
    """A string that sorts in dispatch order: priority desc, then round, then submit order."""
    return f"{99 - priority:02d}{fair_round:012d}{queue_seq:012d}"


# --- admission: what a store reads for a decision, and the decision it applies ----------------------------


@dataclass  # not frozen: built for every job of a batch submit (see the module's docstring)
class AdmissionSnapshot:
    """What the store read for one admission (a submit or a release), as of one moment."""

    # The owner's earlier job with the same request_id (a submit only).
    existing: JobRecord | None = None
    # Every dependency named, None for the ones that do not exist.
    dependencies: dict[str, JobRecord | None] = field(default_factory=dict)
    # The owner's jobs waiting (queued, scheduled or waiting), and every queued job.
    pending: int = 0
    depth: int = 0
    # The owner's submit-rate bucket (None: never used).
    bucket: Bucket | None = None
    # The owner's finished job with the same cache key, when one was asked for.
    cached: JobRecord | None = None
    # The fair-order round being served at the job's priority, and the owner's last round there.
    serving_round: int = 0
    owner_round: int | None = None


@dataclass  # not frozen: built for every job of a batch submit (see the module's docstring)
class AdmissionGuard:
    """What must still hold when the store writes a decision: the reads it depended on. A store that cannot
    write under a lock checks these atomically with the write and, when one fails, reads again and re-decides."""

    # The owner's waiting jobs and the queue depth must not have grown past what was read (None: not read).
    pending_at_most: int | None = None
    depth_at_most: int | None = None
    # The bucket and the owner's round must be exactly as read.
    bucket: bool = False
    owner_round: bool = False


@dataclass
class Admission:
    """The decision about one submit or release, for the store to apply as a whole.

    `job` is the record to write (None when the submit repeats an earlier request_id: `existing` is the
    answer). A job entering the queue gets its submit order from the store, which then counts its position
    and builds its queued event with `queued_event(position)`; `events` are written after that one."""

    job: JobRecord | None
    snapshot: AdmissionSnapshot
    events: list[NewEvent] = field(default_factory=list)
    queued_event: Callable[[int], NewEvent] | None = None
    bucket: Bucket | None = None
    guard: AdmissionGuard = field(default_factory=AdmissionGuard)

    @property
    def existing(self) -> JobRecord | None:
        return self.snapshot.existing if self.job is None else None

    @property
    def enqueues(self) -> bool:
        return self.job is not None and self.job.state is JobState.QUEUED and self.queued_event is not None


class ServiceState(enum.StrEnum):
    """A stage service as a dispatcher sees it (the StageServiceState proto without its prefix)."""

    UNSPECIFIED = "UNSPECIFIED"  # nothing heard yet: jobs start as when SERVING
    SERVING = "SERVING"  # its circuit breaker is closed
    UNAVAILABLE = "UNAVAILABLE"  # open: no job that needs it is started
    PROBING = "PROBING"  # half-open: one job may try it


@dataclass(frozen=True)
class StageServiceView:
    """One stage service's breaker as GetQueueStatus shows it (`since` in seconds since the epoch)."""

    service: str
    state: ServiceState
    since: float
    reason: str
    waiting_jobs: int


@dataclass
class QueueStatus:
    """The figures GetQueueStatus reports, with the caller's own limits and use."""

    counts: QueueCounts
    timings: dict[str, Timing]
    workers: int
    healthy: bool
    max_queue_depth: int
    owner: str
    quota: Quota
    usage: OwnerUsage
    # The stage services this process's dispatcher calls (none without a dispatcher).
    stage_services: list[StageServiceView] = field(default_factory=list)
