"""The one table that turns domain errors into gRPC status codes with google.rpc details."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import errors

log = logging.getLogger(__name__)

ERROR_DOMAIN = "skillbridge.dev"

_CODES: list[tuple[type[errors.SkillBridgeError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_code_for(exc: errors.SkillBridgeError) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status_proto(exc: errors.SkillBridgeError) -> status_pb2.Status:
    """A google.rpc.Status with ErrorInfo and, where they apply, BadRequest, QuotaFailure and RetryInfo."""
    code = status_code_for(exc)
    status = status_pb2.Status(code=code.value[0], message=exc.message)
    status.details.append(_pack(error_details_pb2.ErrorInfo(reason=exc.reason, domain=ERROR_DOMAIN)))
    if isinstance(exc, errors.InvalidArgument) and exc.violations:
        bad = error_details_pb2.BadRequest()
        for v in exc.violations:
            bad.field_violations.add(field=v.field, description=v.description)
        status.details.append(_pack(bad))
    if isinstance(exc, errors.ResourceExhausted):
        if exc.violations:
            quota = error_details_pb2.QuotaFailure()
            for q in exc.violations:
                quota.violations.add(subject=q.subject, description=q.description)
            status.details.append(_pack(quota))
        seconds = max(exc.retry_after, 0.0)
        delay = duration_pb2.Duration(seconds=int(seconds), nanos=int((seconds % 1) * 1e9))
        status.details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status


def internal_status(message: str = "internal error") -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message=message)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status) -> None:
    """Ends the RPC with `status`, its details in the grpc-status-details-bin trailer."""
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, trailing_metadata=converted.trailing_metadata)
