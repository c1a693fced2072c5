"""Fixtures of the retrieval tests: a small catalog copied per test, the real model once per session, a
counting stand-in model, and a local HTTP server that answers like Pinecone's data-plane API."""

from __future__ import annotations

import json
import shutil
import threading
import zlib
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.common.embedding import MiniLmEmbedder, Vectors, l2_normalise
from services.common.settings import Settings

DATA = Path(__file__).parent / "data"


class CountingEmbedder:
    """A stand-in model for the code around the model (vector caching): fixed pseudo-random unit vectors,
    every call recorded."""

    model_name = "counting-fake"
    dimensions = 8

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dimensions) for t in texts]
        return l2_normalise(np.array(rows).reshape(len(texts), self.dimensions))


@pytest.fixture
def counting() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture(scope="session")
def minilm() -> MiniLmEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    return MiniLmEmbedder()


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    """The 14-course test catalog in a fresh directory (the service writes its vector cache beside it)."""
    target = tmp_path / "data" / "courses.jsonl"
    target.parent.mkdir()
    shutil.copy(DATA / "courses.jsonl", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, catalog_file: Path) -> Settings:
    return Settings.from_env({}, catalog_path=catalog_file, imported_catalog_path=tmp_path / "var" / "catalog.jsonl")


def _matches(metadata: dict[str, Any], expression: dict[str, Any]) -> bool:
    """Evaluates the subset of Pinecone's filter language we use: $and, $eq, $in, $lte."""
    for key, condition in expression.items():
        if key == "$and":
            if not all(_matches(metadata, part) for part in condition):
                return False
            continue
        value = metadata.get(key)
        for op, operand in condition.items():
            if op == "$eq":
                ok = value == operand
            elif op == "$in":
                ok = value in operand
            elif op == "$lte":
                ok = value is not None and value <= operand
            else:
                raise ValueError(f"filter operator {op} not supported by the fake")
            if not ok:
                return False
    return True


class FakePinecone:
    """A Pinecone data plane on 127.0.0.1: stores upserted vectors per namespace and answers queries by
    exact dot product with metadata filters, in the documented JSON shapes. `mode` switches it to answer
    500 ("fail") or to stall until released ("slow")."""

    api_key = "test-key"

    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, tuple[list[float], dict[str, Any]]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.mode = "ok"
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.requests.append((self.path, body))
                if self.headers.get("Api-Key") != fake.api_key:
                    return self._reply(401, {"code": 16, "message": "Invalid API Key", "details": []})
                if fake.mode == "fail":
                    return self._reply(500, {"code": 13, "message": "internal error", "details": []})
                if fake.mode == "slow":
                    fake.release.wait(timeout=10)
                if self.path == "/vectors/upsert":
                    return self._reply(200, fake.upsert(body))
                if self.path == "/query":
                    return self._reply(200, fake.query(body))
                return self._reply(404, {"code": 5, "message": "not found", "details": []})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def upsert(self, body: dict[str, Any]) -> dict[str, Any]:
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        for vector in body["vectors"]:
            space[vector["id"]] = (vector["values"], vector.get("metadata") or {})
        return {"upsertedCount": len(body["vectors"])}

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body.get("namespace", "")
        space = self.namespaces.get(namespace, {})
        query = np.array(body["vector"])
        scored = [
            (float(query @ np.array(values)), vid, metadata)
            for vid, (values, metadata) in space.items()
            if _matches(metadata, body.get("filter") or {})
        ]
        scored.sort(key=lambda s: -s[0])
        matches = [
            {"id": vid, "score": score, "values": [], **({"metadata": md} if body.get("includeMetadata") else {})}
            for score, vid, md in scored[: body["topK"]]
        ]
        return {"matches": matches, "namespace": namespace, "usage": {"readUnits": 5}}


@pytest.fixture
def pinecone_server() -> Iterator[FakePinecone]:
    fake = FakePinecone()
    fake.thread.start()
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()
