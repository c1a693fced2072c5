"""Operations routes: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.metrics import GatewayMetrics


class Health(BaseModel):
    """Liveness of the gateway process."""

    status: str


def build_ops_router(metrics: GatewayMetrics) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> Health:
        """Liveness of the gateway process."""
        return Health(status="ok")

    @router.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return metrics.render()

    return router
