"""Mutated .docx, .pdf and .txt files (a seeded mutator over real small documents, tests/gateway/hostile_files)
posted to POST /v1/extract-text of the real app with its worker processes: every answer is a 200 or a 4xx, never
a 5xx. `make test` posts 1,000; `make fuzz` posts FUZZ_FILES (default 20,000) with another seed."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter

import httpx
import pytest

from services.common.settings import Settings
from tests.gateway.hostile_files import mutated_files
from tests.gateway.upload_support import uploads

FILES = int(os.environ.get("FUZZ_FILES", "1000"))
SEED = int(os.environ.get("FUZZ_SEED", "10"))
IN_FLIGHT = 4


async def test_mutated_files_never_get_a_5xx(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    async with uploads(settings, limit=5 * 1024 * 1024) as post:
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def one(index: int, name: str, data: bytes) -> None:
            async with slots:
                answer: httpx.Response = await post(name, data)
            statuses[answer.status_code] += 1
            if answer.status_code >= 500 or answer.status_code not in (200, 400, 415):
                failures.append(f"#{index} {name} ({len(data)} bytes): {answer.status_code} {answer.text[:200]}")

        await asyncio.gather(*(one(i, name, data) for i, (name, data) in enumerate(mutated_files(FILES, SEED))))
    with capsys.disabled():
        sys.stdout.write(f"\nfuzz: {FILES} mutated files, seed {SEED}: statuses {dict(sorted(statuses.items()))}\n")
    assert not failures, "\n".join(failures[:20])
    assert sum(statuses.values()) == FILES
    # the mutator both breaks files and leaves some readable: the fuzz reaches the parsers, not only the door
    assert statuses[200] > FILES // 20 and statuses[400] > FILES // 20
