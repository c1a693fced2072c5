"""Protobuf -> JSON for the gateway: the v1 routes return proto JSON (snake_case field names, numbers kept as
JSON numbers), the seed routes the original system's shapes (SEED.md)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}

SEED_STATUS = {
    job_pb2.JOB_STATE_QUEUED: "queued",
    job_pb2.JOB_STATE_RUNNING: "running",
    job_pb2.JOB_STATE_SUCCEEDED: "completed",
    job_pb2.JOB_STATE_FAILED: "failed",
    job_pb2.JOB_STATE_CANCELLED: "cancelled",
}
# The seed contract knows no delayed or waiting jobs: to its clients they are queued (the v1 routes tell them apart).
SEED_STATUS_EXTRA = {job_pb2.JOB_STATE_SCHEDULED: "queued", job_pb2.JOB_STATE_WAITING: "queued"}
SEED_STATUS_BY_STATE_NAME = {
    job_pb2.JobState.Name(state): name for state, name in {**SEED_STATUS, **SEED_STATUS_EXTRA}.items()
}


def to_json(message: Message) -> dict[str, Any]:
    """Proto JSON with field names as in the .proto and every field present. Proto JSON writes 64-bit integers
    as strings; ours (positions, sequences, counts) are small, so they are turned back into numbers."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    _numbers(message, data)
    return data


def _numbers(message: Message, data: dict[str, Any]) -> None:
    for field in message.DESCRIPTOR.fields:
        name = field.name
        if name not in data:
            continue
        value = data[name]
        if field.type in _INT64:
            data[name] = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if value_field.type in _INT64:
                data[name] = {k: int(v) for k, v in value.items()}
            elif value_field.message_type is not None and isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, dict):
                        _numbers(getattr(message, name)[key], item)
        elif field.message_type is not None and field.message_type.full_name.startswith("skillbridge."):
            children = getattr(message, name)
            if isinstance(value, list):
                for child, item in zip(children, value, strict=False):
                    _numbers(child, item)
            elif isinstance(value, dict):
                _numbers(children, value)


def seconds(duration: Any) -> float:
    return float(duration.seconds + duration.nanos / 1e9)


def _iso(stamp: Any, present: bool) -> str | None:
    return str(stamp.ToJsonString()) if present else None


def seed_status(job: job_pb2.Job) -> dict[str, Any]:
    """GET /jobs/status/{id} of the original contract."""
    return {
        "job_id": job.id,
        "status": SEED_STATUS.get(job.state, "queued"),
        "position_in_queue": job.position_in_queue,
        "estimated_wait_seconds": seconds(job.estimated_wait),
        "result": seed_result(job) if job.state == job_pb2.JOB_STATE_SUCCEEDED else None,
        "error": job.error.message if job.HasField("error") and job.error.message else None,
        "created_at": _iso(job.create_time, job.HasField("create_time")),
        "started_at": _iso(job.start_time, job.HasField("start_time")),
        "completed_at": _iso(job.end_time, job.HasField("end_time")),
        "progress": job.progress,
        "current_stage": job_pb2.Stage.Name(job.current_stage),
    }


def seed_result(job: job_pb2.Job) -> dict[str, Any] | None:
    """The `result` of a finished course-recommendation job, with each course's fields flattened."""
    if job.WhichOneof("result") != "course_recommendation_result":
        return to_json(job.noop_result) if job.HasField("noop_result") else None
    result = job.course_recommendation_result
    courses = []
    for rec in result.recommended_courses:
        course = to_json(rec.course)
        course.update(
            covered_skills=list(rec.covered_skills),
            rationale=rec.rationale,
            potential_score=rec.potential_score,
            score_improvement=rec.score_improvement,
        )
        courses.append(course)
    return {
        "recommended_courses": courses,
        "skill_gap": list(result.skill_gap),
        "job_skills": list(result.job_skills),
        "user_skills": list(result.user_skills),
        "recommendations_text": result.recommendations_text,
        "matching_details": to_json(result.matching_details),
        "resume_entities": [to_json(e) for e in result.resume_entities],
        "job_entities": [to_json(e) for e in result.job_entities],
    }


def seed_queue(status: pb.GetQueueStatusResponse) -> dict[str, Any]:
    """GET /jobs/queue/status of the original contract."""
    by_status = dict.fromkeys(SEED_STATUS.values(), 0)
    for state_name, count in status.jobs_by_state.items():
        name = SEED_STATUS_BY_STATE_NAME.get(state_name)
        if name is not None:
            by_status[name] += count
    return {
        "queue_size": status.queued,
        "total_jobs": sum(by_status.values()),
        "worker_running": bool(status.healthy and status.workers > 0),
        "jobs_by_status": by_status,
        "running": status.running,
        "workers": status.workers,
    }
