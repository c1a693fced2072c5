"""The one table that turns domain errors into gRPC status codes with google.rpc details.

The status travels in two trailers, `grpc-message` (percent-encoded) and `grpc-status-details-bin` (base64).
Metadata past gRPC's limit (8 KiB by default, counted by the receiver) turns the call into RESOURCE_EXHAUSTED:
a plain user error would read as "slow down" (HTTP 429) and be retried for ever. So every status is made to fit
`TRAILER_BUDGET_BYTES`, however long the message or however many the violations."""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote as percent_encode

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import errors

log = logging.getLogger(__name__)

ERROR_DOMAIN = "skillbridge.dev"
# Half of gRPC's default 8 KiB metadata limit: room left for the other headers and trailers of the call.
TRAILER_BUDGET_BYTES = 4096
# A message is shortened to about this before any field violation is dropped: the violations say more.
SHORT_MESSAGE_CHARS = 160

_CODES: list[tuple[type[errors.SkillBridgeError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
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
    return fitted(status)


def trailer_bytes(status: status_pb2.Status) -> int:
    """What `status` costs in metadata: the percent-encoded grpc-message and the base64 details trailer."""
    # gRPC percent-encodes every byte outside printable ASCII (and '%'); quote() escapes a superset, so this
    # errs on the long side.
    message = len(percent_encode(status.message.encode("utf-8"), safe=" "))
    details = len(base64.b64encode(status.SerializeToString()))
    return message + details


def fitted(status: status_pb2.Status, budget: int = TRAILER_BUDGET_BYTES) -> status_pb2.Status:
    """`status` made to fit `budget` bytes of trailers. In order, until it fits: the message shortened to a
    sentence, field violations dropped from the end (the message says how many there were), the message
    shortened further, every detail but ErrorInfo dropped. The code always survives."""
    if trailer_bytes(status) <= budget:
        return status
    body, note = status.message, ""
    while trailer_bytes(status) > budget and len(body) > SHORT_MESSAGE_CHARS:
        body = _shortened(body)
        status.message = body
    bad, position = _bad_request_of(status)
    if bad is not None and position is not None:
        total = len(bad.field_violations)
        while bad.field_violations and trailer_bytes(status) > budget:
            del bad.field_violations[-1]
            status.details[position].Pack(bad)
        if len(bad.field_violations) < total:
            note = f" ({total} field violations; {len(bad.field_violations)} listed)"
            status.message = body + note
    while trailer_bytes(status) > budget and body:
        body = _shortened(body)
        status.message = body + note
    if trailer_bytes(status) > budget:
        kept = [d for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
        del status.details[:]
        status.details.extend(kept)
    return status


def _bad_request_of(status: status_pb2.Status) -> tuple[error_details_pb2.BadRequest | None, int | None]:
    for position, detail in enumerate(status.details):
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return bad, position
    return None, None


def _shortened(message: str) -> str:
    keep = len(message) // 2
    return message[:keep].rstrip("…") + "…" if keep > 8 else ""


def internal_status(message: str = "internal error") -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message=message)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status) -> None:
    """Ends the RPC with `status`, its details in the grpc-status-details-bin trailer."""
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, trailing_metadata=converted.trailing_metadata)
