"""Raw ceilings of the parts SkillBridge is built from, measured in the same run as the queues.

- gRPC (grpc.aio on uvloop, like our servers): unary echo sequential and with 64 calls in flight, and a
  server-streaming call of 16-byte messages. The echo server is a child process; payloads are raw bytes (no proto).
- gRPC fan-out burst: the status fan-out benchmark's worst case with nothing behind it. 1,000 server streams from
  one client process over 8 channels (as tests/bench/fanout.py opens WatchJob streams); once all are open, three
  events happen one after the other (released, started, succeeded; each stamped when it happens, as the scheduler
  stamps a job event when it writes it) and every stream sends each as a 16-byte message. Latency = receipt time -
  the event's stamp, as the fan-out benchmark measures it; the message also carries the time that stream sent it,
  for the transport alone (receipt - send). No server can deliver the same burst through grpc.aio faster than this
  one, which does nothing else.
- Redis LPUSH / RPOP: `redis-benchmark` when it is installed (50 clients, and 1 client), else a redis-py loop.
- SQLite in WAL mode, one row per commit, synchronous=NORMAL and FULL.

    python -m tests.bench.ceilings [--size 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from tests.bench.common import ANCHOR_DB, base_env, free_port, median, percentile, processes, redis_url, wait_port

SERVICE = "skillbridge.bench.Echo"
MESSAGE = b"0123456789abcdef"
TIME_CAP_SECONDS = 20.0
# The fan-out burst: as many streams and messages per stream as the no-op fan-out benchmark (release, start, end).
FANOUT_STREAMS = 1000
FANOUT_CHANNELS = 8
FANOUT_MESSAGES = 3
OPENED = b"open"


class StampedEvent(asyncio.Event):
    stamp = 0.0


class Burst:
    """Server side of the fan-out burst: streams wait until `Go` has seen the number it asks for open."""

    def __init__(self) -> None:
        self.opened = 0
        self.changed = asyncio.Condition()
        self.events = [StampedEvent() for _ in range(FANOUT_MESSAGES)]

    async def fan(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> AsyncIterator[bytes]:
        events = self.events
        yield OPENED
        async with self.changed:
            self.opened += 1
            self.changed.notify_all()
        for event in events:
            await event.wait()
            yield struct.pack("dd", event.stamp, time.time())

    async def start(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        wanted = int(request.decode())
        async with self.changed:
            await self.changed.wait_for(lambda: self.opened >= wanted)
            self.opened = 0
        # The next burst's streams wait on fresh events.
        events, self.events = self.events, [StampedEvent() for _ in range(FANOUT_MESSAGES)]
        for event in events:
            event.stamp = time.time()
            event.set()
            await asyncio.sleep(0)  # the next event happens after the loop has turned once (a scheduler's commit)
        return b"ok"


async def serve_echo(port: int) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    async def stream(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> AsyncIterator[bytes]:
        for _ in range(int(request.decode())):
            yield MESSAGE

    burst = Burst()
    server = grpc.aio.server()
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Fan": grpc.unary_stream_rpc_method_handler(burst.fan),
        "Go": grpc.unary_unary_rpc_method_handler(burst.start),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def measure_grpc(address: str, size: int) -> dict[str, Any]:
    async with grpc.aio.insecure_channel(address) as channel:
        echo = channel.unary_unary(f"/{SERVICE}/Echo")
        stream = channel.unary_stream(f"/{SERVICE}/Stream")
        for _ in range(50):  # warm-up
            await echo(MESSAGE)
        latencies: list[float] = []
        cap = time.monotonic() + TIME_CAP_SECONDS
        start = time.perf_counter()
        for _ in range(size):
            t = time.perf_counter()
            await echo(MESSAGE)
            latencies.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > cap:
                break
        sequential = len(latencies) / (time.perf_counter() - start)

        in_flight, total = 64, size * 2
        left = iter(range(total))

        async def lane() -> int:
            done = 0
            for _ in left:
                await echo(MESSAGE)
                done += 1
            return done

        start = time.perf_counter()
        done = sum(await asyncio.gather(*(lane() for _ in range(in_flight))))
        concurrent = done / (time.perf_counter() - start)

        messages = size * 5
        start = time.perf_counter()
        received = 0
        async for _ in stream(str(messages).encode()):
            received += 1
        streaming = received / (time.perf_counter() - start)
    return {
        "grpc_unary_sequential_calls_per_s": sequential,
        "grpc_unary_p50_ms": median(latencies),
        "grpc_unary_p99_ms": percentile(latencies, 0.99),
        "grpc_unary_64_in_flight_calls_per_s": concurrent,
        "grpc_server_streaming_msgs_per_s": streaming,
        "samples_grpc_unary_ms": latencies,
    }


async def measure_fanout(
    address: str, streams: int = FANOUT_STREAMS, channels: int = FANOUT_CHANNELS
) -> dict[str, Any]:
    """One burst to `streams` streams; the client runs on the loop the fan-out benchmark's client runs on."""
    chans = [grpc.aio.insecure_channel(address) for _ in range(channels)]
    latencies: list[float] = []  # from the event's stamp
    transport: list[float] = []  # from the stream's send

    async def follow(channel: grpc.aio.Channel) -> None:
        async for message in channel.unary_stream(f"/{SERVICE}/Fan")(b""):
            received = time.time()
            if message != OPENED:
                happened, sent = struct.unpack("dd", message)
                latencies.append((received - happened) * 1000)
                transport.append((received - sent) * 1000)

    try:
        followers = [asyncio.ensure_future(follow(chans[i % channels])) for i in range(streams)]
        await chans[0].unary_unary(f"/{SERVICE}/Go")(str(streams).encode(), timeout=TIME_CAP_SECONDS)
        await asyncio.wait_for(asyncio.gather(*followers), TIME_CAP_SECONDS)
    finally:
        await asyncio.gather(*(c.close() for c in chans))
    return {
        "grpc_fanout_burst_streams": streams,
        "grpc_fanout_burst_messages": len(latencies),
        "grpc_fanout_burst_p50_ms": median(latencies),
        "grpc_fanout_burst_p99_ms": percentile(latencies, 0.99),
        "grpc_fanout_burst_sent_p50_ms": median(transport),
        "grpc_fanout_burst_sent_p99_ms": percentile(transport, 0.99),
    }


def grpc_ceilings(size: int) -> dict[str, Any]:
    port = free_port()
    with processes([([sys.executable, "-m", "tests.bench.ceilings", "--echo-server", str(port)], base_env())]) as ps:
        wait_port(port, ps[0], within=30)
        import uvloop

        figures = uvloop.run(measure_grpc(f"127.0.0.1:{port}", size))
        # tests/bench/fanout.py follows its streams on asyncio's own loop: so does the burst it is compared with.
        return {**figures, **asyncio.run(measure_fanout(f"127.0.0.1:{port}"))}


def redis_benchmark(requests: int) -> dict[str, Any]:
    """redis-benchmark LPUSH/RPOP in our own database, 50 clients and 1 client."""
    parts = urlsplit(redis_url(ANCHOR_DB))
    base = ["redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    base += ["--dbnum", str(ANCHOR_DB), "-n", str(requests), "-t", "lpush,rpop", "--csv"]
    figures: dict[str, Any] = {"redis_tool": "redis-benchmark"}
    for clients in (50, 1):
        out = subprocess.run([*base, "-c", str(clients)], capture_output=True, text=True, timeout=120, check=True)
        for row in csv.reader(io.StringIO(out.stdout)):
            if row and row[0] in ("LPUSH", "RPOP"):
                figures[f"redis_{row[0].lower()}_{clients}_clients_per_s"] = float(row[1])
    return figures


def redis_py_loop(requests: int) -> dict[str, Any]:
    """Fallback without redis-benchmark: one redis-py client, one command per round trip."""
    import redis

    client = redis.Redis.from_url(redis_url(ANCHOR_DB))
    figures: dict[str, Any] = {"redis_tool": "redis-py loop (redis-benchmark not installed)"}
    try:
        for name, command in (
            ("lpush", lambda: client.lpush("bench:list", "x")),
            ("rpop", lambda: client.rpop("bench:list")),
        ):
            start = time.perf_counter()
            for _ in range(requests):
                command()
            figures[f"redis_{name}_1_clients_per_s"] = requests / (time.perf_counter() - start)
    finally:
        client.delete("bench:list")
        client.close()
    return figures


def redis_ceilings(size: int) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(redis_url(ANCHOR_DB))
    if client.dbsize():
        raise RuntimeError(f"Redis database {ANCHOR_DB} is not empty: someone else uses it")
    try:
        requests = max(1000, min(size * 10, 100_000))
        return redis_benchmark(requests) if shutil.which("redis-benchmark") else redis_py_loop(requests // 5)
    finally:
        client.flushdb()  # our own database: redis-benchmark's list
        client.close()


def sqlite_ceilings(size: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"sqlite_version": sqlite3.sqlite_version}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("NORMAL", "FULL"):
            db = Path(tmp) / f"{mode}.db"
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={mode}")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
            cap, done = time.monotonic() + TIME_CAP_SECONDS / 2, 0
            start = time.perf_counter()
            for _ in range(size):
                conn.execute("BEGIN")
                conn.execute("INSERT INTO t (body) VALUES (?)", (b"x" * 100,))
                conn.execute("COMMIT")
                done += 1
                if time.monotonic() > cap:
                    break
            figures[f"sqlite_commits_per_s_{mode.lower()}"] = done / (time.perf_counter() - start)
            conn.close()
    return figures


def run(size: int) -> dict[str, Any]:
    from tests.bench import tracing_bench

    return {
        "system": "ceilings",
        **grpc_ceilings(size),
        **redis_ceilings(size),
        **sqlite_ceilings(size),
        **tracing_bench.run(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--echo-server", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_server:
        import uvloop

        uvloop.run(serve_echo(args.echo_server))
        return
    figures = run(args.size)
    print(json.dumps({k: v for k, v in figures.items() if not k.startswith("samples")}, indent=1))


if __name__ == "__main__":
    main()
