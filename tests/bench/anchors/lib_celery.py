"""Celery 5.7 on Redis (broker and result backend): a no-op task, `delay()` and `AsyncResult.get()`."""

from __future__ import annotations

import os
import sys
from typing import Any

from celery import Celery

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
app = Celery("lib_celery", broker=URL, backend=URL)
app.conf.update(worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)


@app.task(name="noop")
def noop(payload: str) -> None:
    return None


class Adapter:
    label = "Celery (`--pool=solo -c 1`)"

    def __init__(self, url: str, variant: str) -> None:
        self.variant = variant

    def open(self) -> None:
        pass

    def close(self) -> None:
        app.close()

    def enqueue(self, payload: str) -> str:
        return f"celery-task-meta-{noop.delay(payload).id}"

    def done_many(self, client: Any, keys: list[str]) -> list[bool]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return [bool(n) for n in pipe.execute()]

    def roundtrip(self, payload: str) -> None:
        noop.delay(payload).get(timeout=10)

    def worker_argv(self) -> list[str]:
        celery = [sys.executable, "-m", "celery", "-A", "lib_celery", "worker", "--pool=solo", "-c", "1"]
        return [*celery, "--loglevel=WARNING"]
