"""`skillbridge serve NAME` (and `python -m services.cli.serve NAME`, how `skillbridge up` starts each child): one
service in the foreground with settings from the environment.

A configuration that cannot work (a bad setting, a store file that is not a database or cannot be opened) ends
the process with one line saying what is wrong and exit status 78 (EX_CONFIG in sysexits.h), never a traceback;
the supervisor of `skillbridge up` stops on that status instead of restarting the service in a loop. Any other
crash keeps its traceback and ordinary exit status, and is restarted."""

from __future__ import annotations

import argparse
import importlib
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from services.scheduler.store.factory import StoreOpenError

log = logging.getLogger(__name__)

EXIT_CONFIG = 78
GRPC_SERVICES = ("ner", "similarity", "retrieval", "recommendation", "scheduler")
SERVICES = (*GRPC_SERVICES, "gateway")
# Raised while a service reads its settings or opens what they name: a restart cannot fix these.
CONFIG_ERRORS: tuple[type[Exception], ...] = (
    StoreOpenError,  # the scheduler's store file cannot be opened: the message names it and what to do
    ValueError,  # a setting that does not parse or is out of range (pydantic's ValidationError is one too)
    sqlite3.DatabaseError,  # the store file is not a database, or cannot be opened
    PermissionError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
)
# sqlite3 errors that pass with time (another process holds a lock): a crash to restart, not a configuration error.
TRANSIENT_SQLITE = ("locked", "busy")


class ConfigurationError(Exception):
    """The service cannot run with its configuration; the message says what to fix."""


def module_of(name: str) -> str:
    return "gateway" if name == "gateway" else f"services.{name}"


def is_configuration_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError) and any(word in str(exc).lower() for word in TRANSIENT_SQLITE):
        return False
    return isinstance(exc, CONFIG_ERRORS)


def describe(exc: BaseException, store: str | None) -> str:
    """One line: what is wrong and what to do."""
    if isinstance(exc, StoreOpenError):
        return str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and store:
        return f"cannot open the store {store} ({exc}): move the file away or point SKILLBRIDGE_STORE at another path"
    return f"{exc}: fix the setting and start again"


def serve_one(name: str) -> None:
    """Runs service `name` until SIGTERM/SIGINT; raises ConfigurationError when its configuration cannot work."""
    from services.common.logs import configure_logging
    from services.common.settings import Settings

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise ConfigurationError(describe(exc, None)) from exc
    configure_logging(settings.log_level, json_lines=settings.log_json, service=name)
    try:
        if name == "gateway":
            from gateway.server import serve as serve_gateway

            serve_gateway(settings)
            return
        from services.common.server import run

        server_module = importlib.import_module(f"{module_of(name)}.server")
        run(lambda: server_module.serve(settings))
    except Exception as exc:
        if is_configuration_error(exc):
            log.debug("configuration error", exc_info=True)  # the traceback, for SKILLBRIDGE_LOG_LEVEL=DEBUG
            raise ConfigurationError(describe(exc, settings.store)) from exc
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.cli.serve NAME [--reason-file PATH]`; returns the exit status."""
    parser = argparse.ArgumentParser(prog="skillbridge serve", description="run one service in the foreground")
    parser.add_argument("name", choices=SERVICES)
    parser.add_argument("--reason-file", type=Path, help=argparse.SUPPRESS)  # where the supervisor reads why
    args = parser.parse_args(argv)
    return run_service(args.name, args.reason_file)


def run_service(name: str, reason_file: Path | None = None) -> int:
    """Serves `name`; on a configuration error prints one line (or, under the supervisor, writes it to
    `reason_file` for the supervisor to print) and returns EXIT_CONFIG."""
    try:
        serve_one(name)
    except ConfigurationError as exc:
        line = f"{name}: {exc}"
        if reason_file is not None:
            reason_file.write_text(line + "\n", encoding="utf-8")
        else:
            print(f"error: {line}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
