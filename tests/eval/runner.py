"""Runs evaluation pairs through the real stack: the four stage services and a scheduler on a temporary SQLite
file, all in this process, driven over gRPC with the generated stubs exactly as a client would.

Every pair is one COURSE_RECOMMENDATION job; what the evaluation reads is the job's result: `job_skills`,
`skill_gap`, the recommended courses and, when present, how each job skill was matched.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.server import start as start_scheduler
from services.stack import start_stage_services
from tests.eval.dataset import EvalPair
from tests.eval.scoring import PairOutcome, RecommendedCourse

# Generous: on a busy two-core machine a job can wait behind every other pair of the split.
JOB_DEADLINE_SECONDS = 900.0


def _outcome(pair_id: str, job: job_pb2.Job) -> PairOutcome:
    if job.state != job_pb2.JOB_STATE_SUCCEEDED:
        state = job_pb2.JobState.Name(job.state)
        return PairOutcome(pair_id, error=f"{state}: {job.error.message}")
    result = job.course_recommendation_result
    courses = tuple(
        RecommendedCourse(c.course.title, tuple(c.covered_skills), tuple(c.course.skills))
        for c in result.recommended_courses
    )
    required = {m.job_skill: m.required for m in result.matching_details.job_skill_matches}
    return PairOutcome(
        pair_id,
        job_skills=tuple(result.job_skills),
        user_skills=tuple(result.user_skills),
        skill_gap=tuple(result.skill_gap),
        courses=courses,
        required=required,
    )


class EvalStack:
    """A running scheduler and stage services, and a channel to the scheduler."""

    def __init__(self, stub: pb_grpc.JobSchedulerServiceAsyncStub) -> None:
        self._stub = stub

    async def run_pair(self, pair: EvalPair, threshold: float | None) -> PairOutcome:
        """Submits one pair as a job, follows it to its end and reads the result. A threshold of None is left
        out of the request (the service default); 0 would be a threshold of its own."""
        given = job_pb2.CourseRecommendationInput(resume_text=pair.resume, job_description_text=pair.job_description)
        if threshold is not None:
            given.threshold = threshold
        request = pb.SubmitJobRequest(
            type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION, course_recommendation=given, skip_cache=True
        )
        try:
            submitted = await self._stub.SubmitJob(request, timeout=60.0)
            job_id = submitted.job.id
            # The stream ends after the job's terminal event; then the snapshot holds the result.
            async for _ in self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=JOB_DEADLINE_SECONDS):
                pass
            final = await self._stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=60.0)
        except grpc.aio.AioRpcError as exc:
            return PairOutcome(pair.id, error=f"{exc.code().name}: {exc.details()}")
        return _outcome(pair.id, final.job)

    async def run(self, pairs: Sequence[EvalPair], threshold: float | None = None) -> list[PairOutcome]:
        """Every pair at once (the scheduler queues them), outcomes in the pairs' order. No threshold is the
        service default, what a user who sets nothing gets."""
        return list(await asyncio.gather(*(self.run_pair(pair, threshold) for pair in pairs)))


def eval_settings(tmp: Path) -> Settings:
    """Settings of an isolated evaluation stack, read from SKILLBRIDGE_* like any process (so a setting can be
    tried with `make eval`), but with its own SQLite file, no imported catalog, no API keys, no metrics ports
    and no submit-rate limit (the evaluation submits a whole split at once)."""
    return Settings.from_env(
        api_keys="",
        store=f"sqlite:///{tmp / 'jobs.db'}",
        imported_catalog_path=tmp / "no-imported-catalog.jsonl",
        log_json=False,
        log_level="WARNING",
        standard_submit_rate=0.0,
        standard_max_queued=0,
        scheduler_metrics_port=0,
        ner_metrics_port=0,
        similarity_metrics_port=0,
        retrieval_metrics_port=0,
        recommendation_metrics_port=0,
    )


@asynccontextmanager
async def running_stack(settings: Settings | None = None) -> AsyncIterator[EvalStack]:
    """Starts the stage services and a scheduler (on a temporary SQLite file unless `settings` say otherwise),
    yields an EvalStack, and stops everything on the way out."""
    with tempfile.TemporaryDirectory(prefix="skillbridge-eval-") as tmp:
        stages = await start_stage_services(settings or eval_settings(Path(tmp)))
        try:
            scheduler = await start_scheduler(stages.settings, port=0)
            try:
                async with grpc.aio.insecure_channel(scheduler.address) as channel:
                    yield EvalStack(pb_grpc.JobSchedulerServiceStub(channel))
            finally:
                await scheduler.stop(0.5)
        finally:
            await stages.stop()
