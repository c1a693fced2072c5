"""A scheduler wired to stage doubles, started in-process on a free port: shared by the SDK, gateway, CLI and
browser suites (the doubles stand in for the ML services, which these suites do not test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.common.settings import Settings
from services.scheduler.server import SchedulerServer, start
from tests.scheduler.stage_doubles import StageDoubles, start_stage_doubles

RESUME = "Data engineer with Python, SQL and Docker. Built pipelines at Acme."
JOB_DESCRIPTION = "We need Python, SQL, Kubernetes and Kafka for our streaming platform."


@dataclass
class Stack:
    """A running scheduler and the doubles behind it."""

    scheduler: SchedulerServer
    doubles: StageDoubles
    settings: Settings

    @property
    def address(self) -> str:
        return self.scheduler.address


@asynccontextmanager
async def running_stack(
    settings: Settings, doubles: StageDoubles | None = None, **overrides: object
) -> AsyncIterator[Stack]:
    """Starts stage doubles and a scheduler (port 0) with `settings` plus `overrides`; stops both after. The
    result cache is off unless asked for: the doubles' answers change from test to test, which no data or model
    version records, so a cached result of another test would stand in for the one under test."""
    doubles = doubles or StageDoubles()
    server, address = await start_stage_doubles(doubles)
    overrides.setdefault("result_cache", False)
    wired = settings.replace(
        ner_address=address,
        similarity_address=address,
        retrieval_address=address,
        recommendation_address=address,
        **overrides,  # type: ignore[arg-type]
    )
    stack = Stack(scheduler=await start(wired, port=0), doubles=doubles, settings=wired)
    try:
        yield stack
    finally:
        # A test may have restarted the scheduler: stop the one running now.
        await stack.scheduler.stop(0.2)
        await server.stop(0)
