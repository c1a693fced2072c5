"""`python -m services.similarity`: the similarity service on settings.similarity_port."""

from __future__ import annotations

from services.common.logs import configure_logging
from services.common.server import run
from services.similarity.server import serve
from services.similarity.settings import SimilaritySettings

if __name__ == "__main__":
    settings = SimilaritySettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="similarity")
    run(lambda: serve(settings))
