"""Domain types of the scheduler: jobs, stages and events as plain dataclasses (no protobuf)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.scheduler.policy import Quota
    from services.scheduler.store.base import OwnerUsage


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

    @property
    def terminal(self) -> bool:
        return self in (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED)


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
    input: dict[str, Any]
    create_time: float
    request_id: str = ""
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
    result: dict[str, Any] | None = None
    error: JobError | None = None
    last_sequence: int = 0
    # Scheduling policy: the fair-order round, the delay, the jobs it waits for, and its owner's running cap.
    fair_round: int = 0
    not_before: float | None = None
    depends_on: list[str] = field(default_factory=list)
    max_running: int = 0
    # W3C traceparent of the request that submitted the job: its stage calls continue that trace.
    traceparent: str = ""


@dataclass(frozen=True)
class JobEvent:
    """One stored event; `data` holds the kind's fields (plain JSON values)."""

    job_id: str
    sequence: int
    time: float
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewEvent:
    """An event before the store numbers it."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


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


@dataclass
class QueueCounts:
    """Counts the store keeps: queued per priority and jobs per state."""

    queued_by_priority: dict[int, int] = field(default_factory=dict)
    by_state: dict[JobState, int] = field(default_factory=dict)
    finished_last_minute: int = 0
    workers: int = 0


@dataclass(frozen=True)
class JobView:
    """A job as callers see it: the record plus its live queue position and wait estimate."""

    job: JobRecord
    position: int = 0
    estimated_wait: float = 0.0


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
