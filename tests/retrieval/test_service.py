"""The retrieval service over real gRPC with the real MiniLM model: exact index and Pinecone wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from skillbridge.retrieval.v1 import retrieval_service_pb2 as pb
from skillbridge.retrieval.v1 import retrieval_service_pb2_grpc as pb_grpc

from services.common.catalog import CatalogError
from services.common.embedding import MiniLmEmbedder
from services.common.settings import Settings
from services.retrieval.catalog_import import import_catalog
from services.retrieval.server import start

pytestmark = pytest.mark.ml


@pytest.fixture
async def stub(settings: Settings, minilm: MiniLmEmbedder) -> AsyncIterator[pb_grpc.RetrievalServiceAsyncStub]:
    running = await start(settings, port=0, embedder=minilm)
    async with grpc.aio.insecure_channel(running.address) as channel:
        yield pb_grpc.RetrievalServiceStub(channel)
    await running.stop(0)


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR))
    return [v.field for v in bad.field_violations]


async def test_each_query_finds_the_courses_that_teach_it(stub: Any) -> None:
    reply = await stub.SearchCourses(
        pb.SearchCoursesRequest(queries=["Kubernetes", "PostgreSQL", "PySpark", "Microsoft Excel"], top_k=3)
    )
    assert [r.query for r in reply.results] == ["Kubernetes", "PostgreSQL", "PySpark", "Microsoft Excel"]
    tops = [r.courses[0].course.id for r in reply.results]
    assert tops[0] in {"k8s-101", "k8s-adv"} and tops[1:] == ["pg-1", "spark-1", "excel-1"]
    assert {c.course.id for c in reply.results[0].courses[:2]} == {"k8s-101", "k8s-adv"}
    for result in reply.results:
        scores = [c.score for c in result.courses]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)


async def test_course_fields_come_back_whole(stub: Any) -> None:
    reply = await stub.SearchCourses(pb.SearchCoursesRequest(queries=["Terraform infrastructure as code"], top_k=1))
    course = reply.results[0].courses[0].course
    assert course.id == "tf-1" and course.provider == "HashiCorp" and list(course.skills) == ["Terraform", "AWS"]
    assert course.level == "intermediate" and course.duration_hours == 10 and course.url == "https://example.com/tf-1"


async def test_filters_restrict_results_and_top_k_zero_means_five(stub: Any) -> None:
    reply = await stub.SearchCourses(
        pb.SearchCoursesRequest(queries=["Kubernetes"], filter=pb.CourseFilter(levels=["Advanced"]))
    )
    courses = [c.course for c in reply.results[0].courses]
    assert courses[0].id == "k8s-adv" and {c.level for c in courses} == {"advanced"} and len(courses) == 2
    reply = await stub.SearchCourses(pb.SearchCoursesRequest(queries=["cloud"]))
    assert len(reply.results[0].courses) == 5
    reply = await stub.SearchCourses(
        pb.SearchCoursesRequest(
            queries=["containers"], filter=pb.CourseFilter(max_duration_hours=6, providers=["udemy"])
        )
    )
    assert [c.course.id for c in reply.results[0].courses] == ["docker-1"]


async def test_bad_requests_are_invalid_argument_naming_the_field(stub: Any) -> None:
    for request, fields in [
        (pb.SearchCoursesRequest(), ["queries"]),
        (pb.SearchCoursesRequest(queries=["Go", ""]), ["queries[1]"]),
        (pb.SearchCoursesRequest(queries=["Go"], top_k=51), ["top_k"]),
        (pb.SearchCoursesRequest(queries=["Go"], filter=pb.CourseFilter(levels=["guru"])), ["filter.levels[0]"]),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SearchCourses(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(info.value) == fields


async def test_courses_listing_the_skill_come_first_by_any_of_its_names(stub: Any) -> None:
    # "k8s" is an alias of Kubernetes in the bundled vocabulary: both Kubernetes courses list it.
    reply = await stub.SearchCourses(pb.SearchCoursesRequest(queries=["k8s", "Helm"], top_k=3))
    k8s, helm = reply.results
    assert {c.course.id for c in k8s.courses[:2]} == {"k8s-101", "k8s-adv"}
    assert helm.courses[0].course.id == "k8s-101" and "Helm" in helm.courses[0].course.skills
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.SearchCourses(pb.SearchCoursesRequest(queries=["Go"], filter=pb.CourseFilter(fields=[" "])))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(info.value) == ["filter.fields[0]"]


async def test_get_catalog_describes_the_exact_index(stub: Any, catalog_file: Path) -> None:
    reply = await stub.GetCatalog(pb.GetCatalogRequest())
    assert (reply.course_count, reply.source, reply.backend) == (14, str(catalog_file), "exact")
    assert len(list(catalog_file.parent.glob(".courses.jsonl.vectors-*.npy"))) == 1


async def test_an_imported_catalog_is_served_after_restart(
    settings: Settings, minilm: MiniLmEmbedder, tmp_path: Path
) -> None:
    source = tmp_path / "mine.csv"
    source.write_text(
        "id,title,provider,description,skills,level,duration_hours,url\n"
        "r1,Rust in Practice,Acme,Ownership and lifetimes,Rust,beginner,12,https://x/r1\n"
        "b1,Sourdough Baking,Acme,Bread at home,Baking,beginner,3,https://x/b1\n"
    )
    import_catalog(settings, source)
    running = await start(settings, port=0, embedder=minilm)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            client = pb_grpc.RetrievalServiceStub(channel)
            catalog = await client.GetCatalog(pb.GetCatalogRequest())
            reply = await client.SearchCourses(pb.SearchCoursesRequest(queries=["Rust programming"], top_k=1))
    finally:
        await running.stop(0)
    assert (catalog.course_count, catalog.source) == (2, str(settings.imported_catalog_path))
    assert reply.results[0].courses[0].course.id == "r1"


async def test_a_missing_catalog_fails_start_clearly(
    settings: Settings, minilm: MiniLmEmbedder, tmp_path: Path
) -> None:
    missing = settings.replace(catalog_path=tmp_path / "none.jsonl")
    with pytest.raises(CatalogError, match="catalog import"):
        await start(missing, port=0, embedder=minilm)


async def test_pinecone_serves_searches_when_an_api_key_is_set(
    settings: Settings, minilm: MiniLmEmbedder, pinecone_server: Any
) -> None:
    configured = settings.replace(pinecone_api_key="test-key", pinecone_host=pinecone_server.host)
    running = await start(configured, port=0, embedder=minilm)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            client = pb_grpc.RetrievalServiceStub(channel)
            catalog = await client.GetCatalog(pb.GetCatalogRequest())
            reply = await client.SearchCourses(
                pb.SearchCoursesRequest(queries=["Kubernetes"], top_k=3, filter=pb.CourseFilter(levels=["advanced"]))
            )
            pinecone_server.mode = "fail"
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.SearchCourses(pb.SearchCoursesRequest(queries=["Kubernetes"]))
    finally:
        await running.stop(0)
    assert catalog.backend == "pinecone" and catalog.course_count == 14
    assert len(pinecone_server.namespaces["courses"]) == 14
    assert [c.course.id for c in reply.results[0].courses] == ["k8s-adv", "dl-1"]
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
