"""The retrieval service process's settings: the catalog (in CommonSettings), and Pinecone when a key is set."""

from __future__ import annotations

from services.similarity.settings import EmbeddingSettings


class RetrievalSettings(EmbeddingSettings):
    """Configuration of the retrieval service."""

    retrieval_port: int = 50054
    retrieval_metrics_port: int = 9154
    pinecone_api_key: str = ""
    pinecone_host: str = ""
    pinecone_namespace: str = "courses"
    # The deadline of a call to Pinecone.
    stage_timeout_seconds: float = 30.0
