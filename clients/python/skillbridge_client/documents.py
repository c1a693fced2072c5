"""Plain text from an uploaded resume or job description: .txt, .pdf (pypdf) or .docx (python-docx).

Uploads are hostile input. A .docx is a zip archive, checked before python-docx opens it: how many members,
how large each one and all of them inflate (zipfile never inflates a member past its declared size, so the
declared sizes bound the work) and how far each is compressed. A .pdf is opened with pypdf's own resource
limits tightened and a cap on pages. Whatever a parser raises on a malformed file becomes an ExtractError
(HTTP 400) saying that the file could not be read. Time and memory are bounded by running this in a worker
process (gateway.extract_pool), not here. Nothing here imports the server: the CLI reads files with it too.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".pdf", ".docx")
MIB = 1024 * 1024
# A member this small may be compressed any amount (a page of repeated spaces); the ratio is checked above it.
RATIO_FLOOR_BYTES = 1 * MIB
MAX_REASON_CHARS = 200


class ExtractError(Exception):
    """The file cannot be read as text; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ExtractLimits:
    """What an upload may cost to read. The defaults are far above any real resume or job description."""

    docx_max_members: int = 1000
    docx_max_member_bytes: int = 16 * MIB
    docx_max_total_bytes: int = 48 * MIB
    docx_max_compression_ratio: float = 100.0
    pdf_max_pages: int = 100
    # Longest stream a PDF may declare, and the most bytes one stream may inflate to.
    pdf_max_stream_bytes: int = 16 * MIB


def extract_text(filename: str, data: bytes, limits: ExtractLimits | None = None) -> str:
    """The document's text. Raises ExtractError for an unsupported type (415) or a file that cannot be read
    within `limits` (400). CPU-bound: call it off the event loop (the gateway runs it in a worker process)."""
    limits = limits or ExtractLimits()
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".txt":
        return _text(data)
    if suffix == ".pdf":
        return _pdf(data, limits)
    if suffix == ".docx":
        return _docx(data, limits)
    raise ExtractError(f"unsupported file type {suffix or '(none)'!r}: upload {', '.join(SUPPORTED)}", status=415)


def suffix_of(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)  # both refuse lone surrogates, which no JSON or gRPC string takes
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte string decodes: better odd characters than a refusal


def _short(text: str, limit: int) -> str:
    # What a parser says about a hostile file may quote the file: never more than a line of it.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unreadable(kind: str, exc: BaseException) -> ExtractError:
    reason = _short(str(exc) or type(exc).__name__, MAX_REASON_CHARS)
    return ExtractError(f"this {kind} file could not be read: {reason}")


def _pdf(data: bytes, limits: ExtractLimits) -> str:
    from pypdf import PdfReader, apply_configuration

    stream_limits: dict[str, Any] = {
        "maximum_declared_stream_length": limits.pdf_max_stream_bytes,
        "array_based_stream_maximum_output_length": limits.pdf_max_stream_bytes,
        "jbig2_maximum_output_length": limits.pdf_max_stream_bytes,
        "lzw_maximum_output_length": limits.pdf_max_stream_bytes,
        "run_length_maximum_output_length": limits.pdf_max_stream_bytes,
        "zlib_maximum_output_length": limits.pdf_max_stream_bytes,
        "brotli_maximum_output_length": limits.pdf_max_stream_bytes,
        "image_maximum_buffer_size": limits.pdf_max_stream_bytes,
        "stream_decoding_work_maximum_length": 4 * limits.pdf_max_stream_bytes,
        "jbig2dec_binary": None,  # never run an external decoder on an upload
    }
    try:
        with apply_configuration(**stream_limits):
            reader = PdfReader(io.BytesIO(data))
            pages = len(reader.pages)
            if pages > limits.pdf_max_pages:
                raise ExtractError(f"this PDF has {pages} pages; at most {limits.pdf_max_pages} are read")
            return "\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    except (ExtractError, MemoryError):
        raise
    except Exception as exc:  # a parser of hostile input: whatever it raises, the file could not be read
        raise _unreadable("PDF", exc) from None


def check_docx_archive(data: bytes, limits: ExtractLimits) -> None:
    """Refuses a .docx whose archive would cost too much to inflate, before anything is inflated."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except Exception as exc:  # zipfile raises BadZipFile, but also ValueError, OSError, ... on odd archives
        raise _unreadable(".docx", exc) from None
    if len(members) > limits.docx_max_members:
        raise ExtractError(f"this .docx file has {len(members)} parts; at most {limits.docx_max_members} are read")
    total = 0
    for member in members:
        name = _short(member.filename, 64)
        if member.file_size > limits.docx_max_member_bytes:
            raise ExtractError(
                f"this .docx file could not be read: {name} inflates to {member.file_size} bytes "
                f"(at most {limits.docx_max_member_bytes})"
            )
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and ratio > limits.docx_max_compression_ratio:
            raise ExtractError(
                f"this .docx file could not be read: {name} is compressed {ratio:.0f}:1 "
                f"(at most {limits.docx_max_compression_ratio:.0f}:1)"
            )
    if total > limits.docx_max_total_bytes:
        raise ExtractError(
            f"this .docx file could not be read: it inflates to {total} bytes (at most {limits.docx_max_total_bytes})"
        )


def _docx(data: bytes, limits: ExtractLimits) -> str:
    import docx

    check_docx_archive(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                parts.append("\t".join(cell.text for cell in row.cells))
    except MemoryError:
        raise
    except Exception as exc:  # a parser of hostile input: whatever it raises, the file could not be read
        raise _unreadable(".docx", exc) from None
    return "\n".join(parts).strip()
