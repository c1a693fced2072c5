"""Structured logging: one JSON object per line, with the job id and trace id of the work in hand."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time

job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; job_id and trace_id come from context variables."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        job_id = getattr(record, "job_id", "") or job_id_var.get()
        trace_id = getattr(record, "trace_id", "") or trace_id_var.get()
        if job_id:
            entry["job_id"] = job_id
        if trace_id:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool = True, service: str = "") -> None:
    """Sets up the root logger once per process (called from serve(), never at import time)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def reset_var(var: contextvars.ContextVar[str], token: contextvars.Token[str]) -> None:
    """Restores a context variable, tolerating a token from another Context: a streaming handler's async
    generator may be closed from a different task, whose context never held the value (and the context that did
    ends with the stream)."""
    with contextlib.suppress(ValueError):
        var.reset(token)
