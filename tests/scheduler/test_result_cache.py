"""The result cache: an analysis whose inputs, model and data versions match a finished one of the same owner
is answered at once, as a new job marked as cached; skip_cache runs it anyway; anything else runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler import admission, core
from services.scheduler.model import CourseInput, JobState, JobType
from services.scheduler.server import SchedulerServer, start
from services.scheduler.store.base import JobStore
from services.scheduler.versions import ResultVersions, cache_key, code_hash
from tests.scheduler.grpc_helpers import course_request, events_of, watch_all
from tests.scheduler.stage_doubles import StageDoubles
from tests.scheduler.store_support import create
from tests.scheduler.test_store_contract import store  # noqa: F401 - the parametrized store fixture

Stub = pb_grpc.JobSchedulerServiceStub
KEYS = "ka=ann:standard,kb=bob:standard"


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "skills.jsonl").write_text('{"name": "Python"}\n')
    return folder


@pytest.fixture
async def keyed(stage_settings: Settings, data_dir: Path) -> AsyncIterator[SchedulerServer]:
    settings = stage_settings.replace(api_keys=KEYS, data_dir=data_dir, catalog_path=data_dir / "c.jsonl")
    server = await start(settings, port=0)
    yield server
    await server.stop(0.1)


@pytest.fixture
async def cache_stub(keyed: SchedulerServer) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(keyed.address) as channel:
        yield pb_grpc.JobSchedulerServiceStub(channel)


async def run(stub: Stub, request: pb.SubmitJobRequest, key: str = "ka") -> job_pb2.Job:
    submitted = await stub.SubmitJob(request, metadata=bearer(key))
    await watch_all(stub, submitted.job.id, metadata=bearer(key))
    return (await stub.GetJob(pb.GetJobRequest(job_id=submitted.job.id), metadata=bearer(key))).job


async def test_an_identical_analysis_is_answered_from_the_cache(
    cache_stub: Stub, doubles: tuple[StageDoubles, str]
) -> None:
    first = await run(cache_stub, course_request())
    assert first.state == job_pb2.JOB_STATE_SUCCEEDED and not first.cached_from_job_id
    calls = sum(doubles[0].calls.values())
    again = await cache_stub.SubmitJob(course_request(), metadata=bearer("ka"))
    job = again.job
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED and job.id != first.id
    assert job.cached_from_job_id == first.id
    assert job.course_recommendation_result == first.course_recommendation_result
    events = events_of(await watch_all(cache_stub, job.id, metadata=bearer("ka")))
    assert [e.WhichOneof("kind") for e in events] == ["succeeded"]
    assert events[0].succeeded.cached_from_job_id == first.id
    assert sum(doubles[0].calls.values()) == calls  # no stage ran


async def test_skip_cache_other_owners_and_other_inputs_run_again(cache_stub: Stub, data_dir: Path) -> None:
    first = await run(cache_stub, course_request())
    assert not (await run(cache_stub, course_request(skip_cache=True))).cached_from_job_id
    assert not (await run(cache_stub, course_request(), key="kb")).cached_from_job_id
    stricter = course_request()
    stricter.course_recommendation.threshold = 0.7
    assert not (await run(cache_stub, stricter)).cached_from_job_id
    # A changed vocabulary is a new data version: the old result is not served.
    (data_dir / "skills.jsonl").write_text('{"name": "Python"}\n{"name": "Rust"}\n')
    fresh = await run(cache_stub, course_request())
    assert not fresh.cached_from_job_id and fresh.id != first.id
    assert (await run(cache_stub, course_request())).cached_from_job_id == fresh.id


def test_the_fingerprint_follows_the_data_and_the_salt(tmp_path: Path) -> None:
    vocabulary = tmp_path / "skills.jsonl"
    vocabulary.write_text("a\n")
    versions = ResultVersions([vocabulary, tmp_path / "absent.jsonl"])
    first = versions.fingerprint()
    assert first == versions.fingerprint()
    vocabulary.write_text("ab\n")
    assert versions.fingerprint() != first
    assert ResultVersions([vocabulary], salt="x").fingerprint() != ResultVersions([vocabulary]).fingerprint()
    assert ResultVersions([vocabulary], cacheable=False).fingerprint() == ""
    assert ResultVersions([vocabulary], code="a").fingerprint() != ResultVersions([vocabulary], code="b").fingerprint()
    assert cache_key("r", "j", 0.5, "") == ""
    assert cache_key("r", "j", 0.5, "f") != cache_key("r", "j", 0.6, "f")


async def test_a_store_finds_the_owners_finished_job_by_its_key(store: JobStore) -> None:  # noqa: F811
    texts = CourseInput("Python", "Python and SQL", 0.5)
    sub = core.Submission(JobType.COURSE_RECOMMENDATION, texts, cache_key="k1")
    job, _ = await create(store, sub, "ann", 100.0)
    (claimed,) = await store.claim(worker="w", now=101.0, lease_seconds=10, limit=1, start=core.starter("w", 101.0, 10))
    await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, b"result-bytes", 102.0, 60.0), 102.0)
    again, created = await create(store, sub, "ann", 103.0, lookup=True)
    assert created and again.state is JobState.SUCCEEDED and again.cached_from == job.id
    assert again.result == b"result-bytes"
    other, _ = await create(store, sub, "bob", 103.0, lookup=True)
    assert other.state is JobState.QUEUED and not other.cached_from
    assert admission.UNLIMITED.max_queued == 0


def test_the_code_hash_follows_the_stage_code(tmp_path: Path) -> None:
    (tmp_path / "ner").mkdir()
    rules = tmp_path / "ner" / "rules.py"
    rules.write_text("LIMIT = 1\n")
    first = code_hash(tmp_path, ("ner",))
    assert first == code_hash(tmp_path, ("ner",))
    rules.write_text("LIMIT = 2\n")
    assert code_hash(tmp_path, ("ner",)) != first
    assert len(code_hash()) == 64  # the real services/ tree hashes
