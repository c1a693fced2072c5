"""POST /v1/extract-text with real .txt, .pdf and .docx files, hostile ones included: the app runs with its
lifespan, so files are read by real worker processes."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from skillbridge_client.documents import ExtractError, ExtractLimits, check_docx_archive, extract_text

from gateway.extract_pool import ExtractorPool
from services.common.settings import Settings
from tests.gateway.hostile_files import docx_bomb, docx_bytes, flate_pdf, minimal_pdf
from tests.gateway.upload_support import uploads


async def test_txt_pdf_docx(settings: Settings) -> None:
    async with uploads(settings) as post:
        assert (await post("cv.txt", b"Python and SQL")).json()["text"] == "Python and SQL"
        pdf = await post("cv.pdf", minimal_pdf("Kubernetes engineer"))
        assert pdf.status_code == 200 and "Kubernetes engineer" in pdf.json()["text"]
        word = await post("cv.docx", docx_bytes("Data engineer", "Kafka and Spark"))
        assert word.json()["text"] == "Data engineer\nKafka and Spark"
        compressed = await post("cv.pdf", flate_pdf("Go developer", 1 << 20))
        assert compressed.status_code == 200 and compressed.json()["text"].startswith("Go developer")


async def test_refusals(settings: Settings) -> None:
    async with uploads(settings, limit=100) as post:
        assert (await post("cv.exe", b"MZ")).status_code == 415
        assert (await post("cv.txt", b"x" * 101)).status_code == 413
        broken = await post("cv.docx", b"not a zip file")
        assert broken.status_code == 400 and "could not be read" in broken.json()["detail"]
        assert "docx" in broken.json()["detail"]


async def test_a_docx_bomb_is_refused_from_its_directory_without_inflating_it(settings: Settings) -> None:
    bomb = docx_bomb(1 << 30)
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(ExtractError, match=r"word/document.xml inflates to 10737\d+ bytes"):
        check_docx_archive(bomb, ExtractLimits())
    async with uploads(settings, limit=5 * 1024 * 1024) as post:
        answer = await post("bomb.docx", bomb)
    assert answer.status_code == 400 and "could not be read" in answer.json()["detail"]


def test_docx_limits_on_parts_total_size_and_compression_ratio() -> None:
    real = docx_bytes("Data engineer")
    parts = len(zipfile.ZipFile(BytesIO(real)).infolist())
    with pytest.raises(ExtractError, match="parts"):
        check_docx_archive(real, ExtractLimits(docx_max_members=parts - 1))
    with pytest.raises(ExtractError, match="inflates to"):
        check_docx_archive(real, ExtractLimits(docx_max_total_bytes=100))
    squeezed = docx_bomb(8 << 20)  # within the per-part limit, but 8 MB of 'A's compress about 1000:1
    with pytest.raises(ExtractError, match=r"compressed \d+:1"):
        check_docx_archive(squeezed, ExtractLimits())
    check_docx_archive(real, ExtractLimits())  # a real document passes


def test_pdf_stream_and_page_limits() -> None:
    with pytest.raises(ExtractError, match="could not be read: Declared stream length"):
        extract_text("cv.pdf", minimal_pdf("x", declared_length=10**9))
    with pytest.raises(ExtractError, match="could not be read: Limit reached"):
        extract_text("cv.pdf", flate_pdf("x", 64 << 20))
    with pytest.raises(ExtractError, match="1 pages; at most 0"):
        extract_text("cv.pdf", minimal_pdf("x"), ExtractLimits(pdf_max_pages=0))


async def test_the_route_authenticates_like_every_other(settings: Settings) -> None:
    keyed = Settings.from_env({}, api_keys="k-alice=alice,k-bob=bob:vip")
    async with uploads(keyed) as post:
        missing = await post("cv.txt", b"Python")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert (await post("cv.txt", b"Python", key="k-mallory")).status_code == 401
        assert (await post("cv.txt", b"Python", key="k-alice-")).status_code == 401
        assert (await post("cv.txt", b"Python", key="k-bob")).json()["text"] == "Python"
    # the local stack: keys, and anonymous callers acting as the development owner
    async with uploads(Settings.from_env({}, api_keys="k-alice=alice", allow_anonymous=True)) as post:
        assert (await post("cv.txt", b"Python")).status_code == 200


async def test_a_file_that_takes_too_long_stops_its_worker_and_the_next_one_is_read() -> None:
    pool = ExtractorPool(workers=1, timeout=0.001, memory_mb=256)
    try:
        with pytest.raises(ExtractError, match=r"within 0\.001 s"):
            await pool.extract("cv.docx", docx_bytes("Data engineer"))
        pool.timeout = 60.0
        assert await pool.extract("cv.docx", docx_bytes("Data engineer")) == "Data engineer"
    finally:
        await pool.close()


async def test_a_parser_out_of_memory_is_a_400_and_its_worker_is_replaced() -> None:
    starved = ExtractorPool(workers=1, timeout=60.0, memory_mb=1)
    try:
        for _ in range(2):  # the second upload gets a fresh worker, starved the same way
            with pytest.raises(ExtractError, match="too much memory") as refused:
                await starved.extract("cv.docx", docx_bytes("Data engineer"))
            assert refused.value.status == 400
    finally:
        await starved.close()
