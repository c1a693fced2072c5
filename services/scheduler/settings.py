"""The scheduler process's settings: its port, store, dispatcher, queue rules, keys and tiers."""

from __future__ import annotations

from pathlib import Path

from services.common.process_settings import REPO_ROOT, AuthSettings


class SchedulerSettings(AuthSettings):
    """Configuration of the JobScheduler (and its dispatcher)."""

    scheduler_port: int = 50051
    scheduler_metrics_port: int = 9151
    # Where each stage service is reached; comma-separated addresses are balanced round-robin.
    ner_address: str = "127.0.0.1:50052"
    similarity_address: str = "127.0.0.1:50053"
    retrieval_address: str = "127.0.0.1:50054"
    recommendation_address: str = "127.0.0.1:50055"

    # Store: sqlite:///path/to/file.db or redis://host:port/db
    store: str = "sqlite:///var/skillbridge.db"

    # Redis store: the most connections one process opens (at the cap a call waits for a free one, up to the
    # wait, instead of failing), and how long one may sit unused before it is closed (so a replica does not keep
    # the connections of its largest burst). WatchJob streams hold none while they wait for events.
    redis_max_connections: int = 64
    redis_pool_wait_seconds: float = 10.0
    redis_idle_seconds: float = 30.0

    # Dispatcher
    run_dispatcher: bool = True
    concurrency: int = 4
    lease_seconds: float = 15.0
    stage_timeout_seconds: float = 30.0
    max_attempts: int = 3
    # Stage-service outages: how long one stage call waits for an unreachable service (long enough for a model
    # reload) before its job goes back to the queue, and the backoff between its tries (jittered, capped). The cap
    # is also the longest a stage channel waits between reconnects, so a restarted service is found within it.
    stage_outage_budget_seconds: float = 120.0
    stage_retry_initial_seconds: float = 0.2
    stage_retry_max_seconds: float = 1.0
    # Each service's circuit breaker: calls that must find it unreachable in a row to stop starting jobs, and,
    # for a service without gRPC health, the cool-down before a probe job may try it again (doubling to the max).
    breaker_failure_threshold: int = 1
    breaker_cooldown_seconds: float = 1.0
    breaker_cooldown_max_seconds: float = 30.0
    poll_interval_seconds: float = 0.5

    # Queue rules
    max_queue_depth: int = 10_000
    max_priority: int = 9
    max_text_bytes: int = 200_000
    result_ttl_seconds: float = 24 * 3600.0
    sweep_interval_seconds: float = 60.0
    default_job_seconds: float = 2.0
    # Whether an analysis identical to a finished one of the same owner is answered with that result at once
    # (each submit can also opt out with skip_cache).
    result_cache: bool = True
    # Mixed into the result cache's key (services/scheduler/versions.py): change it to stop serving every
    # result cached so far.
    result_cache_salt: str = ""
    # With either remote backend configured on the stage services, results are not cached (they may change).
    pinecone_api_key: str = ""
    cohere_api_key: str = ""

    # Per-tier policy (0 = unlimited). A key's tier caps the priority its jobs may ask for and limits how many
    # jobs its owner may have waiting and running, and how fast it may submit (a token bucket).
    standard_max_priority: int = 4
    standard_max_queued: int = 500
    standard_max_running: int = 4
    standard_submit_rate: float = 20.0
    standard_submit_burst: int = 100
    vip_max_priority: int = 8
    vip_max_queued: int = 5000
    vip_max_running: int = 16
    vip_submit_rate: float = 200.0
    vip_submit_burst: int = 1000

    def sqlite_path(self) -> Path:
        """The SQLite file named by `store`, relative paths taken from the repository root."""
        if not self.store.startswith("sqlite:///"):
            raise ValueError(f"store is not a sqlite URL: {self.store}")
        path = Path(self.store[len("sqlite:///") :])
        return path if path.is_absolute() else REPO_ROOT / path
