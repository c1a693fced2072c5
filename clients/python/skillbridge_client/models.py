"""The SDK's public types: the API's enums and messages under plain names, so callers never import the generated
`*_pb2` modules.

Each enum is a class of constants typed as the wire enum, so `job.state == JobState.SUCCEEDED` type-checks under
`mypy --strict` (an IntEnum would not compare with a message field there), and `JobState.name(job.state)` gives
"SUCCEEDED". Their constants must cover every value the protos define: a test checks it.
"""

from __future__ import annotations

from typing import Final

from skillbridge.common.v1 import course_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

# Messages, under the names callers use. Each is the generated protobuf class itself.
Job = job_pb2.Job
JobEvent = job_pb2.JobEvent
StageStatus = job_pb2.StageStatus
CourseRecommendationResult = job_pb2.CourseRecommendationResult
CourseRecommendation = job_pb2.CourseRecommendation
MatchingDetails = job_pb2.MatchingDetails
NamedEntity = job_pb2.NamedEntity
Course = course_pb2.Course
SkillMatch = course_pb2.SkillMatch
JobRequest = pb.SubmitJobRequest
JobPage = pb.ListJobsResponse
QueueStatus = pb.GetQueueStatusResponse
StageServiceStatus = pb.StageServiceStatus
# What watch() and submit_and_watch() yield: a snapshot of the job, or one of its events.
Update = job_pb2.Job | job_pb2.JobEvent


class _Constants:
    """Base of the enum classes: names for the wire values."""

    @classmethod
    def members(cls) -> dict[str, int]:
        """Every constant of the class by name, e.g. {"QUEUED": 1, ...}."""
        return {key: value for key, value in vars(cls).items() if key.isupper() and isinstance(value, int)}

    @classmethod
    def name(cls, value: int) -> str:
        """The constant's name for a wire value, e.g. "SUCCEEDED"; the number itself when this SDK does not know it."""
        for key, member in cls.members().items():
            if member == value:
                return key
        return str(value)

    @classmethod
    def label(cls, value: int) -> str:
        """The value as words: Stage.label(Stage.SIMILARITY_ANALYSIS) == "similarity analysis"."""
        return cls.name(value).lower().replace("_", " ")


class JobType(_Constants):
    """What a job runs."""

    UNSPECIFIED: Final = job_pb2.JOB_TYPE_UNSPECIFIED
    COURSE_RECOMMENDATION: Final = job_pb2.JOB_TYPE_COURSE_RECOMMENDATION
    NOOP: Final = job_pb2.JOB_TYPE_NOOP
    RANK_ANALYSES: Final = job_pb2.JOB_TYPE_RANK_ANALYSES


class JobState(_Constants):
    """Where a job is: SCHEDULED or WAITING, then QUEUED, RUNNING, and one of the three terminal states."""

    UNSPECIFIED: Final = job_pb2.JOB_STATE_UNSPECIFIED
    QUEUED: Final = job_pb2.JOB_STATE_QUEUED
    RUNNING: Final = job_pb2.JOB_STATE_RUNNING
    SUCCEEDED: Final = job_pb2.JOB_STATE_SUCCEEDED
    FAILED: Final = job_pb2.JOB_STATE_FAILED
    CANCELLED: Final = job_pb2.JOB_STATE_CANCELLED
    SCHEDULED: Final = job_pb2.JOB_STATE_SCHEDULED
    WAITING: Final = job_pb2.JOB_STATE_WAITING

    @staticmethod
    def is_terminal(value: int) -> bool:
        """True for SUCCEEDED, FAILED and CANCELLED: nothing more happens to the job."""
        return value in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Stage(_Constants):
    """The stages of a course-recommendation job, in the order they run."""

    UNSPECIFIED: Final = job_pb2.STAGE_UNSPECIFIED
    ENTITY_RECOGNITION: Final = job_pb2.STAGE_ENTITY_RECOGNITION
    SKILL_EXTRACTION: Final = job_pb2.STAGE_SKILL_EXTRACTION
    SIMILARITY_ANALYSIS: Final = job_pb2.STAGE_SIMILARITY_ANALYSIS
    COURSE_RETRIEVAL: Final = job_pb2.STAGE_COURSE_RETRIEVAL
    RECOMMENDATION: Final = job_pb2.STAGE_RECOMMENDATION
    SCORING: Final = job_pb2.STAGE_SCORING


class StageState(_Constants):
    """Where one stage of a job is."""

    UNSPECIFIED: Final = job_pb2.STAGE_STATE_UNSPECIFIED
    PENDING: Final = job_pb2.STAGE_STATE_PENDING
    RUNNING: Final = job_pb2.STAGE_STATE_RUNNING
    SUCCEEDED: Final = job_pb2.STAGE_STATE_SUCCEEDED
    FAILED: Final = job_pb2.STAGE_STATE_FAILED
    CANCELLED: Final = job_pb2.STAGE_STATE_CANCELLED


class MatchKind(_Constants):
    """How a skill the job asks for was matched with the resume (SkillMatch.kind)."""

    UNSPECIFIED: Final = course_pb2.MATCH_KIND_UNSPECIFIED
    EXACT: Final = course_pb2.MATCH_KIND_EXACT
    ALIAS: Final = course_pb2.MATCH_KIND_ALIAS
    RELATED: Final = course_pb2.MATCH_KIND_RELATED
    SEMANTIC: Final = course_pb2.MATCH_KIND_SEMANTIC
    MISSING: Final = course_pb2.MATCH_KIND_MISSING


class StageServiceState(_Constants):
    """Whether the dispatcher can reach a stage service (QueueStatus.stage_services)."""

    UNSPECIFIED: Final = pb.STAGE_SERVICE_STATE_UNSPECIFIED
    SERVING: Final = pb.STAGE_SERVICE_STATE_SERVING
    UNAVAILABLE: Final = pb.STAGE_SERVICE_STATE_UNAVAILABLE
    PROBING: Final = pb.STAGE_SERVICE_STATE_PROBING
