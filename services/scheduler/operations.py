"""google.longrunning.Operations over the same jobs, so generic long-running-operation tooling works.

An operation's name is "operations/<job id>"; its metadata and, once done, its response are the Job.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2, empty_pb2
from google.rpc import status_pb2

from services.common import errors
from services.scheduler import convert
from services.scheduler.auth import KeyRing
from services.scheduler.jobs import JobService
from services.scheduler.model import JobState, JobView
from services.scheduler.servicer import Context, principal_of

PREFIX = "operations/"
MAX_WAIT_SECONDS = 60.0


def job_id_of(name: str) -> str:
    job_id = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    if not job_id:
        raise errors.InvalidArgument.for_field("name", "must be operations/<job id>")
    return job_id


def operation(view: JobView) -> operations_pb2.Operation:
    job = convert.job(view)
    packed = any_pb2.Any()
    packed.Pack(job)
    op = operations_pb2.Operation(name=PREFIX + job.id, metadata=packed, done=view.job.state.terminal)
    if view.job.state is JobState.SUCCEEDED:
        op.response.CopyFrom(packed)
    elif view.job.state.terminal:
        op.error.CopyFrom(job.error if job.HasField("error") else status_pb2.Status(code=2, message="failed"))
    return op


class OperationsServicer(operations_pb2_grpc.OperationsServicer):  # type: ignore[misc]
    """Get, List, Cancel and Wait over jobs; Delete is refused (jobs expire by their TTL)."""

    def __init__(self, jobs: JobService, keys: KeyRing) -> None:
        self._jobs, self._keys = jobs, keys

    async def GetOperation(self, request: Any, context: Context) -> operations_pb2.Operation:
        view = await self._jobs.get(principal_of(self._keys, context), job_id_of(request.name))
        return operation(view)

    async def ListOperations(self, request: Any, context: Context) -> operations_pb2.ListOperationsResponse:
        principal = principal_of(self._keys, context)
        views, token = await self._jobs.list(principal, set(), request.page_size, request.page_token)
        return operations_pb2.ListOperationsResponse(operations=[operation(v) for v in views], next_page_token=token)

    async def CancelOperation(self, request: Any, context: Context) -> empty_pb2.Empty:
        await self._jobs.cancel(principal_of(self._keys, context), job_id_of(request.name), "cancelled by operation")
        return empty_pb2.Empty()

    async def DeleteOperation(self, request: Any, context: Context) -> empty_pb2.Empty:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "jobs are deleted by their TTL, not on request")
        raise AssertionError("unreachable")  # pragma: no cover

    async def WaitOperation(self, request: Any, context: Context) -> operations_pb2.Operation:
        within = MAX_WAIT_SECONDS
        if request.HasField("timeout"):
            within = min(request.timeout.ToTimedelta().total_seconds(), MAX_WAIT_SECONDS)
        view = await self._jobs.wait_until_done(principal_of(self._keys, context), job_id_of(request.name), within)
        return operation(view)
