"""Hostile requests over real gRPC: errors never echo unbounded input nor outgrow the metadata limit (a user
error must not read as RESOURCE_EXHAUSTED), and invalid UTF-8 in a string is a field error, not UNKNOWN."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2
from grpc_health.v1 import health_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc

from services.common.error_text import MAX_MESSAGE_CHARS, MAX_VIOLATIONS
from services.scheduler.server import SchedulerServer
from tests.scheduler.grpc_helpers import course_request, field_violations, noop_request, rich_status

Stub = scheduler_service_pb2_grpc.JobSchedulerServiceStub


async def test_a_100_kb_job_id_is_not_found_in_a_short_message(stub: Stub) -> None:
    job_id = "j" * 100_000
    for call in (stub.GetJob(pb.GetJobRequest(job_id=job_id)), stub.CancelJob(pb.CancelJobRequest(job_id=job_id))):
        try:
            await call
        except grpc.aio.AioRpcError as error:
            assert error.code() is grpc.StatusCode.NOT_FOUND, error.details()
            assert len(error.details() or "") <= MAX_MESSAGE_CHARS and "chars in all" in (error.details() or "")
            assert rich_status(error).code == grpc.StatusCode.NOT_FOUND.value[0]
        else:
            raise AssertionError("a 100 KB job id was found")


async def test_100_unknown_dependencies_are_listed_up_to_a_cap_and_counted(stub: Stub) -> None:
    unknown = [f"{i:04d}" + "d" * 1000 for i in range(100)]
    try:
        await stub.SubmitJob(noop_request(depends_on=unknown))
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (error.code(), (error.details() or "")[:200])
        fields = field_violations(error)
        assert 0 < len(fields) <= MAX_VIOLATIONS and fields[0] == "depends_on[0]"
        assert "100 field violations" in (error.details() or "")
        assert len(error.details() or "") <= MAX_MESSAGE_CHARS
    else:
        raise AssertionError("unknown dependencies were accepted")


async def test_invalid_utf8_in_a_string_is_invalid_argument_naming_the_field(scheduler: SchedulerServer) -> None:
    valid = course_request(request_id="rrrr").SerializeToString()
    cases = {
        "/skillbridge.scheduler.v1.JobSchedulerService/SubmitJob": (
            valid.replace(b"Senior", b"Sen\xff\xfer"),
            "course_recommendation.resume_text",
        ),
        "/skillbridge.scheduler.v1.JobSchedulerService/GetJob": (
            pb.GetJobRequest(job_id="abcd").SerializeToString().replace(b"abcd", b"ab\xc3("),
            "job_id",
        ),
        "/skillbridge.scheduler.v1.JobSchedulerService/WatchJob": (
            pb.WatchJobRequest(job_id="abcd").SerializeToString().replace(b"abcd", b"\xed\xa0\x80d"),
            "job_id",
        ),
        "/google.longrunning.Operations/GetOperation": (
            operations_pb2.GetOperationRequest(name="abcd").SerializeToString().replace(b"abcd", b"\x80bcd"),
            "name",
        ),
        "/grpc.health.v1.Health/Check": (
            health_pb2.HealthCheckRequest(service="abcd").SerializeToString().replace(b"abcd", b"\xffbcd"),
            "service",
        ),
    }
    async with grpc.aio.insecure_channel(scheduler.address) as channel:
        for method, (raw, field) in cases.items():
            streaming = method.endswith("WatchJob")
            call = (channel.unary_stream if streaming else channel.unary_unary)(method)
            try:
                if streaming:
                    async for _ in call(raw):
                        pass
                else:
                    await call(raw)
            except grpc.aio.AioRpcError as error:
                assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (method, error.code(), error.details())
                assert field_violations(error) == [field], method
                assert "UTF-8" in (error.details() or "")
            else:
                raise AssertionError(f"{method} accepted invalid UTF-8")


async def test_bytes_that_are_no_message_at_all_are_invalid_argument(scheduler: SchedulerServer) -> None:
    async with grpc.aio.insecure_channel(scheduler.address) as channel:
        call = channel.unary_unary("/skillbridge.scheduler.v1.JobSchedulerService/SubmitJob")
        try:
            await call(b"\x0a\xff\xff\xff\xff\x0f")  # a length far past the end
        except grpc.aio.AioRpcError as error:
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
            assert field_violations(error) == ["request"]
        else:
            raise AssertionError("garbage was accepted")
