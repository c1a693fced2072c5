"""The Cohere back-end against a local server that answers in the v2 API's documented shapes.

Success: the plan follows rerank's order and the summary is chat's text. A 500, an unparsable reply, a bad
rerank index or a reply slower than the timeout: the local plan, with the fallback recorded.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from skillbridge.common.v1 import course_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2 as pb
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.catalog import Course
from services.common.course_proto import course_to_proto
from services.common.settings import Settings
from services.recommendation import core
from services.recommendation.backends import CohereAssistant, CohereRanker, LocalRanker, build_ranker
from services.recommendation.server import start

MISSING = ["Apache Kafka", "Kubernetes", "Terraform"]


def candidates() -> list[Course]:
    # Same level and duration, one gap skill each: the local ranker keeps input order, so an answer in
    # reverse order can only come from rerank.
    return [
        Course(f"c-{i}", f"{skill} in Practice", "Test U", f"Learn {skill}.", (skill,), "beginner", 10, "https://x/")
        for i, skill in enumerate(MISSING)
    ] + [Course("c-x", "Cooking", "Test U", "Pasta.", ("Cooking",), "beginner", 3, "https://x/")]


def request() -> pb.RecommendCoursesRequest:
    return pb.RecommendCoursesRequest(
        missing_skills=MISSING,
        resume_skills=["Python"],
        job_skills=["Python", *MISSING],
        candidates=[course_to_proto(c) for c in candidates()],
        max_courses=5,
    )


def cohere_settings(url: str, timeout: float = 5.0) -> Settings:
    return Settings.from_env(
        {},
        cohere_api_key="test-key",
        cohere_base_url=url,
        cohere_timeout_seconds=timeout,
        cohere_chat_model="command-a-03-2025",
        cohere_rerank_model="rerank-v3.5",
    )


async def recommend_over_grpc(settings: Settings) -> pb.RecommendCoursesResponse:
    running = await start(settings, port=0)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = pb_grpc.RecommendationServiceStub(channel)
            return await stub.RecommendCourses(request(), timeout=30)
    finally:
        await running.stop(0)


async def test_success_follows_rerank_order_and_uses_chat_summary(fake_cohere: Any) -> None:
    reply = await recommend_over_grpc(cohere_settings(fake_cohere.url))
    assert reply.backend == "cohere"
    assert reply.fallback_reason == ""
    # The fake ranks the last document first: the cooking course, which covers nothing and is skipped.
    assert [c.course.id for c in reply.courses] == ["c-2", "c-1", "c-0"]
    assert [list(c.covered_skills) for c in reply.courses] == [["Terraform"], ["Kubernetes"], ["Apache Kafka"]]
    assert reply.courses[0].rationale.startswith("Covers Terraform, 1 of the 3 skills")
    assert reply.summary == "Start with the Kafka course, then add Kubernetes; together they close most of the gap."

    assert fake_cohere.paths() == ["/v2/rerank", "/v2/chat"]
    _, headers, rerank = fake_cohere.requests[0]
    assert headers["Authorization"] == "Bearer test-key"
    assert rerank["model"] == "rerank-v3.5"
    assert all(skill in rerank["query"] for skill in MISSING)
    assert len(rerank["documents"]) == 4
    assert rerank["documents"][0].startswith("Apache Kafka in Practice. Skills: Apache Kafka.")
    assert rerank["top_n"] == 4
    _, _, chat = fake_cohere.requests[1]
    assert chat["model"] == "command-a-03-2025"
    prompt = chat["messages"][0]["content"]
    assert chat["messages"][0]["role"] == "user"
    assert "Terraform in Practice" in prompt and "covers 3 of the 3 skills" in prompt


async def test_local_plan_differs_so_the_order_test_means_something() -> None:
    local = await LocalRanker().recommend(
        core.validate_request(MISSING, ["Python"], ["Python", *MISSING], candidates(), 5)
    )
    assert [c.course.id for c in local.courses] == ["c-0", "c-1", "c-2"]


@pytest.mark.parametrize(
    ("mode", "reason_part"),
    [("error", "HTTP 500"), ("garbage", "invalid reply (HTTP 200)"), ("bad_index", "bad indexes")],
)
async def test_remote_failure_falls_back_to_the_local_plan(fake_cohere: Any, mode: str, reason_part: str) -> None:
    fake_cohere.mode = mode
    reply = await recommend_over_grpc(cohere_settings(fake_cohere.url))
    assert reply.backend == "local"
    assert reply.fallback_reason.startswith("cohere: ")
    assert reason_part in reply.fallback_reason
    assert [c.course.id for c in reply.courses] == ["c-0", "c-1", "c-2"]
    assert "covers 3 of the 3 skills" in reply.summary
    # No retries: one failed call is enough to fall back.
    assert fake_cohere.paths() == ["/v2/rerank"]


async def test_reply_slower_than_the_timeout_falls_back(fake_cohere: Any) -> None:
    fake_cohere.mode = "slow"
    started = time.perf_counter()
    reply = await recommend_over_grpc(cohere_settings(fake_cohere.url, timeout=0.5))
    elapsed = time.perf_counter() - started
    assert reply.backend == "local"
    assert reply.fallback_reason == "cohere: timed out"
    assert [c.course.id for c in reply.courses] == ["c-0", "c-1", "c-2"]
    assert elapsed < 5, "the fallback must come soon after the timeout, not after the server answers"


async def test_unreachable_server_falls_back() -> None:
    # Port 9 (discard) has no listener here: the connection is refused at once.
    assistant = CohereAssistant(
        api_key="k", base_url="http://127.0.0.1:9", chat_model="m", rerank_model="r", timeout=2.0
    )
    ranker = CohereRanker(assistant, timeout=2.0)
    try:
        result = await ranker.recommend(core.validate_request(MISSING, [], MISSING, candidates(), 5))
    finally:
        await ranker.close()
    assert result.backend == "local"
    assert result.fallback_reason.startswith("cohere: ")
    assert len(result.courses) == 3


def test_without_a_key_the_local_ranker_is_used() -> None:
    assert isinstance(build_ranker(Settings.from_env({})), LocalRanker)


async def test_without_a_key_the_service_answers_locally_with_no_reason() -> None:
    reply = await recommend_over_grpc(Settings.from_env({}))
    assert reply.backend == "local"
    assert reply.fallback_reason == ""


async def test_nothing_to_rank_makes_no_remote_call(fake_cohere: Any) -> None:
    settings = cohere_settings(fake_cohere.url)
    running = await start(settings, port=0)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = pb_grpc.RecommendationServiceStub(channel)
            reply = await stub.RecommendCourses(
                pb.RecommendCoursesRequest(missing_skills=[], candidates=[course_pb2.Course(id="a")]), timeout=10
            )
    finally:
        await running.stop(0)
    assert list(reply.courses) == []
    assert fake_cohere.requests == []
