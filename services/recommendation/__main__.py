"""`python -m services.recommendation`: the recommendation service on settings.recommendation_port."""

from __future__ import annotations

from services.common.logs import configure_logging
from services.common.server import run
from services.recommendation.server import serve
from services.recommendation.settings import RecommendationSettings

if __name__ == "__main__":
    settings = RecommendationSettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="recommendation")
    run(lambda: serve(settings))
