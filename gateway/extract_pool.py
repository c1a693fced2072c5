"""A few extraction worker processes (gateway.extract_worker), so that reading an uploaded file can never take
the gateway's memory or time: each worker has a capped address space, each upload a deadline after which its
worker is killed, and a worker that dies is replaced on the next upload.

At most `workers` uploads are read at once; the others wait their turn (up to the deadline), then get
ExtractorBusy (HTTP 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from dataclasses import asdict

from skillbridge_client.documents import ExtractError, ExtractLimits

log = logging.getLogger(__name__)

# Time a fresh worker may take to import its parsers (seconds): a slow, loaded machine needs a few.
START_TIMEOUT_SECONDS = 60.0
# The most text one answer may carry (a bounded upload cannot make more; a larger figure means a broken stream).
MAX_ANSWER_BYTES = 256 * 1024 * 1024


class ExtractorBusy(Exception):
    """No worker could take the file: all stayed busy for the whole deadline, or none could start."""


class _WorkerGone(Exception):
    """The worker exited or broke the protocol mid-answer."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, settings_json: str) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.extract_worker",
            settings_json,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        try:
            header = await asyncio.wait_for(worker._read_header(), START_TIMEOUT_SECONDS)
        except BaseException:
            await worker.kill()
            raise
        if not header.get("ready"):
            await worker.kill()
            raise _WorkerGone("the worker did not start")
        return worker

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def _read_header(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise _WorkerGone("the worker exited")
        header: dict[str, object] = json.loads(line)
        return header

    async def extract(self, filename: str, data: bytes) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps({"filename": filename, "size": len(data)}).encode() + b"\n" + data)
            await self.process.stdin.drain()
            header = await self._read_header()
        except (ConnectionError, ValueError) as exc:
            raise _WorkerGone(str(exc)) from None
        status = header.get("status")
        if header.get("exiting"):
            await self.process.wait()  # it ran out of memory and leaves: never handed another file
        if status != 200:
            raise ExtractError(str(header.get("detail", "this file could not be read")), int(str(status or 400)))
        size = int(str(header.get("size", -1)))
        if not 0 <= size <= MAX_ANSWER_BYTES:
            raise _WorkerGone(f"answer of {size} bytes")
        try:
            body = await self.process.stdout.readexactly(size)
        except asyncio.IncompleteReadError:
            raise _WorkerGone("the worker exited mid-answer") from None
        return body.decode("utf-8", "replace")

    async def kill(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()

    async def close(self) -> None:
        """Ends the worker by closing its input (it exits at end of input); kills it if it lingers."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5.0)
        except TimeoutError:
            await self.kill()


class ExtractorPool:
    """Reads uploads in worker processes: at most `workers` at once, each within `timeout` seconds and
    `memory_mb` of memory above the worker's start-up footprint."""

    def __init__(self, *, workers: int, timeout: float, memory_mb: int, limits: ExtractLimits | None = None) -> None:
        self.timeout = timeout
        self._settings_json = json.dumps({**asdict(limits or ExtractLimits()), "memory_mb": memory_mb})
        self._workers = max(workers, 1)
        self._slots: asyncio.Semaphore | None = None  # made on first use, inside the serving event loop
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()

    async def extract(self, filename: str, data: bytes) -> str:
        """The file's text. Raises ExtractError (a 4xx for the caller) or ExtractorBusy."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._workers)
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except TimeoutError:
            raise ExtractorBusy(f"every file reader stayed busy for {self.timeout:g} s") from None
        try:
            return await self._extract_in_worker(filename, data)
        finally:
            self._slots.release()

    async def _worker(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
            await worker.kill()  # reaps it
        try:
            return await _Worker.start(self._settings_json)
        except (_WorkerGone, TimeoutError, OSError) as exc:
            log.error("an extraction worker could not start: %s", exc)
            raise ExtractorBusy("no file reader could be started") from None

    async def _extract_in_worker(self, filename: str, data: bytes) -> str:
        worker = await self._worker()
        self._busy.add(worker)
        keep = False
        try:
            text = await asyncio.wait_for(worker.extract(filename, data), self.timeout)
            keep = True
            return text
        except ExtractError:
            keep = worker.alive
            raise
        except TimeoutError:
            log.warning("reading %s took longer than %g s: its worker is stopped", filename, self.timeout)
            raise ExtractError(f"this file could not be read within {self.timeout:g} s") from None
        except _WorkerGone as exc:
            log.warning("the worker reading %s stopped: %s", filename, exc)
            raise ExtractError("this file could not be read: reading it took too much memory") from None
        finally:
            self._busy.discard(worker)
            if keep and worker.alive:
                self._idle.append(worker)
            else:
                await worker.kill()  # timed out, died, or the caller went away mid-answer: never reused

    async def close(self) -> None:
        """Stops every worker."""
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.close()
        for worker in list(self._busy):
            await worker.kill()
