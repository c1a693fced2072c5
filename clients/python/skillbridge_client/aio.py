"""AsyncSchedulerClient: the asyncio client of the JobScheduler API, and the one implementation behind both
clients (SchedulerClient runs these same coroutines on a private event loop)."""

from __future__ import annotations

import asyncio
import builtins
import copy
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TypeVar

import grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc

from skillbridge_client import _wire
from skillbridge_client.errors import DeadlineExceeded, SkillBridgeError, Unavailable, Unimplemented
from skillbridge_client.models import Job, JobPage, JobRequest, QueueStatus, Update

log = logging.getLogger(__name__)

StatusCallback = Callable[[Job], object]
Req = TypeVar("Req")
Resp = TypeVar("Resp")
FIRST_RECONNECT_DELAY = 0.2


class AsyncSchedulerClient:
    """Talks to the JobScheduler at `address` ("host:port"). Every unary call has a deadline of `timeout`
    seconds; failures raise the typed errors of `skillbridge_client.errors`. Use as `async with`."""

    def __init__(
        self,
        address: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        reconnect_attempts: int = 20,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._reconnect_attempts = reconnect_attempts
        self._metadata = _wire.metadata(api_key)
        self._channel = grpc.aio.insecure_channel(address, options=_wire.CHANNEL_OPTIONS)
        self._stub = scheduler_service_pb2_grpc.JobSchedulerServiceStub(self._channel)
        self._owns_channel = True

    def with_api_key(self, api_key: str | None, *, traceparent: str | None = None) -> AsyncSchedulerClient:
        """A client on the same channel that calls as `api_key` (the gateway passes each caller's key through),
        optionally inside the W3C trace `traceparent`. Closing it leaves the shared channel open."""
        clone = copy.copy(self)
        clone._metadata = _wire.metadata(api_key, traceparent)
        clone._owns_channel = False
        return clone

    async def __aenter__(self) -> AsyncSchedulerClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channel (unless this client shares another's); streams in flight end."""
        if self._owns_channel:
            await self._channel.close(None)

    async def submit(self, request: JobRequest) -> Job:
        """Queues one job built with `analysis_job()` or `noop_job()` and returns it."""
        return (await self._call(self._stub.SubmitJob, request)).job

    async def submit_analysis(
        self,
        resume_text: str,
        job_description_text: str,
        threshold: float = 0.5,
        priority: int = 0,
        request_id: str | None = None,
        *,
        delay: float | None = None,
        depends_on: Sequence[str] = (),
        skip_cache: bool = False,
    ) -> Job:
        """Queues a course-recommendation job and returns it: QUEUED with its position and wait estimate,
        SCHEDULED when `delay` (seconds) is given, WAITING while jobs in `depends_on` are unfinished."""
        request = _wire.analysis_job(
            resume_text,
            job_description_text,
            threshold=threshold,
            priority=priority,
            request_id=request_id,
            delay=delay,
            depends_on=depends_on,
            skip_cache=skip_cache,
        )
        return await self.submit(request)

    async def submit_noop(
        self,
        payload: bytes = b"",
        priority: int = 0,
        request_id: str | None = None,
        *,
        delay: float | None = None,
        depends_on: Sequence[str] = (),
    ) -> Job:
        """Queues a job with no stages (its result is `payload`)."""
        request = _wire.noop_job(payload, priority=priority, request_id=request_id, delay=delay, depends_on=depends_on)
        return await self.submit(request)

    async def submit_jobs(self, requests: Sequence[JobRequest]) -> builtins.list[Job]:
        """Queues many jobs in one call and one transaction: all are stored, or none (an invalid one raises
        InvalidRequest naming it as `requests[i].field`). Returns the jobs in request order."""
        response = await self._call(self._stub.SubmitJobs, pb.SubmitJobsRequest(requests=list(requests)))
        return [r.job for r in response.responses]

    async def get(self, job_id: str) -> Job:
        """A snapshot of the job."""
        return (await self._call(self._stub.GetJob, pb.GetJobRequest(job_id=job_id))).job

    async def cancel(self, job_id: str, reason: str = "") -> Job:
        """Cancels a queued or running job; raises Conflict if it has already ended."""
        return (await self._call(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id, reason=reason))).job

    async def list(self, states: Iterable[int] = (), page_size: int = 0, page_token: str = "") -> JobPage:
        """One page of the caller's jobs, newest first; `states` (JobState values) filters them."""
        return await self._call(self._stub.ListJobs, _wire.list_request(states, page_size, page_token))

    async def iter_jobs(self, states: Iterable[int] = (), page_size: int = 50) -> AsyncGenerator[Job, None]:
        """Every one of the caller's jobs, newest first, fetching pages of `page_size` as it goes."""
        wanted = list(states)
        token = ""
        while True:
            page = await self.list(wanted, page_size, token)
            for job in page.jobs:
                yield job
            token = page.next_page_token
            if not token:
                return

    async def queue_status(self) -> QueueStatus:
        """Queue depth, counts by state, stage timings, stage services, workers and health."""
        return await self._call(self._stub.GetQueueStatus, pb.GetQueueStatusRequest())

    async def watch(self, job_id: str, after_sequence: int = 0) -> AsyncGenerator[Update, None]:
        """Yields the job's snapshots (Job) and events (JobEvent) until its terminal event.
        When the scheduler becomes unavailable the stream is reopened after the last sequence seen, so no
        event is lost or repeated; after `reconnect_attempts` failed tries in a row it raises Unavailable."""
        async for update in self._follow(job_id, _wire.WatchCursor(after_sequence)):
            yield update

    async def submit_and_watch(self, request: JobRequest) -> AsyncGenerator[Update, None]:
        """Submits `request` and yields it as watch() does, in one call: first the submitted Job, then its
        events until the terminal one. Until the job is known, an unavailable scheduler is retried under the
        request's `request_id` (one is generated when it has none), so the job is stored once; after that the
        stream resumes with WatchJob. A scheduler without SubmitAndWatchJob gets SubmitJob, then WatchJob."""
        request = copy.deepcopy(request)
        request.request_id = request.request_id or f"sdk-{uuid.uuid4().hex}"
        cursor = _wire.WatchCursor()
        failures, delay = 0, FIRST_RECONNECT_DELAY
        while not cursor.job_id:
            call = self._stub.SubmitAndWatchJob(pb.SubmitAndWatchJobRequest(job=request), metadata=self._metadata)
            try:
                async for response in call:
                    update = cursor.accept(response)
                    if update is not None:
                        yield update
                    if cursor.done:
                        return
                if not cursor.job_id:
                    raise Unavailable("the submit stream ended before the job was stored")
            except (grpc.RpcError, Unavailable) as err:
                error = _wire.convert_error(err) if isinstance(err, grpc.RpcError) else err
                if isinstance(error, Unimplemented) and not cursor.job_id:
                    job = await self.submit(request)
                    yield job
                    cursor = _wire.WatchCursor()
                    cursor.snapshot = job
                    break
                failures = self._count_failure(error, failures, cursor)
            finally:
                call.cancel()
            if not cursor.job_id:
                await asyncio.sleep(delay)
                delay = _wire.next_delay(delay, 1.5, 2.0)
        if cursor.finished_cleanly():
            return
        async for update in self._follow(cursor.job_id, cursor):
            yield update

    async def _follow(self, job_id: str, cursor: _wire.WatchCursor) -> AsyncGenerator[Update, None]:
        failures, delay = 0, FIRST_RECONNECT_DELAY
        while True:
            call = self._stub.WatchJob(
                pb.WatchJobRequest(job_id=job_id, after_sequence=cursor.last), metadata=self._metadata
            )
            try:
                async for response in call:
                    failures, delay = 0, FIRST_RECONNECT_DELAY
                    update = cursor.accept(response)
                    if update is not None:
                        yield update
                    if cursor.done:
                        return
            except grpc.RpcError as err:
                failures = self._count_failure(_wire.convert_error(err), failures, cursor)
            finally:
                call.cancel()
            if cursor.finished_cleanly():
                return
            await asyncio.sleep(delay)  # backoff between reconnects, not synchronisation
            delay = _wire.next_delay(delay, 1.5, 2.0)

    def _count_failure(self, error: SkillBridgeError, failures: int, cursor: _wire.WatchCursor) -> int:
        """The failure count after a broken stream; raises unless it is a retryable outage within the limit."""
        if not isinstance(error, Unavailable) or failures + 1 > self._reconnect_attempts:
            raise error from None
        log.info("stream of %s interrupted (%s); resuming after %d", cursor.job_id or "a submit", error, cursor.last)
        return failures + 1

    # The timeout parameter mirrors the sync client's API; callers need not know asyncio.timeout.
    async def wait(self, job_id: str, timeout: float | None = None) -> Job:  # noqa: ASYNC109
        """Waits (over WatchJob) until the job ends and returns it; raises DeadlineExceeded after `timeout` s."""
        try:
            async with asyncio.timeout(timeout):
                async for _ in self.watch(job_id):
                    pass
        except TimeoutError:
            raise DeadlineExceeded(f"job {job_id} did not end within {timeout} s") from None
        return await self.get(job_id)

    async def poll(
        self,
        job_id: str,
        on_status: StatusCallback | None = None,
        *,
        initial: float = 0.2,
        factor: float = 1.5,
        max_delay: float = 2.0,
        timeout: float | None = None,  # noqa: ASYNC109  # measured on the injected clock, not the event loop
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> Job:
        """Polls GetJob until the job ends, waiting `initial` s, then `factor` times longer each time up to
        `max_delay`; calls `on_status` with every snapshot. For callers that cannot hold a stream open.
        `clock` and `sleep` (an async function, for the sync client too) replace the real ones in tests."""
        started = clock()
        delay = initial
        while True:
            job = await self.get(job_id)
            if on_status is not None:
                on_status(job)
            if _wire.is_terminal(job):
                return job
            if timeout is not None and clock() - started + delay > timeout:
                raise DeadlineExceeded(f"job {job_id} did not end within {timeout} s")
            await sleep(delay)
            delay = _wire.next_delay(delay, factor, max_delay)

    async def _call(self, method: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Resp:
        try:
            return await method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise _wire.convert_error(err) from None
