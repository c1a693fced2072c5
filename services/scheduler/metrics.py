"""The scheduler's Prometheus figures: what its dispatcher did (counters and stage histograms, per process) and
what the store holds (queue depth and jobs by state, read from the store when scraped, cached about a second).

The store figures are the same on every replica of a shared store: aggregate them with max(), not sum(). The
counters are per process: sum them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.common.metrics import LATENCY_BUCKETS
from services.scheduler.model import JobRecord, JobState, JobType, QueueCounts
from services.scheduler.store.base import JobStore

log = logging.getLogger(__name__)

# How fresh the store's counts must be for a scrape, and how long a scrape waits for them.
COUNTS_MAX_AGE_SECONDS = 1.0
COUNTS_TIMEOUT_SECONDS = 2.0


class SchedulerMetrics:
    """Counters and histograms the dispatcher, the stage clients and the job service record into."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.submitted = Counter(
            "skillbridge_jobs_submitted", "Jobs accepted by this scheduler, by type.", ["type"], registry=registry
        )
        self._submitted_by_type: dict[JobType, Counter] = {}
        self.finished = Counter(
            "skillbridge_jobs_finished",
            "Jobs this scheduler's dispatcher finished, by type and final state.",
            ["type", "state"],
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "skillbridge_stage_duration_seconds",
            "Time a stage of a job took, from its start to its recorded end, by stage.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.stage_errors = Counter(
            "skillbridge_stage_errors",
            "Stage calls that failed the job, by stage and gRPC status code.",
            ["stage", "code"],
            registry=registry,
        )
        self.stage_retries = Counter(
            "skillbridge_stage_retries",
            "Stage calls retried because the stage service could not be reached, by stage.",
            ["stage"],
            registry=registry,
        )
        self.claims_paused = Counter(
            "skillbridge_claims_paused",
            "Turns of the dispatcher's claim loop that started no job because a stage service was down, by service.",
            ["service"],
            registry=registry,
        )
        self.lease_expiries = Counter(
            "skillbridge_lease_expiries",
            "Running jobs this scheduler re-queued because their worker's lease ran out.",
            registry=registry,
        )

    def job_submitted(self, job: JobRecord) -> None:
        # The labelled child is kept once made: labels() takes a lock and checks the values on every call, a
        # cost per job that a batch submit paid five hundred times a call.
        child = self._submitted_by_type.get(job.type)
        if child is None:
            child = self._submitted_by_type[job.type] = self.submitted.labels(job.type.value)
        child.inc()

    def job_finished(self, job: JobRecord, state: JobState) -> None:
        self.finished.labels(job.type.value, state.value).inc()

    def watch_store(self, store: JobStore, loop: asyncio.AbstractEventLoop, clock: Callable[[], float]) -> None:
        """Adds the store's queue figures to the registry, read on `loop` when a scrape asks for them."""
        self.registry.register(StoreCollector(store, loop, clock))


class StoreCollector(Collector):
    """Queue depth by priority, jobs by state and live workers, from JobStore.counts, at most once a second.

    Scrapes come on the metrics server's threads; the store lives on the event loop, so the read is handed to
    the loop. A scrape on the loop's own thread (a test calling generate_latest) gets the cached figures."""

    def __init__(self, store: JobStore, loop: asyncio.AbstractEventLoop, clock: Callable[[], float]) -> None:
        self._store, self._loop, self._clock = store, loop, clock
        self._lock = threading.Lock()
        self._counts: QueueCounts | None = None
        self._read_at = -1e9
        self._priorities: set[int] = set()  # seen once, reported from then on (as 0 when none wait)

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def _families(self, counts: QueueCounts | None) -> list[Metric]:
        depth = GaugeMetricFamily(
            "skillbridge_queue_depth", "Jobs waiting in the queue, by priority (the whole store).", labels=["priority"]
        )
        by_state = GaugeMetricFamily("skillbridge_jobs", "Jobs in the store by state.", labels=["state"])
        workers = GaugeMetricFamily("skillbridge_workers", "Dispatcher slots with a live heartbeat.")
        if counts is not None:
            self._priorities.update(counts.queued_by_priority)
            for priority in sorted(self._priorities):
                depth.add_metric([str(priority)], counts.queued_by_priority.get(priority, 0))
            for state in JobState:
                by_state.add_metric([state.value], counts.by_state.get(state, 0))
            workers.add_metric([], counts.workers)
        return [depth, by_state, workers]

    def collect(self) -> Iterable[Metric]:
        return self._families(self._fresh_counts())

    def _fresh_counts(self) -> QueueCounts | None:
        with self._lock:
            if time.monotonic() - self._read_at < COUNTS_MAX_AGE_SECONDS or not self._can_wait():
                return self._counts
            future = asyncio.run_coroutine_threadsafe(self._store.counts(self._clock()), self._loop)
            try:
                self._counts = future.result(COUNTS_TIMEOUT_SECONDS)
                self._read_at = time.monotonic()
            except FutureTimeout:
                future.cancel()
                log.warning("store counts took over %.1f s; serving the last ones", COUNTS_TIMEOUT_SECONDS)
            except Exception:
                log.exception("could not read the store's counts for a scrape")
            return self._counts

    def _can_wait(self) -> bool:
        if self._loop.is_closed() or not self._loop.is_running():
            return False
        try:
            return asyncio.get_running_loop() is not self._loop
        except RuntimeError:
            return True  # no loop in this thread: a metrics server thread
