"""RQ 3.0: `Queue.enqueue()`, a SimpleWorker (no fork per job), `Job.latest_result(timeout=...)`."""

from __future__ import annotations

import sys
from typing import Any

from redis import Redis
from rq import Queue

QUEUE = "bench"


def noop(payload: str) -> None:
    return None


class Adapter:
    label = "RQ (`-w SimpleWorker`, no fork)"

    def __init__(self, url: str, variant: str) -> None:
        self.url, self.variant = url, variant
        self.queue: Queue | None = None

    def open(self) -> None:
        self.queue = Queue(QUEUE, connection=Redis.from_url(self.url))

    def close(self) -> None:
        if self.queue is not None:
            self.queue.connection.close()

    def enqueue(self, payload: str) -> str:
        assert self.queue is not None
        return str(self.queue.enqueue(noop, payload).id)

    def done_many(self, client: Any, keys: list[str]) -> list[bool]:
        pipe = client.pipeline(transaction=False)
        for job_id in keys:
            pipe.hget(f"rq:job:{job_id}", "status")
        return [status == b"finished" for status in pipe.execute()]

    def roundtrip(self, payload: str) -> None:
        assert self.queue is not None
        job = self.queue.enqueue(noop, payload)
        if job.latest_result(timeout=10) is None:
            raise TimeoutError("no RQ result within 10 s")

    def worker_argv(self) -> list[str]:
        rq = [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker", "--url", self.url]
        return [*rq, "--quiet", QUEUE]
