"""Dramatiq 2.2 with the Redis broker and Redis results: `send()`, `Message.get_result(block=True)`."""

from __future__ import annotations

import os
import sys
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
backend = RedisBackend(url=URL)
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(store_results=True)
def noop(payload: str) -> None:
    return None


class Adapter:
    label = "Dramatiq (`-p 1 -t 8`, its default threads)"

    def __init__(self, url: str, variant: str) -> None:
        self.variant = variant

    def open(self) -> None:
        pass

    def close(self) -> None:
        broker.client.close()

    def enqueue(self, payload: str) -> str:
        return backend.build_message_key(noop.send(payload))

    def done_many(self, client: Any, keys: list[str]) -> list[bool]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return [bool(n) for n in pipe.execute()]

    def roundtrip(self, payload: str) -> None:
        noop.send(payload).get_result(block=True, timeout=10_000)

    def worker_argv(self) -> list[str]:
        return [sys.executable, "-m", "dramatiq", "lib_dramatiq", "-p", "1", "-t", "8"]
