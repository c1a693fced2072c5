"""The commands of `skillbridge` that use a running scheduler: analyze, show, status, watch, cancel, list, queue.

Progress goes to stderr (a live display on a terminal, plain lines otherwise); results go to stdout, as text or
JSON, so `skillbridge analyze ... --output json | jq` and `skillbridge watch ID | head` work."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from skillbridge_client import cli_render
from skillbridge_client._wire import analysis_job
from skillbridge_client.cli_progress import open_progress
from skillbridge_client.documents import ExtractError, extract_text
from skillbridge_client.errors import Conflict
from skillbridge_client.models import Job, JobRequest, JobState, Update
from skillbridge_client.sync import SchedulerClient

if TYPE_CHECKING:
    Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

Handler = Callable[[argparse.Namespace], int]
ClientCommand = Callable[[SchedulerClient, argparse.Namespace], int]

# Exit statuses, documented in `skillbridge --help`.
OK = 0
JOB_FAILED = 1  # the job failed or was cancelled
USAGE = 2  # bad arguments or input, or a request the server refused as wrong
SERVER = 3  # the server could not be reached, is overloaded, or failed
INTERRUPTED = 130  # Ctrl-C
DOCUMENT_KINDS = (".pdf", ".docx")  # anything else is read as plain text


class InputError(Exception):
    """An input file that cannot be read; the command exits with USAGE."""


def read_document(path: Path) -> str:
    """The text of a resume or job description file (.pdf, .docx, or text), through the gateway's extractor."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    kind = path.suffix.lower() if path.suffix.lower() in DOCUMENT_KINDS else ".txt"
    try:
        text = extract_text(f"{path.stem}{kind}", data)
    except ExtractError as exc:
        raise InputError(f"{path}: {exc}") from None
    if not text.strip():
        raise InputError(f"{path}: no text found in it (a scanned PDF has none: use a text version)")
    return text


def run_job(
    updates: Iterable[Update],
    client: SchedulerClient,
    *,
    output: str = "table",
    cancel_on_interrupt: bool = False,
    live: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Follows a job's updates with a progress display, then prints its report; returns the exit status.
    Ctrl-C leaves the job running and says how to re-attach, or cancels it with `cancel_on_interrupt`."""
    out, err = out or sys.stdout, err or sys.stderr
    job_id = ""
    progress = None
    try:
        for update in updates:
            if not job_id:
                job_id = update.id if isinstance(update, Job) else update.job_id
                print(f"job {job_id}", file=err, flush=True)
                progress = open_progress(err, live=live)
            if progress is not None:
                progress.update(update)
    except KeyboardInterrupt:
        if progress is not None:
            progress.close()
            progress = None
        return interrupted(client, job_id, cancel_on_interrupt, err)
    finally:
        if progress is not None:
            progress.close()
    finished = client.get(job_id)
    print(cli_render.to_json(finished) if output == "json" else cli_render.report(finished), file=out, flush=True)
    return OK if finished.state == JobState.SUCCEEDED else JOB_FAILED


def interrupted(client: SchedulerClient, job_id: str, cancel: bool, err: TextIO) -> int:
    if not job_id:
        print("interrupted before the job was stored (if it was, `skillbridge list` shows it)", file=err, flush=True)
    elif cancel:
        try:
            state = JobState.label(client.cancel(job_id, reason="interrupted on the command line").state)
        except Conflict:
            state = "had already ended"
        print(f"\ninterrupted: job {job_id} {state}", file=err, flush=True)
    else:
        print(
            f"\ninterrupted: job {job_id} goes on without you.\n"
            f"  re-attach:  skillbridge watch {job_id}\n"
            f"  result:     skillbridge show {job_id}\n"
            f"  cancel:     skillbridge cancel {job_id}",
            file=err,
            flush=True,
        )
    return INTERRUPTED


def analyze(client: SchedulerClient, args: argparse.Namespace) -> int:
    request = analysis_request(args)
    if args.no_wait:
        job = client.submit(request)
        print(cli_render.to_json(job) if args.output == "json" else job.id, flush=True)
        return OK
    updates = client.submit_and_watch(request)
    return run_job(updates, client, output=args.output, cancel_on_interrupt=args.cancel_on_interrupt)


def analysis_request(args: argparse.Namespace) -> JobRequest:
    return analysis_job(
        read_document(args.resume),
        read_document(args.job),
        threshold=args.threshold,
        priority=args.priority,
        delay=args.delay,
        depends_on=args.after or (),
        skip_cache=args.skip_cache,
    )


def watch(client: SchedulerClient, args: argparse.Namespace) -> int:
    return run_job(client.watch(args.job_id), client, output=args.output, cancel_on_interrupt=args.cancel_on_interrupt)


def show(client: SchedulerClient, args: argparse.Namespace) -> int:
    job = client.get(args.job_id)
    print(cli_render.to_json(job) if args.output == "json" else cli_render.report(job))
    if not JobState.is_terminal(job.state) and args.output != "json":
        print(f"(not finished yet: `skillbridge watch {job.id}` follows it)", file=sys.stderr)
    return OK


def status(client: SchedulerClient, args: argparse.Namespace) -> int:
    job = client.get(args.job_id)
    print(cli_render.to_json(job) if args.output == "json" else cli_render.status_text(job))
    return OK


def cancel(client: SchedulerClient, args: argparse.Namespace) -> int:
    job = client.cancel(args.job_id, reason=args.reason)
    print(cli_render.to_json(job) if args.output == "json" else f"job {job.id}: {JobState.label(job.state)}")
    return OK


def list_jobs(client: SchedulerClient, args: argparse.Namespace) -> int:
    states = [JobState.members()[s.upper()] for s in args.state or ()]
    jobs: list[Job] = []
    for job in client.iter_jobs(states, page_size=min(args.limit, 100)):
        jobs.append(job)
        if len(jobs) >= args.limit:
            break
    print(cli_render.jobs_json(jobs) if args.output == "json" else cli_render.jobs_table(jobs))
    return OK


def queue(client: SchedulerClient, args: argparse.Namespace) -> int:
    status = client.queue_status()
    print(cli_render.to_json(status) if args.output == "json" else cli_render.queue_text(status))
    return OK


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def with_client(command: ClientCommand) -> Handler:
    """A handler that opens a client from the global options, runs `command` with it and closes it."""

    def handler(args: argparse.Namespace) -> int:
        with SchedulerClient(args.address, api_key=args.api_key, timeout=args.timeout) as client:
            return command(client, args)

    return handler


def output_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--output", "-o", choices=("table", "json"), default="table", help="text for people (default) or JSON"
    )
    options.add_argument("--json", dest="output", action="store_const", const="json", help="same as --output json")
    return options


def follow_parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels the job (by default it goes on)"
    )
    return options


def add_client_commands(commands: Commands) -> None:
    """Adds the client commands to the `skillbridge` parser."""
    output, follow = output_options(), follow_parser()
    analyze_parser = commands.add_parser(
        "analyze", parents=[output, follow], help="analyse a resume against a job description, live"
    )
    analyze_parser.add_argument("--resume", required=True, type=Path, help="resume: .pdf, .docx or text")
    analyze_parser.add_argument("--job", required=True, type=Path, help="job description: .pdf, .docx or text")
    analyze_parser.add_argument("--threshold", type=float, default=0.5, help="skill match strictness in [0, 1]")
    analyze_parser.add_argument("--priority", type=int, default=0, help="0-9, capped by your key's tier")
    analyze_parser.add_argument("--delay", type=float, help="start no sooner than this many seconds from now")
    analyze_parser.add_argument("--after", action="append", metavar="JOB_ID", help="run only once this job succeeded")
    analyze_parser.add_argument("--skip-cache", action="store_true", help="run even if an identical analysis exists")
    analyze_parser.add_argument("--no-wait", action="store_true", help="submit, print the job id and exit")
    analyze_parser.set_defaults(handler=with_client(analyze))

    for name, command, text, parents in (
        ("show", show, "print a job's result (its report)", [output]),
        ("status", status, "print a job's state, queue place and stages", [output]),
        ("watch", watch, "follow a job live, then print its report", [output, follow]),
        ("cancel", cancel, "cancel a queued or running job", [output]),
    ):
        parser = commands.add_parser(name, parents=parents, help=text)
        parser.add_argument("job_id", metavar="JOB_ID")
        if name == "cancel":
            parser.add_argument("--reason", default="cancelled from the command line", help="recorded with the job")
        parser.set_defaults(handler=with_client(command))

    listed = commands.add_parser("list", parents=[output], help="your jobs, newest first")
    listed.add_argument(
        "--state",
        action="append",
        choices=[s.lower() for s in JobState.members() if s != "UNSPECIFIED"],
        help="only jobs in this state (repeatable)",
    )
    listed.add_argument("--limit", type=positive_int, default=20, help="at most this many jobs (default 20)")
    listed.set_defaults(handler=with_client(list_jobs))

    queued = commands.add_parser("queue", parents=[output], help="queue depth, stage services and stage timings")
    queued.set_defaults(handler=with_client(queue))
