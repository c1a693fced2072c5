"""The health service of a server built by the shared factory, over real gRPC: Check and Watch answer for the
server and each service name (Watch's handler writes with context.write(), which the interceptors must await
rather than iterate), and graceful shutdown turns them NOT_SERVING."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.server import create_server
from services.common.settings import Settings

NAME = "skillbridge.example.v1.ExampleService"


async def test_check_and_watch_report_serving_then_not_serving_on_shutdown(settings: Settings) -> None:
    running = await create_server(settings, register=lambda server: None, service_names=[NAME], port=0)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in ("", NAME):
                answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=NAME), timeout=10)
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            await running.health.enter_graceful_shutdown()
            second = await watch.read()
            assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
    finally:
        await running.stop(0)
