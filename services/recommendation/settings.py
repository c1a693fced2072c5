"""The recommendation service process's settings: Cohere when an API key is set, the local ranker otherwise."""

from __future__ import annotations

from services.common.process_settings import CommonSettings


class RecommendationSettings(CommonSettings):
    """Configuration of the recommendation service."""

    recommendation_port: int = 50055
    recommendation_metrics_port: int = 9155
    cohere_api_key: str = ""
    cohere_base_url: str = ""
    cohere_chat_model: str = "command-a-03-2025"
    cohere_rerank_model: str = "rerank-v3.5"
    cohere_timeout_seconds: float = 5.0
