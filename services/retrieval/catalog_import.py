"""`skillbridge catalog import FILE`: validate a user's catalog and make it the one the service serves."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from services.common.catalog import CatalogError, load_catalog, write_catalog
from services.retrieval.settings import RetrievalSettings

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".jsonl")


def import_catalog(settings: RetrievalSettings, source: Path) -> int:
    """Validates `source` (.csv or .jsonl) and writes it as JSONL to settings.imported_catalog_path.

    Returns the number of courses. Any problem raises CatalogError before anything is written, and the
    write itself is atomic, so an existing imported catalog stays as it was. The retrieval service picks
    the new catalog up at its next start (its vectors are re-embedded then, since the content changed).
    """
    if source.suffix.lower() not in SUFFIXES:
        raise CatalogError(f"{source}: a catalog must be a .csv or .jsonl file")
    if not source.is_file():
        raise CatalogError(f"{source}: no such file")
    try:
        courses = load_catalog(source)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogError(f"{source}: cannot read the catalog: {exc}") from exc
    if not courses:
        raise CatalogError(f"{source}: the catalog holds no courses")
    target = settings.imported_catalog_path
    try:
        write_catalog(courses, target)
    except OSError as exc:
        raise CatalogError(f"cannot write the imported catalog to {target}: {exc}") from exc
    log.info("imported %d courses from %s into %s", len(courses), source, target)
    return len(courses)
