"""JobSchedulerService over gRPC: reads the caller's key, converts proto <-> domain, nothing more.
Errors raised below are mapped to rich statuses by the shared interceptor."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc

from services.common import errors
from services.scheduler import convert
from services.scheduler.auth import KeyRing
from services.scheduler.jobs import JobService
from services.scheduler.model import JobEvent, JobView, Principal

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE = "skillbridge.scheduler.v1.JobSchedulerService"
# Streams whose messages may be bytes serialised once for every watcher of the same event.
SHARED_STREAMS = ("WatchJob", "SubmitAndWatchJob")
# Serialised events kept for the streams: enough for every stream of a busy moment to share them.
EVENT_CACHE_SIZE = 4096


def serialize(message: Any) -> bytes:
    """A stream message as bytes: already bytes when shared between streams, else serialised now."""
    return message if isinstance(message, bytes) else bytes(message.SerializeToString())


class _Handlers:
    """Stands in for the server while the generated code registers the service, to collect its handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass

    def add_registered_method_handlers(self, name: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
        self.handlers = dict(handlers)


def add_to_server(servicer: JobSchedulerServicer, server: grpc.aio.Server) -> None:
    """Registers the service as the generated code does, except that the event streams take shared bytes."""
    collected = _Handlers()
    scheduler_service_pb2_grpc.add_JobSchedulerServiceServicer_to_server(servicer, collected)  # type: ignore[arg-type]
    handlers = {
        name: handler._replace(response_serializer=serialize) if name in SHARED_STREAMS else handler  # type: ignore[attr-defined]
        for name, handler in collected.handlers.items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)  # type: ignore[attr-defined]  # not in grpc-stubs yet


class EventBytes:
    """Each event serialised once, as the `event` field of a stream message (field 2 of both WatchJobResponse
    and SubmitAndWatchJobResponse, so the bytes serve both), for all its watchers."""

    def __init__(self, size: int = EVENT_CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()

    def of(self, event: JobEvent) -> bytes:
        key = (event.job_id, event.sequence)
        found = self._cache.get(key)
        if found is None:
            found = pb.WatchJobResponse(event=convert.event(event)).SerializeToString()
            self._cache[key] = found
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return found


def principal_of(keys: KeyRing, context: Context) -> Principal:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return keys.principal(value if isinstance(value, str) else value.decode())
    return keys.principal(None)


def require_id(job_id: str) -> str:
    if not job_id.strip():
        raise errors.InvalidArgument.for_field("job_id", "must not be empty")
    return job_id.strip()


class JobSchedulerServicer(scheduler_service_pb2_grpc.JobSchedulerServiceServicer):
    """The public API of the scheduler."""

    def __init__(self, jobs: JobService, keys: KeyRing) -> None:
        self._jobs, self._keys = jobs, keys
        self._events = EventBytes()

    async def SubmitJob(self, request: pb.SubmitJobRequest, context: Context) -> pb.SubmitJobResponse:
        principal = principal_of(self._keys, context)
        view, created = await self._jobs.submit(principal, convert.submission(request))
        response = pb.SubmitJobResponse(deduplicated=not created)
        convert.fill_job(response.job, view)  # in place: a finished Job passed in would be copied
        return response

    async def SubmitJobs(self, request: pb.SubmitJobsRequest, context: Context) -> pb.SubmitJobsResponse:
        principal = principal_of(self._keys, context)
        done = await self._jobs.submit_many(principal, [convert.submission(r) for r in request.requests])
        response = pb.SubmitJobsResponse()
        # Each job is written where it goes: a SubmitJobResponse built apart copies its Job once, and the list
        # handed to SubmitJobsResponse copies each again.
        for view, created in done:
            convert.fill_job(response.responses.add(deduplicated=not created).job, view)
        return response

    async def SubmitAndWatchJob(  # type: ignore[override]  # events go out as shared bytes (see add_to_server)
        self, request: pb.SubmitAndWatchJobRequest, context: Context
    ) -> AsyncIterator[pb.SubmitAndWatchJobResponse | bytes]:
        principal = principal_of(self._keys, context)
        view, created = await self._jobs.submit(principal, convert.submission(request.job))
        yield pb.SubmitAndWatchJobResponse(snapshot=convert.job(view), deduplicated=not created)
        async for update in self._jobs.watch(principal, view.job.id, 0, first=view):
            if isinstance(update, JobView):
                yield pb.SubmitAndWatchJobResponse(snapshot=convert.job(update))
            else:
                yield self._events.of(update)

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        principal = principal_of(self._keys, context)
        view = await self._jobs.get(principal, require_id(request.job_id))
        return pb.GetJobResponse(job=convert.job(view))

    async def WatchJob(  # type: ignore[override]  # events go out as shared bytes (see add_to_server)
        self, request: pb.WatchJobRequest, context: Context
    ) -> AsyncIterator[pb.WatchJobResponse | bytes]:
        principal = principal_of(self._keys, context)
        if request.after_sequence < 0:
            raise errors.InvalidArgument.for_field("after_sequence", "must not be negative")
        async for update in self._jobs.watch(principal, require_id(request.job_id), request.after_sequence):
            if isinstance(update, JobView):
                yield pb.WatchJobResponse(snapshot=convert.job(update))
            else:
                yield self._events.of(update)

    async def CancelJob(self, request: pb.CancelJobRequest, context: Context) -> pb.CancelJobResponse:
        principal = principal_of(self._keys, context)
        view = await self._jobs.cancel(principal, require_id(request.job_id), request.reason)
        return pb.CancelJobResponse(job=convert.job(view))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        principal = principal_of(self._keys, context)
        if request.page_size < 0:
            raise errors.InvalidArgument.for_field("page_size", "must not be negative")
        states = {convert.STATE_FROM_PROTO[s] for s in request.states if s in convert.STATE_FROM_PROTO}
        views, token = await self._jobs.list(principal, states, request.page_size, request.page_token)
        return pb.ListJobsResponse(jobs=[convert.job(v) for v in views], next_page_token=token)

    async def GetQueueStatus(self, request: pb.GetQueueStatusRequest, context: Context) -> pb.GetQueueStatusResponse:
        principal = principal_of(self._keys, context)
        return convert.queue_status(await self._jobs.queue_status(principal))
