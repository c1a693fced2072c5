"""Fixtures for the scheduler's service tests: stage doubles and a running scheduler on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc

from services.common.settings import Settings
from services.scheduler.server import SchedulerServer, start
from tests.scheduler.stage_doubles import StageDoubles, start_stage_doubles


@pytest.fixture
async def doubles() -> AsyncIterator[tuple[StageDoubles, str]]:
    d = StageDoubles()
    server, address = await start_stage_doubles(d)
    yield d, address
    await server.stop(0)


@pytest.fixture
def stage_settings(settings: Settings, doubles: tuple[StageDoubles, str]) -> Settings:
    address = doubles[1]
    return settings.replace(
        ner_address=address,
        similarity_address=address,
        retrieval_address=address,
        recommendation_address=address,
    )


@pytest.fixture
async def scheduler(stage_settings: Settings) -> AsyncIterator[SchedulerServer]:
    server = await start(stage_settings, port=0)
    yield server
    await server.stop(0.5)


@pytest.fixture
async def stub(scheduler: SchedulerServer) -> AsyncIterator[scheduler_service_pb2_grpc.JobSchedulerServiceStub]:
    async with grpc.aio.insecure_channel(scheduler.address) as channel:
        yield scheduler_service_pb2_grpc.JobSchedulerServiceStub(channel)
