"""What an analysis sends the similarity stage: besides the NER stage's skills, the resume's own text, so that a
job skill the resume shows in other words can be found in its sentences (services/similarity/text_coverage.py)."""

from __future__ import annotations

from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.scheduler.grpc_helpers import JOB, RESUME, watch_all
from tests.scheduler.stage_doubles import StageDoubles


async def test_the_similarity_stage_gets_the_resume_text_with_the_skills(
    stub: pb_grpc.JobSchedulerServiceStub, doubles: tuple[StageDoubles, str]
) -> None:
    d, _ = doubles
    given = job_pb2.CourseRecommendationInput(resume_text=RESUME, job_description_text=JOB)
    submitted = await stub.SubmitJob(
        pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION, course_recommendation=given, skip_cache=True)
    )
    await watch_all(stub, submitted.job.id)
    job = (await stub.GetJob(pb.GetJobRequest(job_id=submitted.job.id))).job
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    sent = d.requests["CompareSkills"]
    assert sent.resume_text == RESUME
    assert len(sent.job_skill_details) > 0
