"""The `skillbridge` command: run the stack (`up`, `serve`) and use it (`analyze`, `status`, `watch`, `cancel`,
`queue`, `catalog import`)."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from skillbridge.scheduler.v1 import job_pb2

from skillbridge_client import cli_render
from skillbridge_client.cli_up import SERVICES, Supervisor, serve_one, stack_children, up_environment
from skillbridge_client.errors import SkillBridgeError
from skillbridge_client.sync import SchedulerClient

log = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parents[3] / "data" / "examples"


def build_parser() -> argparse.ArgumentParser:
    from services.common.settings import Settings

    defaults = Settings.from_env()
    parser = argparse.ArgumentParser(prog="skillbridge", description="Skill-gap analysis with course recommendations.")
    parser.add_argument("--address", default=defaults.scheduler_address, help="scheduler host:port")
    parser.add_argument(
        "--api-key", default=os.environ.get("SKILLBRIDGE_API_KEY"), help="API key (env SKILLBRIDGE_API_KEY)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, seconds")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole stack locally, supervised")
    up.add_argument("--demo", action="store_true", help="then analyse the example resume and job description")
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("name", choices=SERVICES)

    analyze = commands.add_parser("analyze", help="analyse a resume against a job description, live")
    analyze.add_argument("--resume", required=True, type=Path, help="resume text file")
    analyze.add_argument("--job", required=True, type=Path, help="job description text file")
    analyze.add_argument("--threshold", type=float, default=0.5, help="skill match threshold in [0, 1]")
    analyze.add_argument("--priority", type=int, default=0, help="0-9, capped by your key's tier")
    analyze.add_argument("--delay", type=float, help="start no sooner than this many seconds from now")
    analyze.add_argument("--after", action="append", metavar="JOB_ID", help="run only once this job succeeded")
    analyze.add_argument("--json", action="store_true", help="print the finished job as JSON")

    for name, text in (("status", "show a job"), ("watch", "follow a job live"), ("cancel", "cancel a job")):
        command = commands.add_parser(name, help=text)
        command.add_argument("job_id")
        if name == "status":
            command.add_argument("--json", action="store_true")
    commands.add_parser("queue", help="queue depth, counts and stage timings")
    catalog = commands.add_parser("catalog", help="course catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    imported = catalog_commands.add_parser("import", help="load your own catalog (CSV or JSONL)")
    imported.add_argument("file", type=Path)
    return parser


def follow(client: SchedulerClient, job_id: str) -> job_pb2.Job:
    """Prints a progress line per update until the job ends; returns the finished job."""
    printer = cli_render.ProgressPrinter()
    for update in client.watch(job_id):
        printer.update(update)
    return client.get(job_id)


def analyze(client: SchedulerClient, args: argparse.Namespace) -> int:
    job = client.submit_analysis(
        args.resume.read_text(encoding="utf-8"),
        args.job.read_text(encoding="utf-8"),
        threshold=args.threshold,
        priority=args.priority,
        delay=args.delay,
        depends_on=args.after or (),
    )
    print(f"submitted job {job.id}", file=sys.stderr)
    finished = follow(client, job.id)
    print(cli_render.job_json(finished) if args.json else cli_render.report(finished))
    return 0 if finished.state == job_pb2.JOB_STATE_SUCCEEDED else 1


def run_client_command(args: argparse.Namespace) -> int:
    with SchedulerClient(args.address, api_key=args.api_key, timeout=args.timeout) as client:
        if args.command == "analyze":
            return analyze(client, args)
        if args.command == "status":
            job = client.get(args.job_id)
            print(cli_render.job_json(job) if args.json else cli_render.status_text(job))
        elif args.command == "watch":
            print(cli_render.report(follow(client, args.job_id)))
        elif args.command == "cancel":
            job = client.cancel(args.job_id, reason="cancelled from the command line")
            print(f"job {job.id}: {cli_render.label(job_pb2.JobState.Name(job.state))}")
        elif args.command == "queue":
            print(cli_render.queue_text(client.queue_status()))
    return 0


def import_catalog(path: Path) -> int:
    from services.common.catalog import CatalogError
    from services.common.settings import Settings
    from services.retrieval.catalog_import import import_catalog as do_import

    try:
        count = do_import(Settings.from_env(), path)
    except (CatalogError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"imported {count} courses from {path}; the retrieval service uses them after its next (re)start")
    return 0


def up(args: argparse.Namespace) -> int:
    from services.common.exposure import InsecureBind, check_exposure, is_loopback
    from services.common.settings import Settings

    settings = Settings.from_env()
    # On a reachable address the stack needs keys (or the explicit insecure setting); checked here, once,
    # rather than by each child failing to start and being restarted.
    try:
        check_exposure(settings, settings.host, settings.gateway_port, "skillbridge up")
    except InsecureBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    anonymous = is_loopback(settings.host) or settings.insecure_no_auth
    dev_key = os.environ.get("SKILLBRIDGE_DEV_KEY") or f"dev-{secrets.token_urlsafe(12)}"
    ports = {
        "scheduler": settings.scheduler_port,
        "ner": settings.ner_port,
        "similarity": settings.similarity_port,
        "retrieval": settings.retrieval_port,
        "recommendation": settings.recommendation_port,
        "gateway": settings.gateway_port,
    }
    supervisor = Supervisor(stack_children(settings.host, ports), up_environment(dev_key, anonymous=anonymous))
    supervisor.install_signal_handlers()
    page = f"http://{settings.host}:{settings.gateway_port}/"
    try:
        supervisor.start()
        if supervisor.stopping.is_set():
            return 130
        print(f"SkillBridge is up. Web page: {page}  (API docs: {page}docs)")
        anonymous_note = "requests without a key act as the development owner" if anonymous else "keys required"
        print(f"Development API key: {dev_key}  ({anonymous_note})")
        if args.demo:
            demo = threading.Thread(target=run_demo, args=(settings.scheduler_address, dev_key, page), daemon=True)
            demo.start()
        print("Press Ctrl-C to stop.")
        supervisor.run_until_stopped()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", file=sys.stderr)
        supervisor.stop()
    return 0


def run_demo(address: str, dev_key: str, page: str) -> None:
    """Analyses the bundled example resume and job description, live in the terminal."""
    args = argparse.Namespace(
        resume=EXAMPLES / "resume.txt", job=EXAMPLES / "job_description.txt", threshold=0.5, priority=0, json=False
    )
    try:
        with SchedulerClient(address, api_key=dev_key, timeout=30.0) as client:
            analyze(client, args)
    except (SkillBridgeError, OSError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
    print(f"\nOpen {page} to try your own resume. Press Ctrl-C to stop.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `skillbridge` console script; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve_one(args.name)
            return 0
        if args.command == "up":
            return up(args)
        if args.command == "catalog":
            return import_catalog(args.file)
        return run_client_command(args)
    except SkillBridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
