"""The real VocabularyMatcher on the legacy keyword pairs (tests/data/eval/legacy/keyword-pairs.jsonl).

These 17 short keyword-list pairs, mostly software roles, were the project's first evaluation set; their gold
names are taxonomy names. They stay as a quick regression check of the matcher on plain keyword text. The
headline figures come from the prose pairs of tests/data/eval/dev and test (`make eval`).
"""

from __future__ import annotations

import json
import logging

from services.common.settings import REPO_ROOT
from services.ner.core import read_document
from services.ner.matcher import VocabularyMatcher
from services.ner.model import DocumentKind
from tests.eval.dataset import GoldSkill
from tests.eval.scoring import Counts, match_skills

LEGACY_SET = REPO_ROOT / "tests" / "data" / "eval" / "legacy" / "keyword-pairs.jsonl"
log = logging.getLogger(__name__)


def test_skill_matcher_on_the_legacy_keyword_pairs(skill_matcher: VocabularyMatcher) -> None:
    rows = [json.loads(line) for line in LEGACY_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 17
    assert all(set(row["missing_skills"]) <= set(row["job_skills"]) for row in rows)
    texts = [text for row in rows for text in (row["resume"], row["job_description"])]
    found = [
        {s.name for s in read_document(text, DocumentKind.RESUME, analysis, []).skills}
        for text, analysis in zip(texts, skill_matcher.analyse(texts), strict=True)
    ]
    job_counts, gap_counts, errors = Counts(), Counts(), {}
    for i, row in enumerate(rows):
        resume_skills, job_skills = found[2 * i], found[2 * i + 1]
        job = match_skills(job_skills, [GoldSkill(name, ()) for name in row["job_skills"]])
        # An exact-name gap: the similarity service refines it in a real job.
        gap = match_skills(job_skills - resume_skills, [GoldSkill(name, ()) for name in row["missing_skills"]])
        job_counts, gap_counts = job_counts + job.counts, gap_counts + gap.counts
        errors[row["id"]] = {"job_missed": job.misses, "job_extra": job.extras}
    log.info("legacy job-skill %s; missing-skill %s", job_counts, gap_counts)
    assert job_counts.f1 >= 0.80, errors
    assert gap_counts.f1 >= 0.75, errors
