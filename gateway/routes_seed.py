"""The original system's REST contract (SEED.md), kept so its browser client works unchanged. Mounted both
bare and under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from gateway.convert import seed_queue, seed_status
from gateway.deps import Client


class SeedPayload(BaseModel):
    """The analysis input; the texts are checked by hand so that a missing one is a 400, as the original did."""

    resume_text: str | None = None
    job_description_text: str | None = None
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)


class SeedSubmit(BaseModel):
    """POST /jobs/submit body."""

    type: str = "course_recommendation"
    payload: SeedPayload


def build_seed_router() -> APIRouter:
    """The three seed routes."""
    router = APIRouter(tags=["seed (original contract)"])

    @router.post("/jobs/submit")
    async def submit(body: SeedSubmit, client: Client) -> dict[str, Any]:
        """Queues a course-recommendation job; answers at once with its id, position and wait estimate."""
        if body.type != "course_recommendation":
            raise HTTPException(400, detail=f"unknown job type {body.type!r}: only 'course_recommendation'")
        missing = [
            name for name in ("resume_text", "job_description_text") if not (getattr(body.payload, name) or "").strip()
        ]
        if missing:
            raise HTTPException(400, detail=f"{' and '.join(missing)} must not be empty")
        job = await client.submit_analysis(
            body.payload.resume_text or "", body.payload.job_description_text or "", threshold=body.payload.threshold
        )
        status = seed_status(job)
        wait = status["estimated_wait_seconds"]
        return {
            "job_id": job.id,
            "status": status["status"],
            "position_in_queue": job.position_in_queue,
            "estimated_wait_seconds": wait,
            "message": f"Job queued at position {job.position_in_queue}, about {wait:.0f} s wait",
        }

    @router.get("/jobs/status/{job_id}")
    async def status(job_id: str, client: Client) -> dict[str, Any]:
        """The job's status, and its result once completed; 404 for an unknown id."""
        return seed_status(await client.get(job_id))

    @router.get("/jobs/queue/status")
    async def queue_status(client: Client) -> dict[str, Any]:
        """Queue size, job counts by status and whether workers are running."""
        return seed_queue(await client.queue_status())

    return router
