"""The upload body is read as it arrives: refused with 413 as soon as it passes the limit (counted on the
ASGI receive channel: how much the app pulled), never buffered whole, never written to disk."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from gateway.app import create_app
from gateway.upload_body import MULTIPART_OVERHEAD_BYTES
from services.common.settings import Settings

LIMIT = 256 * 1024
CHUNK = 64 * 1024
BOUNDARY = "b0undary"


class EndlessUpload:
    """An ASGI receive channel that sends a multipart head, then filler for as long as it is asked (up to 1 GB)."""

    def __init__(self) -> None:
        self.pulled = 0
        self.head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cv.txt"\r\n\r\n'.encode()

    async def __call__(self) -> dict[str, Any]:
        body = self.head if self.pulled == 0 else b"x" * CHUNK
        self.pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": self.pulled < 1 << 30}


async def call(app: FastAPI, headers: dict[str, str], receive: Any) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/extract-text",
        "raw_path": b"/v1/extract-text",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_streamed_upload_is_refused_as_soon_as_it_passes_the_limit(settings: Settings) -> None:
    app = create_app(settings, max_upload_bytes=LIMIT)
    upload = EndlessUpload()
    status, body = await call(app, {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}, upload)
    assert status == 413 and b"larger than 256 KiB" in body
    assert upload.pulled <= LIMIT + MULTIPART_OVERHEAD_BYTES + CHUNK, upload.pulled


async def test_a_body_declared_too_large_is_refused_before_it_is_read(settings: Settings) -> None:
    app = create_app(settings, max_upload_bytes=LIMIT)
    upload = EndlessUpload()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "content-length": str(1 << 30)}
    status, _ = await call(app, headers, upload)
    assert status == 413 and upload.pulled == 0


async def test_bodies_that_are_not_an_upload_are_400s_that_say_why(settings: Settings) -> None:
    app = create_app(settings, max_upload_bytes=LIMIT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        plain = await http.post("/v1/extract-text", content=b"Python", headers={"content-type": "text/plain"})
        assert plain.status_code == 400 and "multipart/form-data" in plain.json()["detail"]
        other_field = await http.post("/v1/extract-text", files={"resume": ("cv.txt", b"Python")})
        assert other_field.status_code == 400 and "form field named 'file'" in other_field.json()["detail"]
        cut = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cv.txt"\r\n\r\nPyth').encode()
        headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        truncated = await http.post("/v1/extract-text", content=cut, headers=headers)
        assert truncated.status_code == 400, truncated.text
        garbage = await http.post("/v1/extract-text", content=b"\x00" * 100, headers=headers)
        assert garbage.status_code == 400, garbage.text
        with_fields = await http.post(
            "/v1/extract-text", data={"note": "first"}, files={"file": ("cv.txt", b"Kafka and SQL")}
        )
        assert with_fields.status_code == 200 and with_fields.json()["text"] == "Kafka and SQL"


async def test_openapi_describes_the_upload_as_a_multipart_file(settings: Settings) -> None:
    schema = create_app(settings).openapi()
    body = schema["paths"]["/v1/extract-text"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"] and body["properties"]["file"]["format"] == "binary"
