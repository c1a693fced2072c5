"""compare_skills logic: exact matches, thresholds, scoring and validation, with hand-made vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from services.common.embedding import Vectors, l2_normalise, normalise_text
from services.common.errors import InvalidArgument
from services.common.taxonomy import Skill, Taxonomy
from services.similarity import core

# Hand-made unit vectors: cos(spark, pyspark) = 0.8, cos(spark, baking) = 0, cos(sql, postgres) = 0.6.
VECTORS = {
    "apache spark": [1.0, 0.0, 0.0],
    "pyspark": [0.8, 0.6, 0.0],
    "baking": [0.0, 0.0, 1.0],
    "sql": [0.0, 1.0, 0.0],
    "postgresql": [0.0, 0.6, 0.8],
    "kubernetes": [-1.0, 0.0, 0.0],
}


class TableEmbed:
    """An embed function over the table above that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def __call__(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return l2_normalise(np.array([VECTORS[normalise_text(t)] for t in texts], dtype=np.float32))


async def compare(resume: list[str], job: list[str], threshold: float = 0.0, **kw: object) -> core.Comparison:
    embed = kw.pop("embed", None) or TableEmbed()
    return await core.compare_skills(resume, job, threshold, embed=embed, default_threshold=0.5, **kw)  # type: ignore[arg-type]


async def test_semantic_match_above_threshold_and_missing_below() -> None:
    result = await compare(["PySpark", "Baking"], ["Apache Spark", "Kubernetes"])
    assert [(m.job_skill, m.resume_skill) for m in result.matches] == [("Apache Spark", "PySpark")]
    assert result.matches[0].score == pytest.approx(0.8)
    assert result.missing_skills == ["Kubernetes"]
    # Kubernetes is opposite to PySpark's neighbour and orthogonal to Baking: best score clipped to [0, 1].
    assert [m.job_skill for m in result.best_matches] == ["Apache Spark", "Kubernetes"]
    assert 0.0 <= result.best_matches[1].score < 0.5
    assert result.overall_score == pytest.approx(0.8 / 2)


async def test_exact_matches_score_one_without_the_model() -> None:
    embed = TableEmbed()
    result = await compare(["sql", "PySpark"], ["SQL", "  apache   spark "], embed=embed)
    assert result.best_matches[0] == core.SkillMatch("SQL", "sql", 1.0)
    assert embed.calls == [["apache   spark", "sql", "PySpark"]]  # only the non-exact job skill is embedded
    assert result.overall_score == pytest.approx((1.0 + 0.8) / 2)


async def test_taxonomy_canonical_names_match_exactly_and_are_what_gets_embedded() -> None:
    taxonomy = Taxonomy([Skill("PostgreSQL", "Databases", ("Postgres", "psql")), Skill("Apache Spark", "Data")])
    embed = TableEmbed()
    result = await compare(["psql", "PySpark"], ["Postgres", "apache spark"], embed=embed, canonical=taxonomy.canonical)
    assert result.best_matches[0] == core.SkillMatch("Postgres", "psql", 1.0)
    assert embed.calls == [["Apache Spark", "PostgreSQL", "PySpark"]]


async def test_threshold_decides_matched_versus_missing() -> None:
    strict = await compare(["PostgreSQL"], ["SQL"], threshold=0.7)
    loose = await compare(["PostgreSQL"], ["SQL"], threshold=0.55)
    assert strict.matches == [] and strict.missing_skills == ["SQL"] and strict.overall_score == 0.0
    assert [m.job_skill for m in loose.matches] == ["SQL"] and loose.overall_score == pytest.approx(0.6)
    assert strict.threshold == 0.7 and loose.threshold == 0.55


async def test_zero_threshold_means_the_default() -> None:
    assert (await compare(["PostgreSQL"], ["SQL"])).threshold == 0.5


async def test_duplicates_count_once_and_keep_the_first_spelling() -> None:
    result = await compare(["PySpark"], ["Apache Spark", "apache spark", "Baking"])
    assert [m.job_skill for m in result.best_matches] == ["Apache Spark", "Baking"]
    assert result.overall_score == pytest.approx(0.8 / 2)


async def test_empty_resume_leaves_every_job_skill_missing() -> None:
    embed = TableEmbed()
    result = await compare([], ["SQL", "Baking"], embed=embed)
    assert result.missing_skills == ["SQL", "Baking"] and result.matches == []
    assert all(m.resume_skill == "" and m.score == 0.0 for m in result.best_matches)
    assert embed.calls == [] and result.overall_score == 0.0


@pytest.mark.parametrize("threshold", [-0.1, 1.5, math.nan])
async def test_threshold_outside_zero_to_one_is_invalid(threshold: float) -> None:
    with pytest.raises(InvalidArgument) as info:
        await compare(["SQL"], ["SQL"], threshold=threshold)
    assert info.value.violations[0].field == "threshold"


@pytest.mark.parametrize(
    ("resume", "job", "field"),
    [
        (["SQL"], [], "job_skills"),
        (["SQL"], ["SQL", "  "], "job_skills[1]"),
        (["x" * 201], ["SQL"], "resume_skills[0]"),
        (["SQL"] * 501, ["SQL"], "resume_skills"),
        (["SQL"], ["SQL"] * 501, "job_skills"),
    ],
)
async def test_bad_skill_lists_name_the_field(resume: list[str], job: list[str], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        await compare(resume, job)
    assert [v.field for v in info.value.violations] == [field]


def test_embed_texts_are_validated() -> None:
    assert core.validate_texts(["a", "b"], max_chars=10) == ["a", "b"]
    for texts, field in [([], "texts"), (["a"] * 257, "texts"), (["ok", ""], "texts[1]"), (["x" * 11], "texts[0]")]:
        with pytest.raises(InvalidArgument) as info:
            core.validate_texts(texts, max_chars=10)
        assert [v.field for v in info.value.violations] == [field]
