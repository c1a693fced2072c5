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
from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import MiniLmEmbedder
from services.common.settings import Settings
from services.similarity.server import SERVICE_NAME, start

pytestmark = pytest.mark.ml


@pytest.fixture
async def channel(minilm: MiniLmEmbedder, tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    # A data dir with a two-skill taxonomy: enough to see canonical names and pre-embedding at work.
    (tmp_path / "skills.jsonl").write_text(
        json.dumps({"name": "Kubernetes", "category": "Cloud", "aliases": ["k8s"]})
        + "\n"
        + json.dumps({"name": "PostgreSQL", "category": "Databases", "aliases": []})
        + "\n"
    )
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


async def test_postgresql_matches_postgres_and_kubernetes_does_not_match_excel(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.CompareSkills(
        pb.CompareSkillsRequest(
            resume_skills=["Postgres", "Excel"], job_skills=["PostgreSQL", "Kubernetes"], threshold=0.5
        )
    )
    assert [(m.job_skill, m.resume_skill) for m in reply.matches] == [("PostgreSQL", "Postgres")]
    assert reply.matches[0].score > 0.8
    assert list(reply.missing_skills) == ["Kubernetes"]
    assert [m.job_skill for m in reply.best_matches] == ["PostgreSQL", "Kubernetes"]
    assert reply.best_matches[1].score < 0.5
    assert reply.overall_score == pytest.approx(reply.matches[0].score / 2)


async def test_taxonomy_alias_is_an_exact_match(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.SimilarityServiceStub(channel)
    reply = await stub.CompareSkills(pb.CompareSkillsRequest(resume_skills=["k8s"], job_skills=["Kubernetes"]))
    assert [(m.resume_skill, m.score) for m in reply.matches] == [("k8s", 1.0)]
    assert reply.overall_score == 1.0


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
        *(stub.CompareSkills(pb.CompareSkillsRequest(resume_skills=[r], job_skills=[j])) for r, j in pairs)
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
