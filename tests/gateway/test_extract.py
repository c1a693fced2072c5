"""POST /v1/extract-text with real .txt, .pdf and .docx files."""

from __future__ import annotations

import io

import docx
import httpx
from fastapi import FastAPI

from gateway.app import create_app
from services.common.settings import Settings


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica, built by hand (with a correct xref table)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_app(settings: Settings, limit: int = 1024 * 1024) -> FastAPI:
    return create_app(settings, max_upload_bytes=limit)


async def post(app: FastAPI, name: str, data: bytes) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        return await http.post("/v1/extract-text", files={"file": (name, data)})


async def test_txt_pdf_docx(settings: Settings) -> None:
    app = make_app(settings)
    assert (await post(app, "cv.txt", b"Python and SQL")).json()["text"] == "Python and SQL"
    pdf = await post(app, "cv.pdf", minimal_pdf("Kubernetes engineer"))
    assert pdf.status_code == 200 and "Kubernetes engineer" in pdf.json()["text"]
    word = await post(app, "cv.docx", docx_bytes("Data engineer", "Kafka and Spark"))
    assert word.json()["text"] == "Data engineer\nKafka and Spark"


async def test_refusals(settings: Settings) -> None:
    app = make_app(settings, limit=100)
    assert (await post(app, "cv.exe", b"MZ")).status_code == 415
    assert (await post(app, "cv.txt", b"x" * 101)).status_code == 413
    broken = await post(app, "cv.docx", b"not a zip file")
    assert broken.status_code == 400 and "docx" in broken.json()["detail"]
