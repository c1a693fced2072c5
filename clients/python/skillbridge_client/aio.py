"""AsyncSchedulerClient: the asyncio client of the JobScheduler API."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import TypeVar

import grpc
from skillbridge.scheduler.v1 import job_pb2, scheduler_service_pb2_grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from skillbridge_client import _wire
from skillbridge_client.errors import DeadlineExceeded, Unavailable

log = logging.getLogger(__name__)

StatusCallback = Callable[[job_pb2.Job], object]
Req = TypeVar("Req")
Resp = TypeVar("Resp")


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
    ) -> job_pb2.Job:
        """Queues a course-recommendation job and returns it: QUEUED with its position and wait estimate,
        SCHEDULED when `delay` (seconds) is given, WAITING while jobs in `depends_on` are unfinished."""
        request = _wire.analysis_request(
            resume_text, job_description_text, threshold, priority, request_id, delay, depends_on
        )
        return (await self._call(self._stub.SubmitJob, request)).job

    async def submit_noop(
        self,
        payload: bytes = b"",
        priority: int = 0,
        request_id: str | None = None,
        *,
        delay: float | None = None,
        depends_on: Sequence[str] = (),
    ) -> job_pb2.Job:
        """Queues a job with no stages (its result is `payload`)."""
        return (
            await self._call(self._stub.SubmitJob, _wire.noop_request(payload, priority, request_id, delay, depends_on))
        ).job

    async def get(self, job_id: str) -> job_pb2.Job:
        """A snapshot of the job."""
        return (await self._call(self._stub.GetJob, pb.GetJobRequest(job_id=job_id))).job

    async def cancel(self, job_id: str, reason: str = "") -> job_pb2.Job:
        """Cancels a queued or running job; raises Conflict if it has already ended."""
        return (await self._call(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id, reason=reason))).job

    async def list(
        self,
        states: Sequence[job_pb2.JobState.ValueType] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> pb.ListJobsResponse:
        """One page of the caller's jobs, newest first."""
        return await self._call(self._stub.ListJobs, _wire.list_request(states, page_size, page_token))

    async def queue_status(self) -> pb.GetQueueStatusResponse:
        """Queue depth, counts by state, stage timings, workers and health."""
        return await self._call(self._stub.GetQueueStatus, pb.GetQueueStatusRequest())

    async def watch(self, job_id: str, after_sequence: int = 0) -> AsyncGenerator[_wire.Update, None]:
        """Yields the job's snapshots (job_pb2.Job) and events (job_pb2.JobEvent) until its terminal event.
        When the scheduler becomes unavailable the stream is reopened after the last sequence seen, so no
        event is lost or repeated; after `reconnect_attempts` failed tries in a row it raises Unavailable."""
        cursor = _wire.WatchCursor(after_sequence)
        failures = 0
        delay = 0.2
        while True:
            call = self._stub.WatchJob(
                pb.WatchJobRequest(job_id=job_id, after_sequence=cursor.last), metadata=self._metadata
            )
            try:
                async for response in call:
                    failures, delay = 0, 0.2
                    update = cursor.accept(response)
                    if update is not None:
                        yield update
                    if cursor.done:
                        return
            except grpc.RpcError as err:
                error = _wire.convert_error(err)
                if not isinstance(error, Unavailable):
                    raise error from None
                failures += 1
                if failures > self._reconnect_attempts:
                    raise error from None
                log.info("watch of %s interrupted (%s); resuming after %d", job_id, error.message, cursor.last)
            finally:
                call.cancel()
            if cursor.finished_cleanly():
                return
            await asyncio.sleep(delay)
            delay = _wire.next_delay(delay, 1.5, 2.0)

    # The timeout parameter mirrors the sync client's API; callers need not know asyncio.timeout.
    async def wait(self, job_id: str, timeout: float | None = None) -> job_pb2.Job:  # noqa: ASYNC109
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
    ) -> job_pb2.Job:
        """Polls GetJob until the job ends, waiting `initial` s, then `factor` times longer each time up to
        `max_delay`; calls `on_status` with every snapshot. For callers that cannot hold a stream open."""
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
