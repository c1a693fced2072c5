"""The RPC figures every stage service records (services.common interceptors), checked on the recommendation
service: handled RPCs by method and status code, latencies, and the metrics port that serves them."""

from __future__ import annotations

import asyncio
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from skillbridge.common.v1 import course_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2 as pb
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.metrics import serve_metrics
from services.common.observability import Observability
from services.common.settings import Settings
from services.recommendation.server import start
from tests.support import free_port

SERVICE = "skillbridge.recommendation.v1.RecommendationService"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


async def test_rpcs_are_counted_by_method_and_code_on_the_metrics_port() -> None:
    observability = Observability()
    observability.metrics_server = serve_metrics(observability.registry, free_port(), "127.0.0.1")
    running = await start(Settings.from_env({}), port=0, observability=observability)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = pb_grpc.RecommendationServiceStub(channel)
            course = course_pb2.Course(id="k1", title="Kafka", skills=["Kafka"], level="beginner")
            for _ in range(3):
                await stub.ScoreCourses(
                    pb.ScoreCoursesRequest(
                        job_skills=["Kafka"], missing_skills=["Kafka"], current_score=0.0, courses=[course]
                    ),
                    timeout=10,
                )
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.ScoreCourses(pb.ScoreCoursesRequest(job_skills=["A"], current_score=2.0), timeout=10)
        assert observability.metrics_server is not None
        url = f"http://127.0.0.1:{observability.metrics_server.port}/metrics"
        text = await asyncio.to_thread(get, url)
    finally:
        await running.stop(0)
        observability.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = (("grpc_method", "ScoreCourses"), ("grpc_service", SERVICE))
    assert samples[("grpc_server_handled_total", (("grpc_code", "OK"), *labels))] == 3
    assert samples[("grpc_server_handled_total", (("grpc_code", "INVALID_ARGUMENT"), *labels))] == 1
    assert samples[("grpc_server_handling_seconds_count", labels)] == 4
