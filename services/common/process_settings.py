"""The settings every process shares, and how each process reads its own: pydantic-settings over
SKILLBRIDGE_* environment variables (field `foo_bar` from `SKILLBRIDGE_FOO_BAR`), parsed by type.

Each service package has its own settings class composed from CommonSettings (services/<svc>/settings.py,
gateway/settings.py), and reads it once where the process is wired (`__main__`, `serve()`, `create_app()`).
services/common/settings.py composes them all into the whole stack's Settings (`skillbridge up`, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "SKILLBRIDGE_"
# The variables `from_env(environ)` reads instead of the process environment, while it builds a settings object.
_GIVEN_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("skillbridge_settings_environ", default=None)
# A bad value is quoted in the error up to this many characters.
_QUOTED_CHARS = 64


class _Environment(EnvSettingsSource):
    """The process environment, or the mapping handed to `from_env`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        given = _GIVEN_ENVIRON.get()
        if given is None:
            return super()._load_env_vars()
        return parse_env_vars(given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


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
    # Threads each process's math libraries may use (BLAS, OpenMP, torch intra-op; services/common/compute.py).
    # Requests of concurrent jobs already keep the cores busy; 0 leaves the libraries' own defaults.
    compute_threads: int = 1

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword values, then SKILLBRIDGE_* variables; no .env or secrets files."""
        return (init_settings, _Environment(settings_cls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Reads SKILLBRIDGE_* variables (from `environ` alone when given, else the process environment);
        keyword overrides win. A value that does not parse as its field's type raises ValueError naming the
        variable and quoting the value."""
        token = _GIVEN_ENVIRON.set(environ)
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ValueError("; ".join(_variable_error(e) for e in exc.errors())) from exc
        finally:
            _GIVEN_ENVIRON.reset(token)

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, each parsed as its field's type (nothing is read from the environment)."""
        token = _GIVEN_ENVIRON.set({})
        try:
            return type(self)(**{**self.model_dump(), **changes})
        finally:
            _GIVEN_ENVIRON.reset(token)


def _variable_error(error: Any) -> str:
    """One bad setting in words: the variable, the value quoted (cut short), what is wrong."""
    name = f"{ENV_PREFIX}{'.'.join(map(str, error['loc'])).upper()}"
    value = error.get("input")
    if isinstance(value, str):
        quoted = value if len(value) <= _QUOTED_CHARS else f"{value[:_QUOTED_CHARS]}..."
        name = f"{name}={quoted!r}"
    return f"{name}: {error['msg']}"


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
