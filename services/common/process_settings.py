"""The settings every process shares, and how each process reads its own: pydantic-settings over
SKILLBRIDGE_* environment variables (field `foo_bar` from `SKILLBRIDGE_FOO_BAR`), parsed by type.

Each service package has its own settings class composed from CommonSettings (services/<svc>/settings.py,
gateway/settings.py), and reads it once where the process is wired (`__main__`, `serve()`, `create_app()`).
services/common/settings.py composes them all into the whole stack's Settings (`skillbridge up`, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "SKILLBRIDGE_"


class CommonSettings(BaseSettings):
    """What every process reads: where it binds, where the data is, limits, logs and tracing."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    data_dir: Path = REPO_ROOT / "data"
    # The course catalog, and one a user imported (`skillbridge catalog import`), which wins when present.
    catalog_path: Path = REPO_ROOT / "data" / "courses.jsonl"
    imported_catalog_path: Path = REPO_ROOT / "var" / "catalog.jsonl"
    # gRPC servers. Above the 10 MB a careless client may send, so oversized texts get a field violation, not a
    # transport error.
    max_message_bytes: int = 16 * 1024 * 1024
    shutdown_grace_seconds: float = 10.0
    # Connections older than this are closed gracefully (0 = never), so that clients balancing over a headless
    # Service (dns:/// targets) re-resolve and find replicas added since they connected.
    max_connection_age_seconds: float = 0.0
    # How long calls in flight on such a connection may go on (a stage call's deadline is 30 s by default); streams
    # still open then are ended and their clients resume on a new connection.
    max_connection_age_grace_seconds: float = 30.0
    # Spans are exported over OTLP/gRPC to this endpoint (e.g. http://otel-collector:4317) when set.
    otlp_endpoint: str = ""
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Reads SKILLBRIDGE_* variables (from `environ` when given, else the process environment); keyword
        overrides win. A value that does not parse as its field's type raises ValueError naming the variable."""
        try:
            if environ is None:
                return cls(**overrides)
            values: dict[str, Any] = {}
            for name in cls.model_fields:
                raw = environ.get(f"{ENV_PREFIX}{name.upper()}")
                if raw is not None:
                    values[name] = raw
            return cls.model_validate({**values, **overrides})
        except ValidationError as exc:
            bad = "; ".join(f"{ENV_PREFIX}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
            raise ValueError(bad) from exc

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, each parsed as its field's type."""
        return type(self).model_validate({**self.model_dump(), **changes})


class AuthSettings(CommonSettings):
    """Who may call: what the scheduler checks on every RPC and the gateway on the routes it answers itself."""

    # "key=owner[:tier],key2=owner2" pairs; empty means the development owner for every caller.
    api_keys: str = ""
    dev_owner: str = "dev"
    # With keys configured, a request without a key still acts as dev_owner (the local `skillbridge up` stack).
    allow_anonymous: bool = False
    # A scheduler or gateway bound to a non-loopback address refuses to start without API keys (or with
    # anonymous access) unless this is set: serving everyone as an admin must be asked for by name.
    insecure_no_auth: bool = False
