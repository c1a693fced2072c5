"""What the CLI prints, from messages built here: explained matches, a job waiting for a stage service, the queue,
progress lines (stamped with the events' own times, queue positions at most one line a second), the live display,
and scores rounded as the original browser client rounds them."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import (
    CourseRecommendationResult,
    Job,
    JobEvent,
    JobState,
    MatchKind,
    SkillMatch,
    Stage,
    StageServiceState,
    StageState,
    scores,
)
from skillbridge_client.cli_progress import LiveProgress, PlainProgress
from skillbridge_client.cli_render import analysis, queue_text, status_text

from tests.support import wait_until

CREATED = 1_800_000_000.0


def stamp(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds), nanos=int(seconds % 1 * 1e9))


def queued_snapshot(position: int) -> Job:
    return Job(id="j1", state=JobState.QUEUED, position_in_queue=position, create_time=stamp(CREATED))


def test_matches_explained_exact_plainly_fuzzy_with_what_stood_in() -> None:
    result = CourseRecommendationResult(
        job_skills=["Python", "Kubernetes", "Machine learning", "Kafka", "Call Monitoring"], skill_gap=["Kafka"]
    )
    result.matching_details.overall_score = 0.555
    result.matching_details.threshold = 0.5
    result.matching_details.job_skill_matches.extend(
        [
            SkillMatch(
                job_skill="Python",
                resume_skill="Python",
                score=1,
                kind=MatchKind.EXACT,
                required=True,
                evidence="pipelines in Python",
            ),
            SkillMatch(job_skill="Kubernetes", resume_skill="K8s", score=1, kind=MatchKind.ALIAS, required=True),
            SkillMatch(
                job_skill="Machine learning",
                resume_skill="deep learning",
                score=0.625,
                kind=MatchKind.SEMANTIC,
                required=False,
            ),
            SkillMatch(job_skill="Kafka", kind=MatchKind.MISSING, required=True),
            SkillMatch(
                job_skill="Call Monitoring",
                resume_skill="Call Monitoring",
                score=0.63,
                kind=MatchKind.SEMANTIC,
                required=False,
                evidence="listened to calls and filled in the QA scorecards",
            ),
        ]
    )
    lines = analysis(result)
    # The original client's score, as the page shows it: 3 of 4 job skills covered.
    assert lines[0] == "Match score: 80% (4 of 5 job skills)"
    assert lines[1] == "Skills the job asks for (3 required, 2 nice to have):"
    by_skill = {line.split()[1]: line for line in lines[2:7]}
    assert by_skill["Python"].split()[0] == "[exact]" and "via" not in by_skill["Python"]
    assert by_skill["Python"].endswith('"pipelines in Python"')
    assert by_skill["Kubernetes"].split()[0] == "[alias]" and "via K8s, 100%" in by_skill["Kubernetes"]
    assert by_skill["Machine"].split()[0] == "[similar]" and "nice to have" in by_skill["Machine"]
    assert "via deep learning, 63%" in by_skill["Machine"]  # 62.5 rounds up, as Math.round does
    assert by_skill["Kafka"].split()[0] == "[missing]" and by_skill["Kafka"].endswith("required")
    # found in the resume's own sentences: the sentence, not a resume skill, stood in
    assert "via the resume's words, 63%" in by_skill["Call"] and "scorecards" in by_skill["Call"]
    assert "Missing skills (1): Kafka" in lines


def test_without_explained_matches_the_plain_lists_stay() -> None:
    result = CourseRecommendationResult(skill_gap=["Kafka"])
    result.matching_details.matches.add(job_skill="Python", resume_skill="Python", score=1)
    lines = analysis(result)
    assert "Matched skills (1): Python" in lines and "Missing skills (1): Kafka" in lines


def test_course_scores_are_rounded_the_original_way() -> None:
    result = CourseRecommendationResult()
    rec = result.recommended_courses.add(potential_score=0.575, score_improvement=0.025)
    rec.course.title = "Learn Kafka"
    assert "   potential score 57.5% (+2.5 points)" in analysis(result)


def test_a_job_waiting_for_a_stage_service_says_so() -> None:
    job = Job(id="j1", state=JobState.RUNNING, waiting_for_service="ner")
    assert "waiting for the ner service to come back" in status_text(job)
    progress = PlainProgress(out := io.StringIO())
    progress.update(Job(id="j1", state=JobState.RUNNING, create_time=stamp(CREATED)))
    waiting = JobEvent(job_id="j1", sequence=3, time=stamp(CREATED + 2))
    waiting.service_waiting.service = "ner"
    waiting.service_waiting.stage = Stage.ENTITY_RECOGNITION
    waiting.service_waiting.reason = "UNAVAILABLE: connection refused"
    waiting.service_waiting.budget.FromSeconds(120)
    recovered = JobEvent(job_id="j1", sequence=4, time=stamp(CREATED + 7.5))
    recovered.service_recovered.service = "ner"
    recovered.service_recovered.waited.FromMilliseconds(5500)
    progress.update(waiting)
    assert progress.view.waiting_for == "ner"
    progress.update(recovered)
    assert out.getvalue().splitlines() == [
        "[    2.0s] waiting for the ner service (entity recognition): UNAVAILABLE: connection refused; "
        "the job waits up to 120 s",
        "[    7.5s] the ner service is back after 5.5 s; going on",
    ]


def test_queue_shows_stage_services_and_medians() -> None:
    status = pb.GetQueueStatusResponse(queued=3, running=1, workers=2, healthy=True)
    status.stage_services.add(
        service="ner", state=StageServiceState.UNAVAILABLE, reason="connection refused", waiting_jobs=2
    )
    status.stage_services.add(service="similarity", state=StageServiceState.SERVING)
    timing = status.stage_timings.add(stage=Stage.SCORING, samples=4)
    timing.p50.FromMilliseconds(120)
    timing.mean.FromMilliseconds(150)
    timing.p95.FromMilliseconds(300)
    text = queue_text(status)
    assert "ner service          unavailable (connection refused), 2 jobs waiting" in text
    assert "similarity service   serving" in text
    assert "scoring              p50 0.12 s, mean 0.15 s, p95 0.30 s (4 runs)" in text


def test_finished_events_keep_their_own_times() -> None:
    progress = PlainProgress(out := io.StringIO())
    progress.update(Job(id="j1", state=JobState.SUCCEEDED, create_time=stamp(CREATED)))
    for sequence, (at, kind) in enumerate([(1.25, "started"), (64.0, "succeeded")], start=1):
        event = JobEvent(job_id="j1", sequence=sequence, time=stamp(CREATED + at))
        getattr(event, kind).SetInParent()
        progress.update(event)
    assert out.getvalue().splitlines() == ["[    1.2s] started (attempt 0)", "[   64.0s] succeeded"]


def test_queue_positions_at_most_one_line_a_second() -> None:
    now = [0.0]
    progress = PlainProgress(out := io.StringIO(), clock=lambda: now[0])
    queued = JobEvent(job_id="j1", sequence=1, time=stamp(CREATED))
    queued.queued.position_in_queue = 55
    progress.update(queued_snapshot(55))
    progress.update(queued)  # the same position again, from the event: no second line
    for position in range(54, 30, -1):  # 24 changes within the same second
        progress.update(queued_snapshot(position))
    assert [line.split("] ")[1] for line in out.getvalue().splitlines()] == ["queued at position 55, about 0 s wait"]
    now[0] = 1.0  # a second later the timer prints the latest position, once
    wait_until(lambda: "position 31" in out.getvalue(), message="the held-back position never printed")
    assert len(out.getvalue().splitlines()) == 2
    now[0] = 1.5
    progress.update(queued_snapshot(30))
    started = JobEvent(job_id="j1", sequence=2, time=stamp(CREATED + 3))
    started.started.attempt = 1
    progress.update(started)  # the job left the queue: position 30 is stale and never printed
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].endswith("started (attempt 1)")


def test_live_display_shows_the_stages() -> None:
    console_out = io.StringIO()
    from rich.console import Console

    terminal = Console(file=console_out, force_terminal=True, color_system=None, width=100)
    progress = LiveProgress(terminal, now=lambda: CREATED + 3.25)
    job = Job(id="j1", state=JobState.RUNNING, create_time=stamp(CREATED), attempt=1)
    for stage in (Stage.ENTITY_RECOGNITION, Stage.SKILL_EXTRACTION):
        job.stages.add(stage=stage, state=StageState.PENDING)
    progress.update(job)
    finished = JobEvent(job_id="j1", sequence=1, time=stamp(CREATED + 1))
    finished.stage_finished.stage = Stage.ENTITY_RECOGNITION
    finished.stage_finished.state = StageState.SUCCEEDED
    finished.stage_finished.duration.CopyFrom(duration_pb2.Duration(nanos=210_000_000))
    finished.stage_finished.summary = "14 skills"
    progress.update(finished)
    progress.close()
    text = console_out.getvalue()
    assert "Job j1" in text and "entity recognition" in text and "0.21 s" in text and "14 skills" in text
    assert "✓" in text and "similarity analysis" in text and "3.2 s" in text


@pytest.mark.parametrize("fraction", [0.025, 0.125, 0.555, 0.675, 0.005, 0.0125, 1.0, 0.0])
def test_scores_round_half_up(fraction: float) -> None:
    expected = {
        0.025: (3, "2.5"),
        0.125: (13, "12.5"),
        0.555: (56, "55.5"),
        0.675: (68, "67.5"),
        0.005: (1, "0.5"),
        0.0125: (1, "1.3"),
        1.0: (100, "100.0"),
        0.0: (0, "0.0"),
    }[fraction]
    assert (scores.whole_percent(fraction), scores.one_decimal_percent(fraction)) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to compare with JavaScript")
def test_scores_round_as_javascript_does() -> None:
    rng = random.Random(12)
    fractions = [round(rng.random(), rng.choice([2, 3, 4])) for _ in range(500)] + [i / 1000 for i in range(1001)]
    script = (
        "const xs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(xs.map(x => [Math.round(x * 100), (x * 100).toFixed(1)])));"
    )
    node = subprocess.run(
        ["node", "-e", script], input=json.dumps(fractions), capture_output=True, text=True, check=True
    )
    ours = [[scores.whole_percent(x), scores.one_decimal_percent(x)] for x in fractions]
    assert ours == json.loads(node.stdout)
