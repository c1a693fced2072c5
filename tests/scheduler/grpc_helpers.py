"""Small helpers for driving the scheduler over gRPC in tests."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

RESUME = "Senior engineer. Python, SQL and Docker every day; some Airflow."
JOB = "We need Python, SQL, Kubernetes, Kafka and Terraform."


def course_request(**kwargs: Any) -> pb.SubmitJobRequest:
    cr = job_pb2.CourseRecommendationInput(resume_text=RESUME, job_description_text=JOB, threshold=0.5)
    return pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION, course_recommendation=cr, **kwargs)


def noop_request(payload: bytes = b"", **kwargs: Any) -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_NOOP, noop=job_pb2.NoopInput(payload=payload), **kwargs)


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status details"
    return status


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    fields = []
    for detail in rich_status(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    return fields


async def watch_all(stub: Any, job_id: str, after: int = 0, metadata: Any = None) -> list[pb.WatchJobResponse]:
    return [u async for u in stub.WatchJob(pb.WatchJobRequest(job_id=job_id, after_sequence=after), metadata=metadata)]


def events_of(updates: list[pb.WatchJobResponse]) -> list[job_pb2.JobEvent]:
    return [u.event for u in updates if u.HasField("event")]
