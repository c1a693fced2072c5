"""Wiring of the scheduler process: store, dispatcher, job service, gRPC server. Built here and nowhere else."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass

import grpc
from google.longrunning import operations_pb2_grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2

from services.common.exposure import exit_if_exposed
from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_until_signal
from services.scheduler.auth import KeyRing
from services.scheduler.dispatcher import Dispatcher, JobHandler
from services.scheduler.feed import ChangeFeed
from services.scheduler.handlers import CourseRecommendationHandler, NoopHandler, RankAnalysesHandler
from services.scheduler.jobs import JobService
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import JobType
from services.scheduler.operations import OperationsServicer
from services.scheduler.servicer import JobSchedulerServicer, add_to_server
from services.scheduler.settings import SchedulerSettings
from services.scheduler.stage_clients import StageClients
from services.scheduler.store.base import JobStore
from services.scheduler.store.factory import open_store
from services.scheduler.versions import ResultVersions

log = logging.getLogger(__name__)

# Container objects allocated (net of those freed) between two young-generation collections. A SubmitJobs call of
# 500 jobs holds some 3,200 of them until it answers: at CPython's default of 700 each call ran about eight young
# collections, which moved the batch's objects on into the older generations, and a collection of the oldest,
# over every object of the process, came every dozen calls; all together about 6% of a batch submit's time
# (measured in-process, 7 us of 120 per job; with gc.freeze and this threshold, none).
GC_YOUNG_THRESHOLD = 10_000

SERVICE_NAME = scheduler_service_pb2.DESCRIPTOR.services_by_name["JobSchedulerService"].full_name
OPERATIONS_NAME = "google.longrunning.Operations"


@dataclass
class SchedulerServer:
    """A running scheduler: its gRPC server, dispatcher (if any), job service and store."""

    running: RunningServer
    jobs: JobService
    store: JobStore
    dispatcher: Dispatcher | None
    clients: StageClients | None
    observability: Observability
    metrics: SchedulerMetrics
    _stopping: bool = False
    _closed: bool = False

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def address(self) -> str:
        return self.running.address

    async def stop(self, grace: float = 1.0) -> None:
        """Drains within `grace` seconds in all, one deadline for every step: health goes NOT_SERVING; the
        dispatcher lets running jobs finish until shortly before the deadline and hands the rest back to the
        queue; open WatchJob streams end with UNAVAILABLE (their clients resume on another replica); the server
        stops, giving in-flight unary calls what is left; channels and store close."""
        if self._stopping:
            return
        self._stopping = True
        deadline = time.monotonic() + max(grace, 0.0)
        await self.running.health.enter_graceful_shutdown()
        if self.dispatcher is not None:
            await self.dispatcher.stop(max(grace - drain_reserve(grace), 0.0))
        self.jobs.close_streams()
        await self.running.server.stop(max(deadline - time.monotonic(), 0.0))
        await self.close()

    async def close(self) -> None:
        """Closes the stage channels and the store (once)."""
        if self.clients is not None:
            await self.clients.close()
            self.clients = None
        if not self._closed:
            self._closed = True
            await self.store.close()


def tune_gc() -> None:
    """Once the process is built: what it allocated to start (modules, the server, the store) stays for its
    life, so the collector stops walking it (gc.freeze); and young collections run less often (see
    GC_YOUNG_THRESHOLD). Cycles are still collected; only how often and over what changes."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def drain_reserve(grace: float) -> float:
    """What the dispatcher's drain leaves of the grace period for handing jobs back, ending streams and stopping
    the server: a fifth of it, at most 2 s."""
    return min(grace * 0.2, 2.0)


async def start(
    settings: SchedulerSettings,
    *,
    port: int | None = None,
    store: JobStore | None = None,
    feed: ChangeFeed | None = None,
    handlers: dict[JobType, JobHandler] | None = None,
    observability: Observability | None = None,
) -> SchedulerServer:
    """Starts the scheduler (and its dispatcher unless settings.run_dispatcher is false). Port 0 binds a free
    port; by default handlers call the stage services at the addresses in settings. Metrics go to the registry
    of `observability` (a private one when none is given; serve() passes the process's, served on its port)."""
    observability = observability or Observability()
    metrics = SchedulerMetrics(observability.registry)
    feed = feed or ChangeFeed()
    store = store or open_store(settings, feed)
    await store.open()
    metrics.watch_store(store, asyncio.get_running_loop(), time.time)
    clients: StageClients | None = None
    if handlers is None:
        # A stage service's breaker changing state wakes the claim loop (it waits on the queue's notices).
        clients = StageClients.from_settings(
            settings, spans=observability.spans, metrics=metrics, on_change=lambda service: feed.queue_changed()
        )
        handlers = {
            JobType.NOOP: NoopHandler(),
            JobType.COURSE_RECOMMENDATION: CourseRecommendationHandler(clients),
            JobType.RANK_ANALYSES: RankAnalysesHandler(),
        }
    dispatcher = (
        Dispatcher(store, feed, handlers, settings, metrics=metrics, gate=clients.breakers if clients else None)
        if settings.run_dispatcher
        else None
    )
    if clients is not None and dispatcher is not None:
        clients.start()  # follow the stage services' health
    jobs = JobService(
        store,
        feed,
        settings,
        local_workers=(lambda: dispatcher.slots) if dispatcher else (lambda: 0),
        local_running=(lambda: dispatcher.running) if dispatcher else (lambda: 0),
        on_cancel=dispatcher.abort if dispatcher else (lambda job_id: None),
        on_submit=metrics.job_submitted,
        versions=ResultVersions.from_settings(settings),
        stage_services=clients.breakers.views if clients is not None and dispatcher is not None else list,
    )
    keys = KeyRing.from_settings(settings)

    def register(server: grpc.aio.Server) -> None:
        add_to_server(JobSchedulerServicer(jobs, keys), server)
        operations_pb2_grpc.add_OperationsServicer_to_server(OperationsServicer(jobs, keys), server)

    running = await create_server(
        settings,
        register=register,
        service_names=[SERVICE_NAME, OPERATIONS_NAME],
        port=settings.scheduler_port if port is None else port,
        observability=observability,
    )
    if dispatcher is not None:
        await dispatcher.start()
    return SchedulerServer(
        running=running,
        jobs=jobs,
        store=store,
        dispatcher=dispatcher,
        clients=clients,
        observability=observability,
        metrics=metrics,
    )


async def serve(settings: SchedulerSettings) -> None:
    """Runs the scheduler on settings.scheduler_port until SIGTERM/SIGINT, then drains. Metrics are served on
    settings.scheduler_metrics_port (0 = off). Exits at once when it would serve unauthenticated callers on a
    reachable address (services.common.exposure)."""
    exit_if_exposed(settings, settings.host, settings.scheduler_port, "scheduler")
    observability = Observability.for_process(settings, "scheduler", settings.scheduler_metrics_port)
    try:
        server = await start(settings, observability=observability)
        tune_gc()
        log.info("scheduler ready on %s (store %s)", server.address, settings.store)
        await serve_until_signal(server.running, settings.shutdown_grace_seconds, drain=server.stop)
        await server.close()
    finally:
        observability.close()
