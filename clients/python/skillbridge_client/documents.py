"""Plain text from a resume or job description file: .txt, .pdf (pypdf) or .docx (python-docx).

One extractor for every front end: the gateway's upload route and `skillbridge analyze --resume cv.pdf` both call
`extract_text`, so a file reads the same everywhere. It imports nothing from the server."""

from __future__ import annotations

import io
import logging
from pathlib import PurePath

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".pdf", ".docx")


class ExtractError(Exception):
    """The file cannot be read as text; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def extract_text(filename: str, data: bytes) -> str:
    """The document's text. Raises ExtractError for an unsupported type (415) or an unreadable file (400).
    CPU-bound for large PDFs: call it off the event loop."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".txt":
        return _text(data)
    if suffix == ".pdf":
        return _pdf(data)
    if suffix == ".docx":
        return _docx(data)
    raise ExtractError(f"unsupported file type {suffix or '(none)'!r}: upload {', '.join(SUPPORTED)}", status=415)


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte string decodes: better odd characters than a refusal


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ExtractError(f"cannot read this PDF: {exc}") from None


def _docx(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractError(f"cannot read this .docx file: {exc}") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts).strip()
