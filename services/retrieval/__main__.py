"""`python -m services.retrieval`: the retrieval service on settings.retrieval_port."""

from __future__ import annotations

from services.common.logs import configure_logging
from services.common.server import run
from services.retrieval.server import serve
from services.retrieval.settings import RetrievalSettings

if __name__ == "__main__":
    settings = RetrievalSettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="retrieval")
    run(lambda: serve(settings))
