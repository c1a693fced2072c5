"""Per-stage-service circuit breakers: whether the dispatcher may start jobs that need a service.

A breaker is SERVING (closed), UNAVAILABLE (open: no job that needs the service is started) or PROBING
(half-open: one job may try it). What moves it:

- the service's gRPC health (`on_health`): NOT_SERVING or unreachable opens it and keeps it open; SERVING after
  that makes it PROBING;
- stage calls: a call that finds the service unreachable opens it (`on_failure`, after `failure_threshold` in a
  row), a call that gets an answer closes it (`on_success`);
- time, only when health says nothing (a service without the health protocol): an open breaker turns PROBING
  after a cool-down that grows with each opening in a row.

In PROBING the dispatcher starts one job at a time (`claimable` / `started`); its stage call closes or re-opens
the breaker. A probe that never calls the service frees its slot after `probe_timeout`.

A breaker guards against losing a service: it opens only once the service has been seen serving. Until then it
stays UNSPECIFIED (with the last error as its reason) and jobs start as usual; their calls wait for the service
within their outage budget. So a scheduler started before its stage services (or one that runs only job types
that call none, such as no-op jobs, with no stage service at all) does not stop claiming.

Pure state machines over an injected clock and random draw: no asyncio, no grpc.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from services.scheduler.backoff import Backoff
from services.scheduler.model import ServiceState, StageServiceView


class Health(enum.StrEnum):
    """What the service's health protocol last said."""

    UNKNOWN = "UNKNOWN"  # not asked yet, or the service does not implement it: time decides
    SERVING = "SERVING"
    DOWN = "DOWN"  # NOT_SERVING, or the server cannot be reached


@dataclass(frozen=True)
class BreakerConfig:
    """How a breaker opens and probes."""

    # Calls that must find the service unreachable in a row to open the breaker.
    failure_threshold: int = 1
    # Open -> PROBING after this cool-down when health says nothing (one step per opening in a row).
    cooldown: Backoff = field(default_factory=lambda: Backoff(initial=1.0, maximum=30.0))
    # A probe job that neither succeeds nor fails at the service within this many seconds frees the slot.
    probe_timeout: float = 30.0


class CircuitBreaker:
    """The breaker of one stage service."""

    def __init__(
        self,
        service: str,
        config: BreakerConfig,
        *,
        clock: Callable[[], float],
        rand: Callable[[], float] = lambda: 0.5,
    ) -> None:
        self.service, self._config, self._clock, self._rand = service, config, clock, rand
        self.state = ServiceState.UNSPECIFIED
        self.since = clock()
        self.reason = ""
        self.health = Health.UNKNOWN
        self._failures = 0  # calls in a row that found the service unreachable
        self._openings = 0  # openings since it last served a call
        self._probe_at: float | None = None  # when the current probe job started
        self._reopen_at = 0.0  # when an open breaker without health turns PROBING
        self.seen_serving = False  # only a service seen serving can be lost (see the module docstring)

    def _move(self, state: ServiceState, reason: str = "") -> bool:
        self.reason = reason
        if state is self.state:
            return False
        self.state, self.since = state, self._clock()
        self._probe_at = None
        return True

    def _open(self, reason: str) -> bool:
        if not self.seen_serving:
            self.reason = reason
            return False
        if self.state is not ServiceState.UNAVAILABLE:
            delay = self._config.cooldown.delay(self._openings, self._rand())
            self._openings += 1
            self._reopen_at = self._clock() + delay
        return self._move(ServiceState.UNAVAILABLE, reason)

    def on_health(self, health: Health, reason: str = "") -> bool:
        """The health protocol's report; returns whether the state changed."""
        self.health = health
        if health is Health.DOWN:
            return self._open(reason or "not serving")
        if health is Health.SERVING:
            self.seen_serving = True
            if self.state is ServiceState.UNAVAILABLE:
                return self._move(ServiceState.PROBING)
            if self.state is ServiceState.UNSPECIFIED:
                return self._move(ServiceState.SERVING)
        return False

    def on_failure(self, reason: str) -> bool:
        """A stage call found the service unreachable; returns whether the state changed."""
        self._failures += 1
        if self.state is ServiceState.PROBING or self._failures >= self._config.failure_threshold:
            return self._open(reason)
        return False

    def on_success(self) -> bool:
        """A stage call got an answer from the service; returns whether the state changed."""
        self._failures = self._openings = 0
        self.seen_serving = True
        if self.health is Health.DOWN:
            # A call got through although health last said down: the health stream lags; the call is the news.
            self.health = Health.UNKNOWN
        return self._move(ServiceState.SERVING)

    def refresh(self) -> bool:
        """Applies the passing of time: an open breaker that health does not hold open turns PROBING after its
        cool-down; a probe that said nothing for too long frees its slot. Returns whether the state changed."""
        now = self._clock()
        if self.state is ServiceState.UNAVAILABLE and self.health is not Health.DOWN and now >= self._reopen_at:
            return self._move(ServiceState.PROBING, self.reason)
        if self._probe_at is not None and now - self._probe_at >= self._config.probe_timeout:
            self._probe_at = None
        return False

    @property
    def blocks(self) -> bool:
        """No job that needs the service may start."""
        return self.state is ServiceState.UNAVAILABLE or (
            self.state is ServiceState.PROBING and self._probe_at is not None
        )

    @property
    def probing(self) -> bool:
        return self.state is ServiceState.PROBING

    def probe_started(self) -> None:
        if self.state is ServiceState.PROBING:
            self._probe_at = self._clock()


class Breakers:
    """The breakers of the stage services one dispatcher calls; the gate its claim loop asks."""

    def __init__(
        self,
        services: Iterable[str],
        config: BreakerConfig,
        *,
        clock: Callable[[], float],
        rand: Callable[[], float] = lambda: 0.5,
    ) -> None:
        self._breakers = {name: CircuitBreaker(name, config, clock=clock, rand=rand) for name in services}
        self._waiting = dict.fromkeys(self._breakers, 0)

    def __getitem__(self, service: str) -> CircuitBreaker:
        return self._breakers[service]

    def refresh(self) -> list[str]:
        """Applies the passing of time to every breaker; returns the services whose state changed."""
        return [name for name, breaker in self._breakers.items() if breaker.refresh()]

    def blocking(self) -> list[str]:
        """The services that keep jobs from starting now."""
        self.refresh()
        return [name for name, breaker in self._breakers.items() if breaker.blocks]

    def claimable(self, free: int) -> int:
        """How many jobs may start now, with `free` worker slots: none while a service is down, one at a time
        while one is being probed, else all of them.

        Every job type that calls stage services calls all four, and the store's claim takes the head of the queue
        whatever its type, so the gate is one for all jobs."""
        if self.blocking():
            return 0
        if any(breaker.probing for breaker in self._breakers.values()):
            return min(free, 1)
        return free

    def started(self, jobs: int) -> None:
        """`jobs` were started after claimable(): the first of them is the probe of every probing service."""
        if jobs:
            for breaker in self._breakers.values():
                breaker.probe_started()

    def wait_began(self, service: str) -> None:
        self._waiting[service] += 1

    def wait_ended(self, service: str) -> None:
        self._waiting[service] = max(self._waiting[service] - 1, 0)

    def views(self) -> list[StageServiceView]:
        self.refresh()
        return [
            StageServiceView(name, b.state, b.since, b.reason, self._waiting[name])
            for name, b in self._breakers.items()
        ]
