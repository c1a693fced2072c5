"""Typed errors of the SkillBridge SDK: one root, one subclass per status a caller may want to handle.

Callers catch these and never import grpc: the client converts every gRPC failure with `from_status`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request (from google.rpc.BadRequest)."""

    field: str
    description: str


class SkillBridgeError(Exception):
    """Root of every SDK error. `code` is the gRPC status name, e.g. "NOT_FOUND"."""

    default_code = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.field_violations = field_violations
        self.retry_after = retry_after
        # The server's google.rpc.ErrorInfo reason where it sent one, e.g. QUEUE_FULL, RATE_LIMITED,
        # QUOTA_EXCEEDED for the three limits behind RESOURCE_EXHAUSTED.
        self.reason = reason

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.field_violations:
            text += " (" + "; ".join(f"{v.field}: {v.description}" for v in self.field_violations) + ")"
        return text


class InvalidRequest(SkillBridgeError):
    """The request was rejected as invalid; `field_violations` says which fields and why."""

    default_code = "INVALID_ARGUMENT"


class NotFound(SkillBridgeError):
    """No such job, or it belongs to someone else."""

    default_code = "NOT_FOUND"


class Conflict(SkillBridgeError):
    """The job is not in a state that allows the operation (e.g. cancelling a finished job)."""

    default_code = "FAILED_PRECONDITION"


class QuotaExceeded(SkillBridgeError):
    """The queue or the caller's quota is full; retry after `retry_after` seconds."""

    default_code = "RESOURCE_EXHAUSTED"


class Unauthenticated(SkillBridgeError):
    """The API key is missing or unknown."""

    default_code = "UNAUTHENTICATED"


class PermissionDenied(SkillBridgeError):
    """The key is known but may not do this."""

    default_code = "PERMISSION_DENIED"


class Unavailable(SkillBridgeError):
    """The scheduler cannot be reached right now."""

    default_code = "UNAVAILABLE"


class DeadlineExceeded(SkillBridgeError):
    """The call (or a wait) took longer than its deadline."""

    default_code = "DEADLINE_EXCEEDED"


class Unimplemented(SkillBridgeError):
    """The server does not offer this call (it runs an older version)."""

    default_code = "UNIMPLEMENTED"


ERRORS_BY_CODE: dict[str, type[SkillBridgeError]] = {
    "INVALID_ARGUMENT": InvalidRequest,
    "OUT_OF_RANGE": InvalidRequest,
    "NOT_FOUND": NotFound,
    "FAILED_PRECONDITION": Conflict,
    "ALREADY_EXISTS": Conflict,
    "ABORTED": Conflict,
    "RESOURCE_EXHAUSTED": QuotaExceeded,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "UNIMPLEMENTED": Unimplemented,
}


def from_status(
    code: str,
    message: str,
    *,
    field_violations: tuple[FieldViolation, ...] = (),
    retry_after: float | None = None,
    reason: str | None = None,
) -> SkillBridgeError:
    """The typed error for a status code name."""
    cls = ERRORS_BY_CODE.get(code, SkillBridgeError)
    return cls(message, code=code, field_violations=field_violations, retry_after=retry_after, reason=reason)
