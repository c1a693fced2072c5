"""Hostile uploads against a real gateway process (`python -m gateway`), measured from outside: its memory
(read from /proc) while it refuses a .docx that inflates to 1 GB, and how much of a 1 GB streamed upload it
takes before answering 413. Figures are printed; the bounds asserted are the issue's, far from the measures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.common.settings import REPO_ROOT
from tests.gateway.hostile_files import docx_bomb, docx_bytes
from tests.support import free_port, wait_until

KEY = "k-upload-test"
MIB = 1 << 20


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A gateway process with one API key; yields (base URL, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "SKILLBRIDGE_HOST": "127.0.0.1",
        "SKILLBRIDGE_GATEWAY_PORT": str(port),
        "SKILLBRIDGE_API_KEYS": f"{KEY}=alice",
        "SKILLBRIDGE_LOG_JSON": "0",
    }
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url) or process.poll() is not None, within=60, message="gateway did not start")
        assert process.poll() is None, (tmp_path / "gateway.log").read_text()
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def reset_peak(pid: int) -> None:
    """Resets VmHWM to the current RSS, so that the next reading is the peak of what follows."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def post_file(url: str, name: str, data: bytes, key: str | None = KEY) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/extract-text", files={"file": (name, data)}, headers=headers, timeout=120.0)


def test_a_gigabyte_docx_bomb_leaves_the_gateway_memory_flat(
    gateway: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    url, pid = gateway
    bomb = docx_bomb(1 << 30)
    assert post_file(url, "bomb.docx", bomb, key=None).status_code == 401  # no key: refused before reading
    assert post_file(url, "cv.docx", docx_bytes("Data engineer")).status_code == 200  # the worker is up
    before = memory_kib(pid, "VmRSS")
    reset_peak(pid)
    started = time.perf_counter()
    answer = post_file(url, "bomb.docx", bomb)
    took = time.perf_counter() - started
    peak, after = memory_kib(pid, "VmHWM"), memory_kib(pid, "VmRSS")
    assert answer.status_code == 400 and "could not be read" in answer.json()["detail"], answer.text
    assert post_file(url, "cv.docx", docx_bytes("Still serving")).json()["text"] == "Still serving"
    with capsys.disabled():
        sys.stdout.write(
            f"\ndocx bomb ({len(bomb) / MIB:.1f} MB inflating to 1 GiB): 400 in {took * 1000:.0f} ms; gateway RSS "
            f"{before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB (+{(peak - before) / 1024:.1f} MB), "
            f"{after / 1024:.0f} MB after\n"
        )
    assert peak - before < 100 * 1024, f"the gateway grew by {(peak - before) / 1024:.0f} MB"


def test_a_gigabyte_streamed_upload_is_refused_early(
    gateway: tuple[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """Chunked transfer (no Content-Length): the gateway answers 413 once the body passes the 5 MB limit,
    while the client is still sending; the client stops at the answer."""
    url, pid = gateway
    port = int(url.rsplit(":", 1)[1])
    before = memory_kib(pid, "VmRSS")
    reset_peak(pid)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        sent = _Sender(conn)
        sent.start()
        head = _read_head(conn)
        sent.stop.set()
        sent.join(60)
    peak = memory_kib(pid, "VmHWM")
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    with capsys.disabled():
        sys.stdout.write(
            f"\n1 GiB chunked upload: 413 after the client had sent {sent.bytes_sent / MIB:.1f} MB; gateway RSS "
            f"peak +{(peak - before) / 1024:.1f} MB\n"
        )
    assert sent.bytes_sent < 64 * MIB, f"the client sent {sent.bytes_sent / MIB:.0f} MB before the answer"
    assert peak - before < 100 * 1024


class _Sender(threading.Thread):
    """Sends a chunked multipart upload of up to 1 GiB, until told to stop or the server closes."""

    def __init__(self, conn: socket.socket) -> None:
        super().__init__(daemon=True)
        self.conn, self.bytes_sent, self.stop = conn, 0, threading.Event()

    def run(self) -> None:
        boundary = "b0undary"
        head = (
            f"POST /v1/extract-text HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cv.txt"\r\n\r\n'.encode()
        filler = b"x" * (256 * 1024)
        try:
            self.conn.sendall(head + _chunk(part))
            while not self.stop.is_set() and self.bytes_sent < 1 << 30:
                self.conn.sendall(_chunk(filler))
                self.bytes_sent += len(filler)
        except OSError:
            return  # the server answered and closed: what the test wants


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _read_head(conn: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        data = conn.recv(65536)
        if not data:
            break
        received += data
    return received
