"""`python -m services.ner`: runs the NER service with settings from SKILLBRIDGE_* variables."""

from __future__ import annotations

from services.common.logs import configure_logging
from services.common.server import run
from services.ner.server import serve
from services.ner.settings import NerSettings


def main() -> None:
    """Entry point."""
    settings = NerSettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="ner")
    run(lambda: serve(settings))


if __name__ == "__main__":
    main()
