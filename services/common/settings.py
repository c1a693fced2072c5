"""The whole stack's settings: every process's own settings composed into one object, for what starts several
processes from one configuration (`skillbridge up`, the one-process stage stack, tests). A single process reads
only its own class (services/<svc>/settings.py, gateway/settings.py); see services/common/process_settings.py.
"""

from __future__ import annotations

from gateway.settings import GatewaySettings
from services.common.process_settings import REPO_ROOT, CommonSettings
from services.ner.settings import NerSettings
from services.recommendation.settings import RecommendationSettings
from services.retrieval.settings import RetrievalSettings
from services.scheduler.settings import SchedulerSettings
from services.similarity.settings import SimilaritySettings

__all__ = ["REPO_ROOT", "CommonSettings", "Settings"]


class Settings(
    SchedulerSettings, NerSettings, SimilaritySettings, RetrievalSettings, RecommendationSettings, GatewaySettings
):
    """Every process's settings in one object; each service takes it as its own (it is a subclass of each)."""

    # The scheduler's address as clients (the gateway, the CLI) reach it; the gateway's own field.
    scheduler_address: str = "127.0.0.1:50051"
