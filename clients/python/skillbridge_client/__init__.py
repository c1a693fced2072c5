"""Python SDK of SkillBridge: AsyncSchedulerClient / SchedulerClient for the JobScheduler API, typed errors.

async with AsyncSchedulerClient("127.0.0.1:50051", api_key=key) as client:
    job = await client.submit_analysis(resume, job_description)
    async for update in client.watch(job.id):
        ...
"""

from __future__ import annotations

from skillbridge_client._wire import TERMINAL_STATES, Update, is_terminal
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
)
from skillbridge_client.sync import SchedulerClient

__all__ = [
    "TERMINAL_STATES",
    "AsyncSchedulerClient",
    "Conflict",
    "DeadlineExceeded",
    "FieldViolation",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "SchedulerClient",
    "SkillBridgeError",
    "Unauthenticated",
    "Unavailable",
    "Update",
    "is_terminal",
]
