"""Fixtures: a local HTTP server that answers like Cohere's v2 API, and the recommendation service on port 0."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.server import RunningServer
from services.common.settings import Settings
from services.recommendation.server import start

CHAT_TEXT = "Start with the Kafka course, then add Kubernetes; together they close most of the gap."


@dataclass
class FakeCohere:
    """What the server saw, and how it answers: "ok", "error" (HTTP 500), "slow", "garbage" or "bad_index"."""

    mode: str = "ok"
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


def _rerank_reply(body: dict[str, Any], bad_index: bool) -> dict[str, Any]:
    # Relevance that differs from the input order on purpose: the last document is the most relevant.
    count = len(body["documents"])
    order = list(reversed(range(count)))[: body.get("top_n") or count]
    results = [{"index": i, "relevance_score": round(0.99 - 0.01 * rank, 4)} for rank, i in enumerate(order)]
    if bad_index:
        results[0]["index"] = count + 98
    return {
        "id": "rr-1",
        "results": results,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }


def _chat_reply() -> dict[str, Any]:
    return {
        "id": "chat-1",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": CHAT_TEXT}]},
        "usage": {
            "billed_units": {"input_tokens": 10, "output_tokens": 5},
            "tokens": {"input_tokens": 10, "output_tokens": 5},
        },
    }


def _handler_for(state: FakeCohere) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return None

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append((self.path, dict(self.headers.items()), body))
            if state.mode == "slow":
                # Holds the reply until the test ends: far longer than the client's timeout.
                state.release.wait(30)
            if state.mode == "error":
                self._send(500, json.dumps({"message": "internal server error"}).encode())
            elif state.mode == "garbage":
                self._send(200, b"<html>not json</html>")
            elif self.path == "/v2/rerank":
                self._send(200, json.dumps(_rerank_reply(body, state.mode == "bad_index")).encode())
            elif self.path == "/v2/chat":
                self._send(200, json.dumps(_chat_reply()).encode())
            else:
                self._send(404, json.dumps({"message": f"no route {self.path}"}).encode())

    return Handler


@pytest.fixture
def fake_cohere() -> Iterator[FakeCohere]:
    state = FakeCohere()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def settings_for(**overrides: Any) -> Settings:
    """Settings that ignore the developer's environment."""
    return Settings.from_env({}, **overrides)


async def started(settings: Settings) -> RunningServer:
    return await start(settings, port=0)


@pytest.fixture
async def local_stub() -> AsyncIterator[pb_grpc.RecommendationServiceAsyncStub]:
    running = await started(settings_for())
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            yield pb_grpc.RecommendationServiceStub(channel)
    finally:
        await running.stop(0)
