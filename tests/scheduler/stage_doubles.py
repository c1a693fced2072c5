"""Test doubles of the four stage services, served over real gRPC, whose answers are simple and whose
behaviour (delay, fail with a code, hang) each test programs. They stand in for the ML services only in the
scheduler's tests, which are about queueing and dispatch, not about the models."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from skillbridge.common.v1 import course_pb2
from skillbridge.ner.v1 import ner_service_pb2 as ner
from skillbridge.ner.v1 import ner_service_pb2_grpc as ner_grpc
from skillbridge.recommendation.v1 import recommendation_service_pb2 as rec
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as rec_grpc
from skillbridge.retrieval.v1 import retrieval_service_pb2 as ret
from skillbridge.retrieval.v1 import retrieval_service_pb2_grpc as ret_grpc
from skillbridge.similarity.v1 import similarity_service_pb2 as sim
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as sim_grpc

VOCABULARY = ["Python", "SQL", "Docker", "Kubernetes", "Kafka", "Spark", "Airflow", "Terraform"]


@dataclass
class Behavior:
    delay: float = 0.0
    fail_code: grpc.StatusCode | None = None
    fail_times: int = 0  # fail this many calls, then answer; -1: always fail
    hang: bool = False
    gate: asyncio.Event | None = None  # answer only once this is set


@dataclass
class StageDoubles:
    """Programmable behaviour per RPC name, with call counts and started/cancelled signals."""

    behaviors: dict[str, Behavior] = field(default_factory=dict)
    # False: CompareSkills answers as a similarity service of the round before explained matches did.
    explain_matches: bool = True
    # Skills no course of the catalog teaches: SearchCourses finds nothing for them.
    unteachable: set[str] = field(default_factory=set)
    # What the last SearchCourses and RecommendCourses were asked, for tests of what the pipeline passes on.
    requests: dict[str, Any] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    started: dict[str, asyncio.Event] = field(default_factory=dict)
    cancelled: dict[str, asyncio.Event] = field(default_factory=dict)

    def signal(self, name: str) -> asyncio.Event:
        return self.started.setdefault(name, asyncio.Event())

    def was_cancelled(self, name: str) -> asyncio.Event:
        return self.cancelled.setdefault(name, asyncio.Event())

    async def act(self, name: str, context: Any) -> None:
        self.calls[name] += 1
        self.signal(name).set()
        b = self.behaviors.get(name, Behavior())
        try:
            if b.hang:
                await asyncio.Event().wait()
            if b.gate is not None:
                await b.gate.wait()
            if b.delay:
                await asyncio.sleep(b.delay)
        except asyncio.CancelledError:
            self.was_cancelled(name).set()
            raise
        if b.fail_code is not None and (b.fail_times < 0 or self.calls[name] <= b.fail_times):
            await context.abort(b.fail_code, f"{name} double told to fail")


def _skills(text: str) -> list[str]:
    lower = text.lower()
    return [s for s in VOCABULARY if s.lower() in lower]


class Ner(ner_grpc.NerServiceServicer):
    def __init__(self, d: StageDoubles) -> None:
        self.d = d

    async def ExtractEntities(self, request: Any, context: Any) -> Any:
        await self.d.act("ExtractEntities", context)
        docs = [
            ner.DocumentEntities(entities=[ner.Entity(text=t[:5], label="ORG", start_char=0, end_char=5)])
            for t in request.texts
        ]
        return ner.ExtractEntitiesResponse(documents=docs)

    async def ExtractSkills(self, request: Any, context: Any) -> Any:
        await self.d.act("ExtractSkills", context)
        docs = []
        for i, text in enumerate(request.texts):
            # A text marked as a job ad gets what the real service reads from one: required flags and a field.
            ad = i < len(request.kinds) and request.kinds[i] == ner.DOCUMENT_KIND_JOB_DESCRIPTION
            skills = [
                ner.ExtractedSkill(name=s, count=1, skill_id=f"double:{s.lower()}", required=True, evidence=s)
                for s in _skills(text)
            ]
            docs.append(ner.DocumentSkills(skills=skills, field="software" if ad else ""))
        return ner.ExtractSkillsResponse(documents=docs)


class Similarity(sim_grpc.SimilarityServiceServicer):
    def __init__(self, d: StageDoubles) -> None:
        self.d = d

    async def CompareSkills(self, request: Any, context: Any) -> Any:
        await self.d.act("CompareSkills", context)
        self.d.requests["CompareSkills"] = request
        have = set(request.resume_skills)
        matches = [
            course_pb2.SkillMatch(job_skill=s, resume_skill=s, score=1.0) for s in request.job_skills if s in have
        ]
        missing = [s for s in request.job_skills if s not in have]
        score = len(matches) / max(len(request.job_skills), 1)
        best = [
            course_pb2.SkillMatch(
                job_skill=d.name,
                resume_skill=d.name if d.name in have else "",
                score=1.0 if d.name in have else 0.0,
                kind=course_pb2.MATCH_KIND_EXACT if d.name in have else course_pb2.MATCH_KIND_MISSING,
                required=d.required,
                skill_id=d.skill_id,
            )
            for d in request.job_skill_details
            if self.d.explain_matches
        ]
        return sim.CompareSkillsResponse(
            matches=matches,
            missing_skills=missing,
            overall_score=score,
            best_matches=best,
            calibrated_threshold=request.threshold * 0.8,
        )


class Retrieval(ret_grpc.RetrievalServiceServicer):
    def __init__(self, d: StageDoubles) -> None:
        self.d = d

    async def SearchCourses(self, request: Any, context: Any) -> Any:
        await self.d.act("SearchCourses", context)
        self.d.requests["SearchCourses"] = request
        results = []
        for q in request.queries:
            if q in self.d.unteachable:
                results.append(ret.QueryResult(query=q))
                continue
            course = course_pb2.Course(
                id=f"c-{q.lower()}",
                title=f"Learn {q}",
                skills=[q],
                level="beginner",
                url=f"https://courses.example.org/learn-{q.lower()}",
            )
            results.append(ret.QueryResult(query=q, courses=[ret.ScoredCourse(course=course, score=0.9)]))
        return ret.SearchCoursesResponse(results=results)


class Recommendation(rec_grpc.RecommendationServiceServicer):
    def __init__(self, d: StageDoubles) -> None:
        self.d = d

    async def RecommendCourses(self, request: Any, context: Any) -> Any:
        await self.d.act("RecommendCourses", context)
        self.d.requests["RecommendCourses"] = request
        courses = [
            rec.RecommendedCourse(course=c, covered_skills=list(c.skills), rationale=f"Covers {', '.join(c.skills)}")
            for c in request.candidates
        ]
        taught = {s for c in request.candidates for s in c.skills}
        uncovered = [s for s in request.missing_skills if s not in taught]
        return rec.RecommendCoursesResponse(
            courses=courses, summary="plan", backend="double", uncovered_skills=uncovered
        )

    async def ScoreCourses(self, request: Any, context: Any) -> Any:
        await self.d.act("ScoreCourses", context)
        share = 1 / max(len(request.job_skills), 1)
        scores = [
            rec.CourseScore(course_id=c.id, potential_score=request.current_score + share, score_improvement=share)
            for c in request.courses
        ]
        return rec.ScoreCoursesResponse(scores=scores)


async def start_stage_doubles(doubles: StageDoubles) -> tuple[grpc.aio.Server, str]:
    """All four services on one server bound to a free port; returns the server and its address."""
    server = grpc.aio.server()
    ner_grpc.add_NerServiceServicer_to_server(Ner(doubles), server)
    sim_grpc.add_SimilarityServiceServicer_to_server(Similarity(doubles), server)
    ret_grpc.add_RetrievalServiceServicer_to_server(Retrieval(doubles), server)
    rec_grpc.add_RecommendationServiceServicer_to_server(Recommendation(doubles), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


SERVICERS: dict[str, tuple[Callable[[StageDoubles], Any], Callable[[Any, grpc.aio.Server], None], str]] = {
    "ner": (Ner, ner_grpc.add_NerServiceServicer_to_server, "skillbridge.ner.v1.NerService"),
    "similarity": (
        Similarity,
        sim_grpc.add_SimilarityServiceServicer_to_server,
        "skillbridge.similarity.v1.SimilarityService",
    ),
    "retrieval": (
        Retrieval,
        ret_grpc.add_RetrievalServiceServicer_to_server,
        "skillbridge.retrieval.v1.RetrievalService",
    ),
    "recommendation": (
        Recommendation,
        rec_grpc.add_RecommendationServiceServicer_to_server,
        "skillbridge.recommendation.v1.RecommendationService",
    ),
}


@dataclass
class ServiceDouble:
    """One stage service's double on a server of its own with the gRPC health service, as a real stage server
    registers it; it can be stopped and started again on the same port (a restart)."""

    doubles: StageDoubles
    service: str
    port: int = 0
    server: grpc.aio.Server | None = None
    health: HealthServicer | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        build, add, name = SERVICERS[self.service]
        server = grpc.aio.server()
        add(build(self.doubles), server)
        health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        await server.start()
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.server, self.health = server, health

    async def set_serving(self, serving: bool) -> None:
        assert self.health is not None
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set(SERVICERS[self.service][2], status)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = self.health = None


async def _serve(port: int, delay: float) -> None:
    doubles = StageDoubles()
    for name in ("ExtractEntities", "ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses"):
        doubles.behaviors[name] = Behavior(delay=delay)
    server = grpc.aio.server()
    ner_grpc.add_NerServiceServicer_to_server(Ner(doubles), server)
    sim_grpc.add_SimilarityServiceServicer_to_server(Similarity(doubles), server)
    ret_grpc.add_RetrievalServiceServicer_to_server(Retrieval(doubles), server)
    rec_grpc.add_RecommendationServiceServicer_to_server(Recommendation(doubles), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    # A stage replica as its own process, so a test can kill it with SIGKILL like a real one:
    #   python -m tests.scheduler.stage_doubles PORT DELAY_SECONDS
    import sys

    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2])))
