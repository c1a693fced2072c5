"""The server's commands of `skillbridge`: `up`, `serve NAME` and `catalog import FILE`.

The server distribution registers `add_up`, `add_serve` and `add_catalog` in the `skillbridge.commands`
entry-point group; the client's CLI calls each with its subparsers. Nothing heavy is imported until a command runs,
so `skillbridge --help` and the client commands stay fast."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from services.cli.serve import EXIT_CONFIG, SERVICES, run_service

if TYPE_CHECKING:
    from skillbridge_client.cli_commands import Commands

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"


def add_up(commands: Commands) -> None:
    up_parser = commands.add_parser("up", help="run the whole stack locally, supervised")
    up_parser.add_argument("--demo", action="store_true", help="then analyse the example resume and job description")
    up_parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds each service may take to start (default 120)"
    )
    up_parser.set_defaults(handler=up)


def add_serve(commands: Commands) -> None:
    serve_parser = commands.add_parser("serve", help="run one service in the foreground")
    serve_parser.add_argument("name", choices=SERVICES)
    serve_parser.set_defaults(handler=lambda args: run_service(args.name))


def add_catalog(commands: Commands) -> None:
    catalog = commands.add_parser("catalog", help="course catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    imported = catalog_commands.add_parser("import", help="load your own catalog (CSV or JSONL)")
    imported.add_argument("file", type=Path)
    imported.set_defaults(handler=lambda args: import_catalog(args.file))


def import_catalog(path: Path) -> int:
    from services.common.catalog import CatalogError
    from services.common.settings import Settings
    from services.retrieval.catalog_import import import_catalog as do_import

    try:
        count = do_import(Settings.from_env(), path)
    except (CatalogError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {count} courses from {path}; the retrieval service uses them after its next (re)start")
    return 0


def up(args: argparse.Namespace) -> int:
    """Runs the stack until Ctrl-C or SIGTERM; with --demo, analyses the examples once it is up."""
    from services.cli.supervisor import ConfigurationStop, Supervisor, stack_children, up_environment
    from services.common.exposure import InsecureBind, check_exposure, is_loopback
    from services.common.settings import Settings

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"error: {exc}: fix the setting and run `skillbridge up` again", file=sys.stderr)
        return EXIT_CONFIG
    # On a reachable address the stack needs keys (or the explicit insecure setting): checked here, once, rather
    # than by each child refusing to start.
    try:
        check_exposure(settings, settings.host, settings.gateway_port, "skillbridge up")
    except InsecureBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
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
    page = f"http://{settings.host}:{settings.gateway_port}/"
    with tempfile.TemporaryDirectory(prefix="skillbridge-up-") as reasons:
        children = stack_children(settings.host, ports, Path(reasons))
        supervisor = Supervisor(
            children, up_environment(dev_key, anonymous=anonymous), start_timeout=args.start_timeout
        )
        supervisor.install_signal_handlers()
        failure: str | None = None
        try:
            supervisor.start()
            if supervisor.stopping.is_set():
                return 130
            print(f"SkillBridge is up. Web page: {page}  (API docs: {page}docs)")
            anonymous_note = "requests without a key act as the development owner" if anonymous else "keys required"
            print(f"Development API key: {dev_key}  ({anonymous_note})")
            if args.demo:  # it ends with how to stop; printing that here too would interleave with its lines
                demo = threading.Thread(target=run_demo, args=(settings.scheduler_address, dev_key, page), daemon=True)
                demo.start()
            else:
                print("Press Ctrl-C to stop.")
            supervisor.run_until_stopped()
            failure = supervisor.fatal
        except ConfigurationStop as exc:
            failure = str(exc)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            print("stopping ...", file=sys.stderr)
            supervisor.stop()
    if failure is not None:
        print(f"error: {failure} (a configuration error: stopped, not restarting)", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def run_demo(address: str, dev_key: str, page: str) -> None:
    """Analyses the bundled example resume and job description: progress lines, then the report."""
    from skillbridge_client import SchedulerClient, SkillBridgeError, analysis_job
    from skillbridge_client.cli_commands import InputError, read_document, run_job

    print("\nAnalysing data/examples/resume.txt against data/examples/job_description.txt ...")
    try:
        request = analysis_job(read_document(EXAMPLES / "resume.txt"), read_document(EXAMPLES / "job_description.txt"))
        with SchedulerClient(address, api_key=dev_key, timeout=30.0) as client:
            # Plain lines: the services' own logs share this terminal, which a live display would garble.
            run_job(client.submit_and_watch(request), client, live=False)
    except (SkillBridgeError, InputError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
    print(f"\nOpen {page} to try your own resume. Press Ctrl-C to stop.")
