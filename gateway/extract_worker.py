"""python -m gateway.extract_worker LIMITS_JSON: reads uploads on stdin, one at a time, and answers each with
its text on stdout. The gateway runs a few of these (gateway.extract_pool) so that a parser fed a hostile file
spends this process's memory and time, never the gateway's.

Protocol, one exchange per upload: the gateway writes a JSON line {"filename", "size"} and `size` bytes; the
worker answers a JSON line {"status": 200, "size"} followed by `size` bytes of UTF-8 text, or {"status",
"detail"}. Before the first exchange the worker writes {"ready": true} once its imports are done. Its address
space is capped at start-up footprint + `memory_mb`: a parser that wants more gets MemoryError, which is
answered as a file that could not be read, and the worker then exits (the gateway starts a fresh one).
"""

from __future__ import annotations

import json
import logging
import resource
import sys
from dataclasses import asdict
from typing import IO, Any

from skillbridge_client.documents import ExtractError, ExtractLimits, extract_text

# The largest header line the worker accepts; a longer one means the stream is out of step.
MAX_HEADER_BYTES = 64 * 1024


def cap_memory(extra_bytes: int) -> bool:
    """Caps this process's address space at what it maps now plus `extra_bytes`. Linux only (it reads
    /proc); elsewhere the worker runs uncapped and says so. Returns whether the cap is set."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
        limit = mapped + extra_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).error("extraction worker runs without a memory cap: %s", exc)
        return False
    return True


def answer(out: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    out.write(json.dumps(header).encode() + b"\n" + body)
    out.flush()


def serve(source: IO[bytes], out: IO[bytes], limits: ExtractLimits) -> None:
    """Answers uploads until `source` ends (the gateway closed the pipe or went away)."""
    answer(out, {"ready": True})
    while True:
        line = source.readline(MAX_HEADER_BYTES)
        if not line:
            return
        request = json.loads(line)
        data = source.read(int(request["size"]))
        try:
            text = extract_text(str(request["filename"]), data, limits)
        except ExtractError as exc:
            answer(out, {"status": exc.status, "detail": str(exc)})
            continue
        except MemoryError:
            detail = "this file could not be read: it needs too much memory"
            answer(out, {"status": 400, "detail": detail, "exiting": True})
            return
        encoded = text.encode("utf-8", "replace")
        answer(out, {"status": 200, "size": len(encoded)}, encoded)


def main(argv: list[str]) -> None:
    settings = json.loads(argv[1]) if len(argv) > 1 else {}
    memory_mb = int(settings.pop("memory_mb", 256))
    limits = ExtractLimits(**{k: v for k, v in settings.items() if k in asdict(ExtractLimits())})
    # pypdf logs a warning for every oddity of a damaged file: noise for an operator, and the caller is told.
    logging.basicConfig(level=logging.ERROR, format="extract-worker %(levelname)s %(name)s: %(message)s")
    # The parsers are imported before the cap is measured, so the cap is all headroom for the file.
    import docx  # noqa: F401
    import pypdf  # noqa: F401

    cap_memory(memory_mb * 1024 * 1024)
    serve(sys.stdin.buffer, sys.stdout.buffer, limits)


if __name__ == "__main__":
    main(sys.argv)
