"""`threshold: 0` is a threshold of its own over gRPC, end to end to the similarity stage: absent means the
default 0.5, 0 means 0 (any similarity counts), not "the default" as it did when proto3 could not tell them apart."""

from __future__ import annotations

from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.scheduler.grpc_helpers import JOB, RESUME, watch_all
from tests.scheduler.stage_doubles import StageDoubles


def analysis(threshold: float | None) -> pb.SubmitJobRequest:
    given = job_pb2.CourseRecommendationInput(resume_text=RESUME, job_description_text=JOB)
    if threshold is not None:
        given.threshold = threshold
    return pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION, course_recommendation=given, skip_cache=True
    )


async def run(stub: pb_grpc.JobSchedulerServiceStub, threshold: float | None) -> job_pb2.Job:
    submitted = await stub.SubmitJob(analysis(threshold))
    await watch_all(stub, submitted.job.id)
    return (await stub.GetJob(pb.GetJobRequest(job_id=submitted.job.id))).job


async def test_zero_reaches_the_similarity_stage_as_zero(
    stub: pb_grpc.JobSchedulerServiceStub, doubles: tuple[StageDoubles, str]
) -> None:
    d, _ = doubles
    job = await run(stub, 0.0)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    sent = d.requests["CompareSkills"]
    assert sent.HasField("threshold") and sent.threshold == 0.0
    assert job.course_recommendation_result.matching_details.threshold == 0.0


async def test_absent_is_the_default_and_other_values_pass_as_given(
    stub: pb_grpc.JobSchedulerServiceStub, doubles: tuple[StageDoubles, str]
) -> None:
    d, _ = doubles
    for given, used in ((None, 0.5), (0.25, 0.25), (1.0, 1.0)):
        job = await run(stub, given)
        assert job.course_recommendation_result.matching_details.threshold == used
        assert d.requests["CompareSkills"].threshold == used
