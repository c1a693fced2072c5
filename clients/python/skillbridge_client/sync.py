"""SchedulerClient: the blocking client of the JobScheduler API, for scripts and non-async code."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import TypeVar

import grpc
from skillbridge.scheduler.v1 import job_pb2, scheduler_service_pb2_grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from skillbridge_client import _wire
from skillbridge_client.errors import DeadlineExceeded, Unavailable

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
StatusCallback = Callable[[job_pb2.Job], object]


class SchedulerClient:
    """The blocking twin of AsyncSchedulerClient, on a sync gRPC channel. `channel` replaces the one built
    from `address` (tests pass a grpc_testing channel). Use as a context manager or call close()."""

    def __init__(
        self,
        address: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        reconnect_attempts: int = 20,
        channel: grpc.Channel | None = None,
    ) -> None:
        if channel is None and not address:
            raise ValueError("an address (host:port) or a channel is required")
        self.address = address
        self.timeout = timeout
        self._reconnect_attempts = reconnect_attempts
        self._metadata = _wire.metadata(api_key)
        self._channel = channel or grpc.insecure_channel(address, options=_wire.CHANNEL_OPTIONS)
        self._stub = scheduler_service_pb2_grpc.JobSchedulerServiceStub(self._channel)

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def submit_analysis(
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
        return self._call(self._stub.SubmitJob, request).job

    def submit_noop(
        self,
        payload: bytes = b"",
        priority: int = 0,
        request_id: str | None = None,
        *,
        delay: float | None = None,
        depends_on: Sequence[str] = (),
    ) -> job_pb2.Job:
        """Queues a job with no stages (its result is `payload`)."""
        return self._call(
            self._stub.SubmitJob, _wire.noop_request(payload, priority, request_id, delay, depends_on)
        ).job

    def get(self, job_id: str) -> job_pb2.Job:
        """A snapshot of the job."""
        return self._call(self._stub.GetJob, pb.GetJobRequest(job_id=job_id)).job

    def cancel(self, job_id: str, reason: str = "") -> job_pb2.Job:
        """Cancels a queued or running job; raises Conflict if it has already ended."""
        return self._call(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id, reason=reason)).job

    def list(
        self,
        states: Sequence[job_pb2.JobState.ValueType] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> pb.ListJobsResponse:
        """One page of the caller's jobs, newest first."""
        return self._call(self._stub.ListJobs, _wire.list_request(states, page_size, page_token))

    def queue_status(self) -> pb.GetQueueStatusResponse:
        """Queue depth, counts by state, stage timings, workers and health."""
        return self._call(self._stub.GetQueueStatus, pb.GetQueueStatusRequest())

    def watch(self, job_id: str, after_sequence: int = 0) -> Generator[_wire.Update, None, None]:
        """Yields snapshots and events until the terminal event, reopening the stream after the last sequence
        seen when the scheduler is unavailable (see AsyncSchedulerClient.watch)."""
        cursor = _wire.WatchCursor(after_sequence)
        failures = 0
        delay = 0.2
        while True:
            call = self._stub.WatchJob(
                pb.WatchJobRequest(job_id=job_id, after_sequence=cursor.last), metadata=self._metadata
            )
            try:
                for response in call:
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
                call.cancel()  # type: ignore[no-untyped-call]  # grpc-stubs leaves it untyped
            if cursor.finished_cleanly():
                return
            time.sleep(delay)  # backoff between reconnects, not synchronisation
            delay = _wire.next_delay(delay, 1.5, 2.0)

    def wait(self, job_id: str, timeout: float | None = None) -> job_pb2.Job:
        """Polls until the job ends and returns it; raises DeadlineExceeded after `timeout` seconds."""
        return self.poll(job_id, timeout=timeout)

    def poll(
        self,
        job_id: str,
        on_status: StatusCallback | None = None,
        *,
        initial: float = 0.2,
        factor: float = 1.5,
        max_delay: float = 2.0,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> job_pb2.Job:
        """Polls GetJob until the job ends: `initial` s, then `factor` times longer each time up to `max_delay`;
        calls `on_status` with every snapshot."""
        started = clock()
        delay = initial
        while True:
            job = self.get(job_id)
            if on_status is not None:
                on_status(job)
            if _wire.is_terminal(job):
                return job
            if timeout is not None and clock() - started + delay > timeout:
                raise DeadlineExceeded(f"job {job_id} did not end within {timeout} s")
            sleep(delay)
            delay = _wire.next_delay(delay, factor, max_delay)

    def _call(self, method: grpc.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Resp:
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise _wire.convert_error(err) from None
