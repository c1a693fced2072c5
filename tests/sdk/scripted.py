"""A JobScheduler that answers what each test scripts, served by a real gRPC server on a free port.

It stands in for the scheduler only where a test checks the client's side of the wire: the requests and metadata
it sends, how it reads rich errors, how it resumes broken streams, and the calls the scheduler does not offer yet
(SubmitJobs and SubmitAndWatchJob, checked here until the scheduler serves them). It runs on grpc's thread pool,
so sync and async clients alike can call it from any test."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status
from skillbridge.scheduler.v1 import job_pb2, scheduler_service_pb2_grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb


@dataclass(frozen=True)
class Fail:
    """End the call with this status (and google.rpc details)."""

    code: grpc.StatusCode
    message: str
    details: Sequence[Message] = ()


@dataclass(frozen=True)
class Hold:
    """A stream that stays open, sending nothing more, until the client goes away or `release` is set."""

    release: threading.Event = field(default_factory=threading.Event)


Step = Message | Fail | Hold


@dataclass
class Received:
    """One call as the server saw it."""

    method: str
    request: Any
    metadata: dict[str, str]
    time_remaining: float | None
    ended: threading.Event = field(default_factory=threading.Event)  # set when the call is over, however


class ScriptedScheduler(scheduler_service_pb2_grpc.JobSchedulerServiceServicer):
    """Answers each call with the next script queued for its method; an unscripted call fails INTERNAL."""

    def __init__(self) -> None:
        self._scripts: dict[str, queue.Queue[list[Step]]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def script(self, method: str, *steps: Step) -> None:
        """Queues the answer to the next `method` call: a unary call takes one message or Fail; a stream sends
        messages in order and may end with Fail or Hold."""
        with self._lock:
            self._scripts.setdefault(method, queue.Queue()).put(list(steps))

    def calls(self, method: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.method == method]

    def _receive(self, method: str, request: Any, context: grpc.ServicerContext) -> tuple[Received, list[Step]]:
        received = Received(method, request, dict(context.invocation_metadata()), context.time_remaining())
        context.add_callback(received.ended.set)
        with self._lock:
            self.received.append(received)
            pending = self._scripts.get(method)
        try:
            return received, (pending.get_nowait() if pending is not None else [Fail(grpc.StatusCode.INTERNAL, "")])
        except queue.Empty:
            return received, [Fail(grpc.StatusCode.INTERNAL, f"no script left for {method}")]

    def _unary(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        _, steps = self._receive(method, request, context)
        step = steps[0]
        if isinstance(step, Fail):
            _abort(context, step)
        return step

    def _stream(self, method: str, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        _, steps = self._receive(method, request, context)
        for step in steps:
            if isinstance(step, Fail):
                _abort(context, step)
            elif isinstance(step, Hold):
                while context.is_active() and not step.release.wait(0.05):  # polls the client's presence
                    pass
                return
            else:
                yield step

    def SubmitJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("SubmitJob", request, context)

    def SubmitJobs(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("SubmitJobs", request, context)

    def GetJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("GetJob", request, context)

    def CancelJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("CancelJob", request, context)

    def ListJobs(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("ListJobs", request, context)

    def GetQueueStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unary("GetQueueStatus", request, context)

    def WatchJob(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._stream("WatchJob", request, context)

    def SubmitAndWatchJob(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return self._stream("SubmitAndWatchJob", request, context)


def _abort(context: grpc.ServicerContext, fail: Fail) -> None:
    status = status_pb2.Status(code=fail.code.value[0], message=fail.message)
    for detail in fail.details:
        status.details.add().Pack(detail)
    context.abort_with_status(rpc_status.to_status(status))


@dataclass
class ScriptedServer:
    """A running ScriptedScheduler and its address."""

    scheduler: ScriptedScheduler
    server: grpc.Server
    address: str

    def stop(self) -> None:
        self.server.stop(grace=None)


def start_scripted() -> ScriptedServer:
    scheduler = ScriptedScheduler()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    scheduler_service_pb2_grpc.add_JobSchedulerServiceServicer_to_server(scheduler, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return ScriptedServer(scheduler, server, f"127.0.0.1:{port}")


def job_response(job_id: str, state: int) -> pb.GetJobResponse:
    return pb.GetJobResponse(job=job_pb2.Job(id=job_id, state=job_pb2.JobState.ValueType(state)))
