"""compare_skills logic: match kinds, the calibrated threshold, scoring and validation, with hand-made vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from services.common.errors import InvalidArgument
from services.common.taxonomy import Skill, Taxonomy
from services.similarity import core
from services.similarity.core import MatchKind, SkillInput
from tests.similarity.table_embed import TableEmbed

# Hand-made unit vectors: cos(spark, pyspark) = 0.8, cos(spark, baking) = 0, cos(sql, postgres) = 0.6.
VECTORS = {
    "apache spark": [1.0, 0.0, 0.0],
    "pyspark": [0.8, 0.6, 0.0],
    "baking": [0.0, 0.0, 1.0],
    "sql": [0.0, 1.0, 0.0],
    "postgresql": [0.0, 0.6, 0.8],
    "kubernetes": [-1.0, 0.0, 0.0],
    "lean manufacturing": [0.0, 0.0, 1.0],
    "lean six sigma": [0.0, 0.3, 0.95],
}

VOCABULARY = Taxonomy(
    [
        Skill("Kubernetes", "Cloud", ("k8s",), id="skillbridge:kubernetes"),
        Skill("PostgreSQL", "Databases", ("Postgres", "psql"), id="skillbridge:postgresql"),
        Skill("Apache Spark", "Data", ("Spark",), id="skillbridge:apache-spark"),
        Skill("Lean Manufacturing", "Manufacturing", ("Lean",), id="skillbridge:lean-manufacturing"),
        Skill("Lean Six Sigma", "Manufacturing", ("LSS",), id="skillbridge:lean-six-sigma",
              covers=("skillbridge:lean-manufacturing",)),
    ]
)  # fmt: skip


async def compare(
    resume: Sequence[str | SkillInput],
    job: Sequence[str | SkillInput],
    threshold: float | None = None,
    *,
    embed: TableEmbed | None = None,
    calibrated: float = 0.5,
    vocabulary: Taxonomy | None = None,
) -> core.Comparison:
    return await core.compare_skills(
        resume,
        job,
        threshold,
        embed=embed or TableEmbed(VECTORS),
        default_threshold=0.5,
        calibrated_threshold=calibrated,
        vocabulary=vocabulary,
    )


async def test_semantic_match_above_threshold_and_missing_below() -> None:
    result = await compare(["PySpark", "Baking"], ["Apache Spark", "Kubernetes"])
    spark, kubernetes = result.best_matches
    assert (spark.job_skill, spark.resume_skill, spark.kind) == ("Apache Spark", "PySpark", MatchKind.SEMANTIC)
    assert spark.score == pytest.approx(0.8) and spark.evidence == "PySpark"
    assert result.matches == [spark] and result.missing_skills == ["Kubernetes"]
    # Kubernetes is opposite to PySpark's neighbour and orthogonal to Baking: best score clipped to [0, 1].
    assert kubernetes.kind == MatchKind.MISSING and kubernetes.evidence == ""
    assert 0.0 <= kubernetes.score < 0.5
    assert result.overall_score == pytest.approx(0.8 / 2)


async def test_exact_matches_score_one_without_the_model() -> None:
    embed = TableEmbed(VECTORS)
    result = await compare(["sql", "PySpark"], ["SQL", "  apache   spark "], embed=embed)
    assert result.best_matches[0] == core.SkillMatch("SQL", "sql", 1.0, MatchKind.EXACT, "sql", True, "")
    assert embed.calls == [["apache   spark", "sql", "PySpark"]]  # only the non-exact job skill is embedded
    assert result.overall_score == pytest.approx((1.0 + 0.8) / 2)


async def test_an_alias_in_the_resume_list_is_an_alias_match_and_canonical_names_get_embedded() -> None:
    embed = TableEmbed(VECTORS)
    result = await compare(["psql", "PySpark"], ["PostgreSQL", "apache spark"], embed=embed, vocabulary=VOCABULARY)
    postgres, spark = result.best_matches
    assert (postgres.resume_skill, postgres.kind, postgres.score) == ("psql", MatchKind.ALIAS, 1.0)
    assert postgres.skill_id == "skillbridge:postgresql"
    assert embed.calls == [["Apache Spark", "PostgreSQL", "PySpark"]]
    assert spark.kind == MatchKind.SEMANTIC and spark.skill_id == "skillbridge:apache-spark"


async def test_evidence_decides_exact_or_alias_for_canonical_names() -> None:
    by_alias = SkillInput("Kubernetes", "skillbridge:kubernetes", True, "Ran 40 services on k8s clusters.")
    by_name = SkillInput("Kubernetes", "skillbridge:kubernetes", True, "Kubernetes operator for Redis.")
    for resume, kind in [(by_alias, MatchKind.ALIAS), (by_name, MatchKind.EXACT)]:
        result = await compare([resume], ["Kubernetes"], vocabulary=VOCABULARY)
        assert result.best_matches[0].kind == kind
        assert result.best_matches[0].evidence == resume.evidence


async def test_a_broader_skill_covers_a_narrower_one_only_where_the_vocabulary_says_so() -> None:
    covered = await compare(["LSS"], ["Lean"], threshold=1.0, vocabulary=VOCABULARY)
    match = covered.best_matches[0]
    assert (match.job_skill, match.resume_skill, match.kind, match.score) == ("Lean", "LSS", MatchKind.RELATED, 1.0)
    assert match.skill_id == "skillbridge:lean-manufacturing"
    # The relation has a direction: knowing Lean does not show Lean Six Sigma, even with close embeddings.
    reverse = await compare(["Lean Manufacturing"], ["Lean Six Sigma"], threshold=1.0, vocabulary=VOCABULARY)
    assert reverse.best_matches[0].kind == MatchKind.MISSING
    assert reverse.best_matches[0].score == pytest.approx(0.95, abs=0.01)


async def test_skill_ids_identify_skills_whatever_their_names() -> None:
    job = SkillInput("Postgres database", skill_id="skillbridge:postgresql")
    result = await compare([SkillInput("PostgreSQL", skill_id="skillbridge:postgresql")], [job])
    assert result.best_matches[0].kind == MatchKind.EXACT and result.missing_skills == []


async def test_the_calibrated_threshold_is_what_strictness_one_half_means() -> None:
    # cos(Apache Spark, PySpark) = 0.8: covered when the calibrated cosine is 0.75, missing when it is 0.85.
    lenient = await compare(["PySpark"], ["Apache Spark"], calibrated=0.75)
    strict = await compare(["PySpark"], ["Apache Spark"], calibrated=0.85)
    assert lenient.calibrated_threshold == 0.75 and lenient.best_matches[0].kind == MatchKind.SEMANTIC
    assert strict.calibrated_threshold == 0.85 and strict.missing_skills == ["Apache Spark"]
    assert lenient.threshold == strict.threshold == 0.5


async def test_the_callers_threshold_maps_onto_the_calibrated_scale() -> None:
    # With 0.8 calibrated: strictness 0.25 -> 0.4, 0.75 -> 0.9, 1.0 -> 1.0. cos(SQL, PostgreSQL) = 0.6.
    loose = await compare(["PostgreSQL"], ["SQL"], threshold=0.25, calibrated=0.8)
    default = await compare(["PostgreSQL"], ["SQL"], calibrated=0.8)
    assert loose.calibrated_threshold == pytest.approx(0.4) and loose.matches[0].kind == MatchKind.SEMANTIC
    assert default.calibrated_threshold == pytest.approx(0.8) and default.missing_skills == ["SQL"]
    assert loose.overall_score == pytest.approx(0.6) and default.overall_score == 0.0
    strictest = await compare(["PySpark"], ["Apache Spark"], threshold=1.0, calibrated=0.8)
    assert strictest.calibrated_threshold == 1.0 and strictest.missing_skills == ["Apache Spark"]


async def test_nice_to_have_skills_weigh_half_in_the_overall_score() -> None:
    job = [SkillInput("SQL", required=True), SkillInput("Baking", required=False)]
    only_required = await compare(["SQL"], job)
    only_optional = await compare(["Baking"], job)
    assert only_required.overall_score == pytest.approx(1.0 / 1.5)
    assert only_optional.overall_score == pytest.approx(0.5 / 1.5)
    assert [m.required for m in only_required.best_matches] == [True, False]


async def test_duplicates_count_once_keep_the_first_spelling_and_required_wins() -> None:
    job = [SkillInput("Apache Spark", required=False), SkillInput("apache spark", required=True), "Baking"]
    result = await compare(["PySpark"], job)
    assert [(m.job_skill, m.required) for m in result.best_matches] == [("Apache Spark", True), ("Baking", True)]
    assert result.overall_score == pytest.approx(0.8 / 2)


async def test_empty_resume_leaves_every_job_skill_missing() -> None:
    embed = TableEmbed(VECTORS)
    result = await compare([], ["SQL", "Baking"], embed=embed)
    assert result.missing_skills == ["SQL", "Baking"] and result.matches == []
    assert all(m.resume_skill == "" and m.score == 0.0 and m.kind == MatchKind.MISSING for m in result.best_matches)
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


def test_bad_skill_details_name_the_field() -> None:
    skills = [
        SkillInput("SQL"),
        SkillInput(" "),
        SkillInput("SQL", skill_id="x" * 301),
        SkillInput("a", evidence="e" * 1001),
    ]
    with pytest.raises(InvalidArgument) as info:
        core.validate_skill_inputs("job_skill_details", skills, required=True)
    assert [v.field for v in info.value.violations] == [
        "job_skill_details[1].name",
        "job_skill_details[2].skill_id",
        "job_skill_details[3].evidence",
    ]


def test_embed_texts_are_validated() -> None:
    assert core.validate_texts(["a", "b"], max_chars=10) == ["a", "b"]
    for texts, field in [([], "texts"), (["a"] * 257, "texts"), (["ok", ""], "texts[1]"), (["x" * 11], "texts[0]")]:
        with pytest.raises(InvalidArgument) as info:
            core.validate_texts(texts, max_chars=10)
        assert [v.field for v in info.value.violations] == [field]
