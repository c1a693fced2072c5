"""The similarity service over real gRPC with the real MiniLM model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from skillbridge.common.v1 import course_pb2
from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import MiniLmEmbedder
from services.common.settings import Settings
from services.similarity.server import SERVICE_NAME, start

pytestmark = pytest.mark.ml


@pytest.fixture
async def channel(minilm: MiniLmEmbedder, tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    # A data dir with a small vocabulary: enough to see aliases, the covers relation and pre-embedding at work.
    skills = [
        {"id": "skillbridge:kubernetes", "name": "Kubernetes", "category": "Cloud", "aliases": ["k8s"]},
        {"id": "skillbridge:postgresql", "name": "PostgreSQL", "category": "Databases", "aliases": []},
        {"id": "skillbridge:lean-manufacturing", "name": "Lean Manufacturing", "category": "Quality",
         "aliases": ["Lean"]},
        {"id": "skillbridge:six-sigma", "name": "Six Sigma", "category": "Quality",
         "aliases": ["Lean Six Sigma Green Belt"], "covers": ["skillbridge:lean-manufacturing"]},
    ]  # fmt: skip
    (tmp_path / "skills.jsonl").write_text("".join(json.dumps(skill) + "\n" for skill in skills))
    settings = Settings.from_env({}, data_dir=tmp_path)
    running = await start(settings, port=0, embedder=minilm)
    async with grpc.aio.insecure_channel(running.address) as chan:
        yield chan
    await running.stop(0)


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return fields


async def test_health_reports_serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_lenient_threshold_lets_close_names_match_by_meaning(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.CompareSkills(
        pb.CompareSkillsRequest(
            resume_skills=["Postgres", "Excel"], job_skills=["PostgreSQL", "Kubernetes"], threshold=0.3
        )
    )
    assert reply.calibrated_threshold == pytest.approx(0.6 * Settings().similarity_calibrated_threshold)
    assert [(m.job_skill, m.resume_skill) for m in reply.matches] == [("PostgreSQL", "Postgres")]
    assert reply.matches[0].kind == course_pb2.MATCH_KIND_SEMANTIC and reply.matches[0].evidence == "Postgres"
    assert reply.matches[0].score > 0.8
    assert list(reply.missing_skills) == ["Kubernetes"]
    assert [m.job_skill for m in reply.best_matches] == ["PostgreSQL", "Kubernetes"]
    assert reply.best_matches[1].score < 0.5 and reply.best_matches[1].kind == course_pb2.MATCH_KIND_MISSING
    assert reply.overall_score == pytest.approx(reply.matches[0].score / 2)


async def test_the_default_threshold_keeps_real_gaps_missing(channel: grpc.aio.Channel) -> None:
    # The pairs that the old fixed cosine of 0.5 passed as covered: MySQL is not PostgreSQL, Git is not
    # GitHub Actions, Xcode is not Objective-C, Datadog is not Databricks, DevOps is not MLOps.
    stub = pb_grpc.SimilarityServiceStub(channel)
    job = ["PostgreSQL", "GraphQL", "GitHub Actions", "Objective-C", "Databricks", "MLOps"]
    reply = await stub.CompareSkills(
        pb.CompareSkillsRequest(resume_skills=["MySQL", "Git", "Xcode", "Datadog", "DevOps"], job_skills=job)
    )
    assert reply.calibrated_threshold == Settings().similarity_calibrated_threshold
    assert list(reply.missing_skills) == job and reply.overall_score == 0.0
    assert max(m.score for m in reply.best_matches) >= 0.5  # the model still finds them close


async def test_aliases_and_relations_match_without_the_model(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.CompareSkills(
        pb.CompareSkillsRequest(resume_skills=["k8s", "Lean Six Sigma Green Belt"], job_skills=["Kubernetes", "Lean"])
    )
    kubernetes, lean = reply.best_matches
    assert (kubernetes.resume_skill, kubernetes.kind, kubernetes.score) == ("k8s", course_pb2.MATCH_KIND_ALIAS, 1.0)
    assert kubernetes.skill_id == "skillbridge:kubernetes"
    assert (lean.resume_skill, lean.kind) == ("Lean Six Sigma Green Belt", course_pb2.MATCH_KIND_RELATED)
    assert reply.overall_score == 1.0


async def test_skill_details_carry_ids_required_flags_and_evidence(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    quote = "Ran 40 services on k8s clusters at Fabrikam."
    kubernetes_skill = course_pb2.Skill(name="Kubernetes", skill_id="skillbridge:kubernetes", evidence=quote)
    reply = await stub.CompareSkills(
        pb.CompareSkillsRequest(
            resume_skills=["ignored when details are given"],
            resume_skill_details=[kubernetes_skill],
            job_skill_details=[
                course_pb2.Skill(name="Kubernetes", skill_id="skillbridge:kubernetes", required=True),
                course_pb2.Skill(name="PostgreSQL", skill_id="skillbridge:postgresql", required=False),
            ],
        )
    )
    kubernetes, postgres = reply.best_matches
    assert (kubernetes.kind, kubernetes.evidence, kubernetes.required) == (course_pb2.MATCH_KIND_ALIAS, quote, True)
    assert (postgres.kind, postgres.evidence, postgres.required) == (course_pb2.MATCH_KIND_MISSING, "", False)
    assert postgres.skill_id == "skillbridge:postgresql"
    # The missing skill is nice to have: it weighs half as much as the required one that is covered.
    assert reply.overall_score == pytest.approx(1.0 / 1.5)


async def test_a_job_skill_the_resume_text_shows_in_other_words_is_covered_with_the_sentence_quoted(
    channel: grpc.aio.Channel,
) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    docker = course_pb2.Skill(name="Docker", evidence="Ran Docker containers on two Linux servers")
    request = pb.CompareSkillsRequest(
        resume_skill_details=[docker],
        job_skill_details=[course_pb2.Skill(name="Journey Mapping"), course_pb2.Skill(name="Kubernetes")],
        resume_text="Product designer.\n- Mapped customer journeys for the checkout flow.\n"
        "- Ran Docker containers on two Linux servers.",
    )
    journey, kubernetes = (await stub.CompareSkills(request)).best_matches
    assert (journey.kind, journey.resume_skill) == (course_pb2.MATCH_KIND_SEMANTIC, "Journey Mapping")
    assert journey.evidence == "Mapped customer journeys for the checkout flow"
    assert Settings().similarity_text_calibrated_threshold <= journey.score < 1.0
    # The Docker sentence is closer to Docker, which the resume names, than to Kubernetes: still a gap.
    assert kubernetes.kind == course_pb2.MATCH_KIND_MISSING
    # Strictness 1.0 asks for the vocabulary only; and without the text the sentence is not seen at all.
    request.threshold = 1.0
    assert [m.kind for m in (await stub.CompareSkills(request)).best_matches] == [course_pb2.MATCH_KIND_MISSING] * 2
    request.ClearField("threshold")
    request.resume_text = ""
    assert [m.kind for m in (await stub.CompareSkills(request)).best_matches] == [course_pb2.MATCH_KIND_MISSING] * 2


async def test_embed_ranks_related_sentences_above_unrelated(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.Embed(
        pb.EmbedRequest(
            texts=["Python developer with Apache Spark", "Data engineer experienced in PySpark", "Pastry chef"]
        )
    )
    assert reply.model == "all-MiniLM-L6-v2" and reply.dimensions == 384
    vectors = np.array([list(e.values) for e in reply.embeddings])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > 0.5 > 0.2 > unrelated


async def test_concurrent_compare_calls_all_get_their_own_answers(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    pairs = [("Docker", "Docker containers"), ("Excel", "Microsoft Excel"), ("Java", "Baking")] * 3
    replies = await asyncio.gather(
        # Lenient, so that the close names match by meaning and the answers differ by pair.
        *(
            stub.CompareSkills(pb.CompareSkillsRequest(resume_skills=[r], job_skills=[j], threshold=0.3))
            for r, j in pairs
        )
    )
    for (resume, job), reply in zip(pairs, replies, strict=True):
        assert reply.best_matches[0].job_skill == job and reply.best_matches[0].resume_skill == resume
    assert [bool(r.matches) for r in replies[:3]] == [True, True, False]


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (pb.CompareSkillsRequest(resume_skills=["SQL"]), ["job_skills"]),
        (pb.CompareSkillsRequest(resume_skills=["SQL"], job_skills=["SQL"], threshold=1.5), ["threshold"]),
        (pb.CompareSkillsRequest(resume_skills=["SQL", ""], job_skills=["SQL"]), ["resume_skills[1]"]),
        (pb.CompareSkillsRequest(resume_skills=["SQL"], job_skills=["SQL"] * 501), ["job_skills"]),
        (
            pb.CompareSkillsRequest(
                resume_skill_details=[course_pb2.Skill(name=" ")], job_skill_details=[course_pb2.Skill(name="SQL")]
            ),
            ["resume_skill_details[0].name"],
        ),
        (
            pb.CompareSkillsRequest(resume_skills=["SQL"], job_skills=["SQL"], resume_text="x" * 100_001),
            ["resume_text"],
        ),
    ],
)
async def test_bad_compare_requests_are_invalid_argument(
    channel: grpc.aio.Channel, request_: pb.CompareSkillsRequest, fields: list[str]
) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CompareSkills(request_)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(info.value) == fields


async def test_bad_embed_requests_are_invalid_argument(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    for texts, fields in [([], ["texts"]), (["x"] * 257, ["texts"]), (["fine", "  "], ["texts[1]"])]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Embed(pb.EmbedRequest(texts=texts))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(info.value) == fields


async def test_long_texts_are_cut_by_the_model_not_rejected(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.Embed(pb.EmbedRequest(texts=["data engineering " * 2_000]))
    assert len(reply.embeddings[0].values) == 384
