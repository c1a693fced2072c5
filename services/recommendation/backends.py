"""Rankers behind one Protocol: the local greedy cover, and Cohere (rerank + chat) with a local fallback.

The Cohere ranker asks rerank to order the candidates by relevance to the missing skills, lets the same greedy
cover pick from that order (so the plan still covers the gap and never repeats itself), and asks chat for the
summary text. Any error or a reply slower than `cohere_timeout_seconds` gives the local plan instead, with the
reason recorded in `fallback_reason`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from services.common.catalog import Course
from services.common.taxonomy import Taxonomy, load_optional_taxonomy
from services.recommendation import core
from services.recommendation.model import Recommendation, RecommendedCourse, RecommendRequest
from services.recommendation.settings import RecommendationSettings

log = logging.getLogger(__name__)

# Cohere rerank takes at most 1,000 documents per call; we send at most core.MAX_CANDIDATES (500).
_MAX_DOCUMENT_CHARS = 1500
_MAX_REASON_CHARS = 200
VOCABULARY_FILE = "skills.jsonl"


class Ranker(Protocol):
    """Turns a validated request into a plan."""

    async def recommend(self, request: RecommendRequest) -> Recommendation:
        """The plan for `request`; never raises for a remote failure (it falls back instead)."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


class RemoteAssistant(Protocol):
    """What the remote ranker needs from a language-model API."""

    async def rerank(self, query: str, documents: Sequence[str]) -> list[int]:
        """Indexes of `documents`, most relevant first."""
        ...

    async def write(self, prompt: str) -> str:
        """A short text answering `prompt`."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


class LocalRanker:
    """The deterministic greedy cover of core.py: the embedded default."""

    async def recommend(self, request: RecommendRequest) -> Recommendation:
        return core.recommend_validated(request)

    async def close(self) -> None:
        return None


class CohereAssistant:
    """Cohere's v2 API (rerank and chat) through the official async client."""

    def __init__(self, *, api_key: str, base_url: str, chat_model: str, rerank_model: str, timeout: float) -> None:
        # Imported here: the SDK is only needed with a key, and its import takes most of a second.
        import cohere

        # We own the HTTP client so that close() can release it. The async client keeps the event loop
        # free while we wait. Retries are off: the whole remote step has one time budget, and the local
        # ranker is a fine answer when Cohere is having a bad moment.
        self._http = httpx.AsyncClient(timeout=timeout)
        self._client: Any = cohere.AsyncClientV2(
            api_key=api_key,
            base_url=base_url or None,
            timeout=timeout,
            max_retries=0,
            httpx_client=self._http,
        )
        self._chat_model = chat_model
        self._rerank_model = rerank_model

    async def rerank(self, query: str, documents: Sequence[str]) -> list[int]:
        reply = await self._client.rerank(
            model=self._rerank_model, query=query, documents=list(documents), top_n=len(documents)
        )
        return [int(result.index) for result in reply.results]

    async def write(self, prompt: str) -> str:
        reply = await self._client.chat(
            model=self._chat_model, messages=[{"role": "user", "content": prompt}], temperature=0.2
        )
        parts = reply.message.content or []
        return " ".join(str(part.text) for part in parts if getattr(part, "type", "") == "text").strip()

    async def close(self) -> None:
        await self._http.aclose()


def course_document(course: Course) -> str:
    """The text rerank scores a course by: title, skills, level and description."""
    text = f"{course.title}. Skills: {', '.join(course.skills)}. Level: {course.level or 'any'}. "
    text += course.description
    return text[:_MAX_DOCUMENT_CHARS]


def rerank_query(request: RecommendRequest) -> str:
    """What the candidates are ranked against: the gap."""
    return f"A course that teaches {core.join_names(list(request.missing_skills))}."


def summary_prompt(request: RecommendRequest, plan: Sequence[RecommendedCourse], facts: str) -> str:
    """The chat prompt for the summary; `facts` is the local summary, so the model restates true numbers."""
    lines = [
        "You write the summary of a learning plan for a job applicant. Write 2 or 3 plain sentences,",
        "no lists, no markdown. Mention which missing skills the plan covers and any it does not.",
        "Do not invent courses.",
        f"Missing skills: {', '.join(request.missing_skills)}.",
        "Recommended courses:",
    ]
    for rec in plan:
        lines.append(f"- {rec.course.title} ({rec.course.provider}): covers {', '.join(rec.covered_skills)}")
    lines.append(f"Facts to keep: {facts}")
    return "\n".join(lines)


def _short_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "cohere: timed out"
    status = getattr(exc, "status_code", None)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(status, int):
        # The SDK raises ApiError with the 2xx status when the body does not parse.
        text = f"invalid reply (HTTP {status})" if 200 <= status < 300 else f"HTTP {status}"
    return f"cohere: {type(exc).__name__}: {text}"[:_MAX_REASON_CHARS]


class CohereRanker:
    """Rerank orders the candidates, the greedy cover picks from that order, chat writes the summary."""

    def __init__(self, assistant: RemoteAssistant, *, timeout: float) -> None:
        self._assistant = assistant
        self._timeout = timeout

    async def recommend(self, request: RecommendRequest) -> Recommendation:
        if not request.missing_skills or not request.candidates:
            # Nothing to rank: the local answer is the whole answer, and no remote call is spent on it.
            return core.recommend_validated(request)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._remote(request)
        except Exception as exc:  # any remote failure means the local plan, never a failed stage
            reason = _short_reason(exc)
            log.warning("falling back to the local ranker: %s", reason)
            return core.recommend_validated(request, fallback_reason=reason)

    async def _remote(self, request: RecommendRequest) -> Recommendation:
        documents = [course_document(c) for c in request.candidates]
        order = await self._assistant.rerank(rerank_query(request), documents)
        if not order or any(i < 0 or i >= len(documents) for i in order):
            raise ValueError(f"rerank returned bad indexes {order[:10]}")
        # Candidates rerank left out keep their original order after the ranked ones.
        order = list(dict.fromkeys([*order, *range(len(documents))]))
        ranked = dataclasses.replace(request, candidates=tuple(request.candidates[i] for i in order))
        plan = core.build_plan(ranked, ranked=True)
        facts = core.summarize(ranked, plan)
        summary = await self._assistant.write(summary_prompt(ranked, plan, facts))
        if not summary:
            raise ValueError("chat returned an empty summary")
        return Recommendation(
            plan, summary, backend="cohere", fallback_reason="", uncovered_skills=request.uncovered_skills
        )

    async def close(self) -> None:
        await self._assistant.close()


def load_vocabulary(settings: RecommendationSettings) -> Taxonomy | None:
    """The skill vocabulary in data/ (skills.jsonl); None, with a warning, when it is missing or unreadable:
    recommendations then compare skill names as written."""
    return load_optional_taxonomy(settings.data_dir / VOCABULARY_FILE, "comparing skill names as written")


def build_ranker(settings: RecommendationSettings) -> Ranker:
    """Cohere when an API key is configured, the local ranker otherwise."""
    if not settings.cohere_api_key:
        return LocalRanker()
    assistant = CohereAssistant(
        api_key=settings.cohere_api_key,
        base_url=settings.cohere_base_url,
        chat_model=settings.cohere_chat_model,
        rerank_model=settings.cohere_rerank_model,
        timeout=settings.cohere_timeout_seconds,
    )
    log.info("recommendation ranker: cohere (%s, %s)", settings.cohere_rerank_model, settings.cohere_chat_model)
    return CohereRanker(assistant, timeout=settings.cohere_timeout_seconds)
