"""JobRecord <-> JSON-ready dict, shared by every store so they keep jobs in the same shape."""

from __future__ import annotations

import json
from typing import Any

from services.scheduler.model import JobError, JobRecord, JobState, JobType, Stage, StageRecord, StageState


def record_to_dict(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner": job.owner,
        "type": job.type.value,
        "state": job.state.value,
        "priority": job.priority,
        "input": job.input,
        "create_time": job.create_time,
        "request_id": job.request_id,
        "queue_seq": job.queue_seq,
        "attempt": job.attempt,
        "fence": job.fence,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "expire_time": job.expire_time,
        "lease_owner": job.lease_owner,
        "lease_until": job.lease_until,
        "stages": [
            {
                "stage": r.stage.value,
                "state": r.state.value,
                "start_time": r.start_time,
                "end_time": r.end_time,
                "summary": r.summary,
                "metrics": r.metrics,
                "progress": r.progress,
            }
            for r in job.stages
        ],
        "current_stage": job.current_stage.value if job.current_stage else None,
        "result": job.result,
        "error": (
            {
                "code": job.error.code,
                "message": job.error.message,
                "stage": job.error.stage.value if job.error.stage else None,
                "reason": job.error.reason,
            }
            if job.error
            else None
        ),
        "last_sequence": job.last_sequence,
        "fair_round": job.fair_round,
        "not_before": job.not_before,
        "depends_on": job.depends_on,
        "max_running": job.max_running,
        "traceparent": job.traceparent,
        "cache_key": job.cache_key,
        "cached_from": job.cached_from,
    }


def record_from_dict(data: dict[str, Any]) -> JobRecord:
    error = data.get("error")
    return JobRecord(
        id=data["id"],
        owner=data["owner"],
        type=JobType(data["type"]),
        state=JobState(data["state"]),
        priority=data["priority"],
        input=data["input"],
        create_time=data["create_time"],
        request_id=data.get("request_id", ""),
        queue_seq=data.get("queue_seq", 0),
        attempt=data.get("attempt", 0),
        fence=data.get("fence", 0),
        start_time=data.get("start_time"),
        end_time=data.get("end_time"),
        expire_time=data.get("expire_time"),
        lease_owner=data.get("lease_owner", ""),
        lease_until=data.get("lease_until"),
        stages=[
            StageRecord(
                stage=Stage(s["stage"]),
                state=StageState(s["state"]),
                start_time=s.get("start_time"),
                end_time=s.get("end_time"),
                summary=s.get("summary", ""),
                metrics=s.get("metrics", {}),
                progress=s.get("progress", 0.0),
            )
            for s in data.get("stages", [])
        ],
        current_stage=Stage(data["current_stage"]) if data.get("current_stage") else None,
        result=data.get("result"),
        error=(
            JobError(
                code=error["code"],
                message=error["message"],
                stage=Stage(error["stage"]) if error.get("stage") else None,
                reason=error.get("reason", ""),
            )
            if error
            else None
        ),
        last_sequence=data.get("last_sequence", 0),
        fair_round=data.get("fair_round", 0),
        not_before=data.get("not_before"),
        depends_on=list(data.get("depends_on", [])),
        max_running=data.get("max_running", 0),
        traceparent=data.get("traceparent", ""),
        cache_key=data.get("cache_key", ""),
        cached_from=data.get("cached_from", ""),
    )


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text)
