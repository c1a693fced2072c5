"""Reads a multipart/form-data upload as it arrives, keeping the file in memory and nothing on disk.

The body is parsed chunk by chunk (python-multipart's streaming parser): the file part is collected up to the
limit, and the upload is refused with 413 the moment it passes it. A body declared larger than the limit
(Content-Length) is refused before a byte of it is read. So a 1 GB upload costs the gateway at most the limit,
and no temporary file is ever written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

# Part headers, boundaries and small form fields around the file may add this much to the body.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 8 * 1024


class UploadRefused(Exception):
    """The request is not an acceptable upload; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Upload:
    """The uploaded file: its name as the client gave it, and its bytes."""

    filename: str
    data: bytes
    complete: bool = False


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(413, f"file larger than {limit // 1024} KiB")


@dataclass
class _Collector:
    """Callbacks of the multipart parser: keeps the first part named `field_name`, up to `limit` bytes."""

    field_name: str
    limit: int
    upload: Upload | None = None
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _collecting: bytearray | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers.clear()
        self._collecting = None

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value).strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == self.field_name and self.upload is None and b"filename" in options:
            filename = options[b"filename"].decode("utf-8", "replace")
            self.upload = Upload(filename=filename, data=b"")
            self._collecting = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._collecting is None:
            return
        if len(self._collecting) + end - start > self.limit:
            raise too_large(self.limit)
        self._collecting.extend(data[start:end])

    def _part_end(self) -> None:
        if self._collecting is not None and self.upload is not None:
            self.upload.data = bytes(self._collecting)
            self.upload.complete = True
        self._collecting = None


async def read_upload(request: Request, *, limit: int, field_name: str = "file") -> Upload:
    """The file sent in form field `field_name`. Raises UploadRefused: 413 past `limit` bytes, 400 for a body
    that is not a multipart form with that file."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary", b"")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, f"send the file as multipart/form-data, in a form field named {field_name!r}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD_BYTES:
        raise too_large(limit)
    collector = _Collector(field_name, limit)
    try:
        parser = MultipartParser(
            boundary,
            collector.callbacks(),  # type: ignore[arg-type]
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_PART_HEADER_BYTES,
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + MULTIPART_OVERHEAD_BYTES:
                raise too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, FormParserError) as exc:
        raise UploadRefused(400, f"the multipart body could not be read: {str(exc)[:200]}") from None
    if collector.upload is None:
        raise UploadRefused(400, f"no file in the form: send it in a form field named {field_name!r}")
    if not collector.upload.complete:
        raise UploadRefused(400, "the multipart body ended before the file did")
    return collector.upload
