"""The original system's REST contract (SEED.md), kept so its browser client works unchanged. Mounted both
bare and under /api/v1. The shapes and their conversion are in gateway.seed."""

from __future__ import annotations

from fastapi import APIRouter
from skillbridge_client import SkillBridgeError

from gateway.deps import AppSettings, Client
from gateway.errors import error_responses, renamed
from gateway.inputs import SeedSubmit, check_submission
from gateway.routes_v1 import JobIdPath, register_job_id_convertor
from gateway.seed import SeedQueueStatus, SeedStatus, SeedSubmitted, seed_queue, seed_status, seed_submitted


def _seed_field(field: str) -> str:
    # The scheduler names SubmitJobRequest fields; this body calls course_recommendation `payload`.
    return "payload." + field.removeprefix("course_recommendation.") if field.startswith("course_") else field


def build_seed_router() -> APIRouter:
    """The three seed routes."""
    register_job_id_convertor()
    router = APIRouter(tags=["seed (original contract)"])

    @router.post("/jobs/submit", responses=error_responses(400, 401, 403, 413, 429, 502, 503, 504))
    async def submit(body: SeedSubmit, client: Client, settings: AppSettings) -> SeedSubmitted:
        """Queues a course-recommendation job; answers at once with its id, position and wait estimate."""
        payload = body.payload
        texts = {"resume_text": payload.resume_text, "job_description_text": payload.job_description_text}
        check_submission(settings, priority=0, texts=texts, text_path="payload")
        try:
            job = await client.submit_analysis(
                texts["resume_text"], texts["job_description_text"], threshold=payload.threshold
            )
        except SkillBridgeError as exc:
            raise renamed(exc, _seed_field) from None
        return seed_submitted(job)

    @router.get("/jobs/status/{job_id:job_id}", responses=error_responses(400, 401, 403, 404, 429, 502, 503, 504))
    async def status(job_id: JobIdPath, client: Client) -> SeedStatus:
        """The job's status, and its result once completed; 404 for an unknown id."""
        return seed_status(await client.get(job_id))

    @router.get("/jobs/queue/status", responses=error_responses(400, 401, 403, 429, 502, 503, 504))
    async def queue_status(client: Client) -> SeedQueueStatus:
        """Queue size, job counts by status and whether workers are running."""
        return seed_queue(await client.queue_status())

    return router
