"""The `skillbridge` command.

The client commands (analyze, show, status, watch, cancel, list, queue) live in this package. Commands that run
the server (up, serve, catalog import) belong to the server package, which registers them in the
`skillbridge.commands` entry-point group: each entry point names a function that takes the subparsers object and
adds one command whose parser sets `handler`, a function of the parsed arguments returning the exit status. With
the client installed alone, those names answer with how to get the server."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from skillbridge_client import cli_commands
from skillbridge_client.cli_commands import INTERRUPTED, JOB_FAILED, OK, SERVER, USAGE, InputError
from skillbridge_client.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    SkillBridgeError,
    Unauthenticated,
)

if TYPE_CHECKING:
    from skillbridge_client.cli_commands import Commands

log = logging.getLogger(__name__)

COMMANDS_GROUP = "skillbridge.commands"
DEFAULT_ADDRESS = "127.0.0.1:50051"
CLOSED_PIPE = 141  # as a Unix tool killed by SIGPIPE
SERVER_COMMANDS = {
    "up": "run the whole stack locally, supervised",
    "serve": "run one service in the foreground",
    "catalog": "course catalog (catalog import FILE)",
}
# Errors that mean "the command is wrong" (fix it), as opposed to "the server could not answer" (retry later).
USAGE_ERRORS = (InvalidRequest, NotFound, Conflict, Unauthenticated, PermissionDenied)

EXIT_STATUS_HELP = f"""exit status:
  {OK}    success (for analyze and watch: the job succeeded)
  {JOB_FAILED}    the job failed or was cancelled
  {USAGE}    usage: bad arguments or input file, or a request the server refused as wrong
       (invalid field, unknown job or API key, job already ended)
  {SERVER}    the server could not be reached, is overloaded, or failed: retrying later may help
  78   up / serve: a service stopped on a configuration error
  {INTERRUPTED}  interrupted (Ctrl-C); the job goes on unless --cancel-on-interrupt
  {CLOSED_PIPE}  the output pipe was closed (e.g. `skillbridge watch ID | head`)

environment: SKILLBRIDGE_SCHEDULER_ADDRESS (default {DEFAULT_ADDRESS}), SKILLBRIDGE_API_KEY"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command: the client's own and those the server package registers."""
    parser = argparse.ArgumentParser(
        prog="skillbridge",
        description="Skill-gap analysis with course recommendations.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--address",
        default=os.environ.get("SKILLBRIDGE_SCHEDULER_ADDRESS") or DEFAULT_ADDRESS,
        help="scheduler host:port (env SKILLBRIDGE_SCHEDULER_ADDRESS)",
    )
    parser.add_argument(
        "--api-key", default=os.environ.get("SKILLBRIDGE_API_KEY"), help="API key (env SKILLBRIDGE_API_KEY)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, seconds")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_commands.add_client_commands(commands)
    add_server_commands(commands)
    return parser


def add_server_commands(commands: Commands) -> None:
    """Adds the commands other installed packages register; stands in for missing server commands."""
    found = set()
    for entry in sorted(importlib.metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            register = entry.load()
        except ImportError as exc:  # a half-installed server package: the client commands still work
            log.warning("skipping the %r command: %s", entry.name, exc)
            continue
        register(commands)
        found.add(entry.name)
    for name, text in SERVER_COMMANDS.items():
        if name not in found:
            # Any arguments are accepted (no prefix character marks an option), so the answer is always the hint.
            missing = commands.add_parser(name, help=f"{text} (needs the server package)", prefix_chars="\0")
            missing.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
            missing.set_defaults(handler=_server_missing)


def _server_missing(args: argparse.Namespace) -> int:
    print(
        f"error: `skillbridge {args.command}` runs the SkillBridge server, which is not installed here "
        "(this is the client alone). Install the server package from the SkillBridge repository "
        "(`pip install .` at its root) to get it.",
        file=sys.stderr,
    )
    return USAGE


def exit_status(error: SkillBridgeError) -> int:
    return USAGE if isinstance(error, USAGE_ERRORS) else SERVER


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `skillbridge` console script; returns the exit status."""
    _flush_every_line()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return exc.code if isinstance(exc.code, int) else USAGE
    try:
        status: int = args.handler(args)
        return status
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except SkillBridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return CLOSED_PIPE


def _flush_every_line() -> None:
    """Line-buffers stdout so every line reaches a pipe or file as soon as it is printed, without
    PYTHONUNBUFFERED (stderr is line-buffered already)."""
    if isinstance(sys.stdout, io.TextIOWrapper) and not sys.stdout.line_buffering:
        sys.stdout.reconfigure(line_buffering=True)


def _discard_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null, so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (tests): nothing will be flushed to it
        pass


if __name__ == "__main__":
    sys.exit(main())
