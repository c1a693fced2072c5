"""How long a job waits for an unreachable stage service: a capped exponential backoff with jitter between
tries, inside an outage budget that bounds the whole wait. Pure arithmetic over times it is given (no clock,
no randomness of its own, no I/O), so the schedule is unit-tested exactly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry n (0-based): `initial * multiplier**n`, capped at `maximum`, then jittered down by up
    to `jitter` of itself, so jobs that lost a service together do not retry in step."""

    initial: float
    maximum: float
    multiplier: float = 2.0
    jitter: float = 0.5

    def delay(self, retry: int, unit: float) -> float:
        """The delay before retry `retry`; `unit` is a uniform draw in [0, 1) (random.random in production)."""
        if retry < 0:
            raise ValueError("retry must not be negative")
        # Beyond ~64 doublings every practical cap is reached: stop before the float overflows.
        base = min(self.maximum, self.initial * self.multiplier ** min(retry, 64))
        spread = min(max(self.jitter, 0.0), 1.0)
        return max(base * (1.0 - spread * min(max(unit, 0.0), 1.0)), 0.0)


@dataclass
class OutageBudget:
    """The time one stage call may spend waiting for its service, from the first failed try on.

    Each try gets the stage timeout or what is left of the budget, whichever is less; the wait between tries is
    the backoff, cut to what is left. Once nothing is left, the job goes back to the queue."""

    seconds: float
    started: float | None = None
    retries: int = 0
    # What the first failed try saw (the outage's cause, as the job is told).
    cause: str = ""

    @property
    def waiting(self) -> bool:
        """Whether a try has failed for want of the service (the wait has begun)."""
        return self.started is not None

    def begin(self, now: float, cause: str = "") -> None:
        if self.started is None:
            self.started, self.cause = now, cause

    def waited(self, now: float) -> float:
        return 0.0 if self.started is None else max(now - self.started, 0.0)

    def left(self, now: float) -> float:
        return max(self.seconds - self.waited(now), 0.0)

    def spent(self, now: float) -> bool:
        return self.started is not None and self.left(now) <= 0.0

    def try_timeout(self, now: float, stage_timeout: float) -> float:
        """The deadline of the next try: the stage's own timeout, bounded by the budget once waiting."""
        return stage_timeout if self.started is None else min(stage_timeout, self.left(now))

    def next_delay(self, now: float, backoff: Backoff, unit: float) -> float:
        """The pause before the next try (counting it), never past the end of the budget."""
        delay = backoff.delay(self.retries, unit)
        self.retries += 1
        return min(delay, self.left(now))
