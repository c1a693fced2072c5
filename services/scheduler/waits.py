"""The state changes of a running job that waits for an unreachable stage service, as pure functions over
JobRecord like core's: the wait begins, the service answers again, or the outage budget runs out."""

from __future__ import annotations

from services.scheduler import core
from services.scheduler.model import EventKind, JobError, JobRecord, JobState, NewEvent, Stage

# The reason of a job that failed because a stage service stayed unreachable through its last attempt.
STAGE_UNAVAILABLE = "STAGE_UNAVAILABLE"


def _require_running(job: JobRecord) -> None:
    if job.state is not JobState.RUNNING:
        raise core.JobAlreadyFinished(f"job {job.id} is {job.state.value}, not RUNNING")


def wait_for_service(job: JobRecord, stage: Stage, service: str, reason: str, budget: float) -> list[NewEvent]:
    """The running attempt cannot reach `service` for `stage` and waits for it, for up to `budget` seconds."""
    _require_running(job)
    job.waiting_for_service = service
    data = {"stage": stage.value, "service": service, "reason": reason, "budget": budget}
    return [NewEvent(EventKind.SERVICE_WAITING, data)]


def service_recovered(job: JobRecord, stage: Stage, service: str, waited: float) -> list[NewEvent]:
    """The service the attempt waited for answered after `waited` seconds: the stage goes on."""
    _require_running(job)
    job.waiting_for_service = ""
    return [NewEvent(EventKind.SERVICE_RECOVERED, {"stage": stage.value, "service": service, "waited": waited})]


def outage_outlasted_budget(
    job: JobRecord,
    stage: Stage,
    service: str,
    cause: str,
    budget: float,
    max_attempts: int,
    now: float,
    ttl: float,
) -> list[NewEvent]:
    """The outage budget ran out: the job goes back to the queue (attempt + 1, a retried event naming the
    service), or, after its last attempt, FAILED with an error that names the stage, the service and the cause."""
    _require_running(job)
    if job.attempt >= max_attempts:
        message = (
            f"{stage.value} failed: the {service} service could not be reached within the {budget:g} s outage "
            f"budget of attempt {job.attempt} of {max_attempts} ({cause})"
        )
        return core.fail(job, JobError(core.CODE_UNAVAILABLE, message, stage, STAGE_UNAVAILABLE), now, ttl)
    reason = f"the {service} service was unreachable for {budget:g} s at {stage.value} ({cause})"
    return core.requeue(job, reason, max_attempts, now, ttl)
