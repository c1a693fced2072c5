"""The error hierarchy every service raises from its core.

Core code never imports grpc: it raises these, and the server maps them to gRPC status codes with
`google.rpc` details in one table (see `services.common.grpc_errors`). Every message and field violation is
bounded (`services.common.error_text`): an error never echoes unbounded input.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.error_text import (
    MAX_DESCRIPTION_CHARS,
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_VIOLATIONS,
    bounded,
)


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: which field and what is wrong with it."""

    field: str
    description: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", bounded(self.field, MAX_FIELD_CHARS))
        object.__setattr__(self, "description", bounded(self.description, MAX_DESCRIPTION_CHARS))


class SkillBridgeError(Exception):
    """Root of every error the services raise on purpose."""

    reason: str = "ERROR"

    def __init__(self, message: str) -> None:
        self.message = bounded(message)
        super().__init__(self.message)


class InvalidArgument(SkillBridgeError):
    """The request is malformed; each bad field is listed."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        every = violations or []
        if len(every) > MAX_VIOLATIONS:
            # Listed up to a cap, counted beyond it: 10,000 bad ids make one short answer, not 10,000 lines.
            # The count leads, so that it survives any shortening of the message.
            note = f"{len(every)} field violations, the first {MAX_VIOLATIONS} listed: "
            message = note + bounded(message, MAX_MESSAGE_CHARS - len(note))
        super().__init__(message)
        self.violations: list[FieldViolation] = every[:MAX_VIOLATIONS]
        self.violation_count = len(every)

    @classmethod
    def for_field(cls, field_name: str, description: str) -> InvalidArgument:
        return cls(f"{field_name}: {description}", [FieldViolation(field_name, description)])


class NotFound(SkillBridgeError):
    """The named thing does not exist (or is not visible to the caller)."""

    reason = "NOT_FOUND"


class FailedPrecondition(SkillBridgeError):
    """The request is valid but the thing is in the wrong state for it."""

    reason = "FAILED_PRECONDITION"


class AlreadyExists(SkillBridgeError):
    """What the request would create exists already, made from another request (a reused idempotency key)."""

    reason = "ALREADY_EXISTS"


class Unauthenticated(SkillBridgeError):
    """No valid credentials were given."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(SkillBridgeError):
    """The caller is known but may not do this."""

    reason = "PERMISSION_DENIED"


@dataclass(frozen=True)
class QuotaViolation:
    """Which quota was exceeded and how."""

    subject: str
    description: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", bounded(self.subject, MAX_FIELD_CHARS))
        object.__setattr__(self, "description", bounded(self.description, MAX_DESCRIPTION_CHARS))


class ResourceExhausted(SkillBridgeError):
    """A limit was reached; try again after `retry_after` seconds."""

    reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        violations: list[QuotaViolation] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if reason:  # which limit (ErrorInfo.reason): clients tell a rate limit from a full queue without reading words
            self.reason = reason
        self.violations: list[QuotaViolation] = violations or []


class Unavailable(SkillBridgeError):
    """A dependency is down or the service is draining; retrying later may work."""

    reason = "UNAVAILABLE"
