"""Python SDK of SkillBridge: AsyncSchedulerClient / SchedulerClient for the JobScheduler API, typed errors, and
the API's enums and messages under plain names (no generated module to import).

    from skillbridge_client import JobState, SchedulerClient

    with SchedulerClient("127.0.0.1:50051", api_key=key) as client:
        job = client.submit_analysis(resume, job_description)
        for update in client.watch(job.id):
            ...
        if client.get(job.id).state == JobState.SUCCEEDED:
            ...
"""

from __future__ import annotations

from skillbridge_client._wire import TERMINAL_STATES, analysis_job, is_terminal, noop_job
from skillbridge_client.aio import AsyncSchedulerClient
from skillbridge_client.errors import (
    Conflict,
    DeadlineExceeded,
    FieldViolation,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    SkillBridgeError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
)
from skillbridge_client.models import (
    Course,
    CourseRecommendation,
    CourseRecommendationResult,
    Job,
    JobEvent,
    JobPage,
    JobRequest,
    JobState,
    JobType,
    MatchingDetails,
    MatchKind,
    NamedEntity,
    QueueStatus,
    SkillMatch,
    Stage,
    StageServiceState,
    StageServiceStatus,
    StageState,
    StageStatus,
    Update,
)
from skillbridge_client.sync import SchedulerClient

__all__ = [
    "TERMINAL_STATES",
    "AsyncSchedulerClient",
    "Conflict",
    "Course",
    "CourseRecommendation",
    "CourseRecommendationResult",
    "DeadlineExceeded",
    "FieldViolation",
    "InvalidRequest",
    "Job",
    "JobEvent",
    "JobPage",
    "JobRequest",
    "JobState",
    "JobType",
    "MatchKind",
    "MatchingDetails",
    "NamedEntity",
    "NotFound",
    "PermissionDenied",
    "QueueStatus",
    "QuotaExceeded",
    "SchedulerClient",
    "SkillBridgeError",
    "SkillMatch",
    "Stage",
    "StageServiceState",
    "StageServiceStatus",
    "StageState",
    "StageStatus",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Update",
    "analysis_job",
    "is_terminal",
    "noop_job",
]
