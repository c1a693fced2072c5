"""Idempotency keys: a `request_id` names one request, not just one job.

A submit that repeats an owner's earlier request_id with the same body returns the earlier job (deduplicated),
so a client may retry without running a job twice. One with another body (other texts, another job type, other
options) is refused with ALREADY_EXISTS / HTTP 409, as payment APIs refuse a reused idempotency key: answering
with the earlier job would hand the client a result for a request it did not make. The record keeps a digest of
the body it was created from; records written before digests were kept have none and deduplicate as before.
"""

from __future__ import annotations

import hashlib
import json

from services.common import errors
from services.common.error_text import bounded
from services.scheduler.core import Submission
from services.scheduler.model import CourseInput, JobRecord, NoopInput

# Request ids are quoted only this far in the refusal (they may be long).
QUOTED_ID_CHARS = 64


class RequestIdReused(errors.AlreadyExists):
    reason = "REQUEST_ID_REUSED"


def digest(sub: Submission) -> str:
    """A digest of what the submit asks for: the job type, its input and every option (not the request_id
    itself, nor what the scheduler derives, such as the cache key)."""
    given = sub.input
    body: dict[str, object] = {
        "type": sub.type.value if sub.type is not None else None,
        "priority": sub.priority,
        "not_before": sub.not_before,
        "delay": sub.delay,
        "depends_on": list(sub.depends_on),
        "skip_cache": sub.skip_cache,
    }
    if isinstance(given, CourseInput):
        body["input"] = [given.resume_text, given.job_description_text, given.threshold]
    elif isinstance(given, NoopInput):
        body["input"] = hashlib.sha256(given.payload).hexdigest()
    else:
        body["input"] = type(given).__name__ if given is not None else None
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_reuse(earlier: JobRecord, sub: Submission) -> None:
    """Raises RequestIdReused when `earlier` (the owner's job with this request_id) came from another body."""
    if earlier.request_digest and earlier.request_digest != digest(sub):
        raise RequestIdReused(
            f"request_id {bounded(sub.request_id, QUOTED_ID_CHARS)!r} was used for another request (job "
            f"{earlier.id}): use a new request_id for a different request, or resend the same body to get that job"
        )
