"""clients/web/job-api.js in Chromium against the real gateway: the original client's calls (submitJob on the seed
route, pollJobStatus with its 200 ms x 1.5 up to 2 s backoff, AbortController cancel) keep working, watchJob
follows a job to its end, errors are read in either shape the gateway sends, and POST /v1/jobs may answer 202.
Also: the page rounds scores digit for digit as the CLI does (both follow the original client: Math.round, toFixed)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, Route
from skillbridge_client import scores

from tests.browser.page_support import OpenPage
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

# A page of the gateway with none of the web page's own timers: only the module under test runs.
BLANK = "/healthz"


async def run(page: Page, script: str, arg: Any = None) -> Any:
    """Runs `script` (the body of an async function of `api` and `arg`) with job-api.js imported as `api`."""
    return await page.evaluate(
        f"""async (arg) => {{
            const api = await import("/static/job-api.js");
            {script}
        }}""",
        arg,
    )


async def test_seed_submit_and_poll_with_the_original_backoff(pages: OpenPage) -> None:
    page = (await pages(BLANK)).page
    result = await run(
        page,
        """
        const delays = [];
        const original = window.setTimeout;
        window.setTimeout = (fn, ms, ...rest) => { delays.push(ms); return original(fn, ms, ...rest); };
        try {
            const answer = await api.submitJob({payload: {resume_text: arg.resume, job_description_text: arg.job,
                threshold: 0.5}});
            const seen = [];
            const last = await api.pollJobStatus(answer.job_id, (s) => seen.push(s.status));
            return {answer, delays, seen, last};
        } finally { window.setTimeout = original; }
        """,
        {"resume": RESUME, "job": JOB_DESCRIPTION},
    )
    assert result["answer"]["status"] == "queued" and result["answer"]["job_id"]
    assert result["last"]["status"] == "completed"
    assert result["last"]["result"]["skill_gap"] == ["Kubernetes", "Kafka"]
    assert result["seen"][-1] == "completed" and len(result["seen"]) >= 3
    expected = [200.0]
    while len(expected) < len(result["delays"]):
        expected.append(min(expected[-1] * 1.5, 2000.0))
    assert result["delays"] == expected


async def test_poll_stops_on_abort(pages: OpenPage, stack: Stack) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    page = (await pages(BLANK)).page
    result = await run(
        page,
        """
        const answer = await api.submitJob({payload: {resume_text: arg.resume, job_description_text: arg.job}});
        const controller = new AbortController();
        let polls = 0;
        const fetchStatus = (id, options) => { polls += 1; return api.getJobStatus(id, options); };
        const outcome = api.pollJobStatus(answer.job_id, () => { if (polls === 2) controller.abort(); },
            {signal: controller.signal, fetchStatus}).then(() => "resolved", (e) => e.name);
        // The loop has ended when the promise settles: no poll can follow.
        return {name: await outcome, polls};
        """,
        {"resume": RESUME, "job": JOB_DESCRIPTION},
    )
    assert result == {"name": "AbortError", "polls": 2}


async def test_watch_job_follows_the_job_to_its_end(pages: OpenPage) -> None:
    page = (await pages(BLANK)).page
    kinds = await run(
        page,
        """
        const job = await api.createJob({resume_text: arg.resume, job_description_text: arg.job});
        return await new Promise((resolve, reject) => {
            const kinds = [];
            api.watchJob(job.id, (kind, data) => {
                kinds.push(kind);
                if (kind === "succeeded") resolve(kinds);
            }, {onError: reject});
        });
        """,
        {"resume": RESUME, "job": JOB_DESCRIPTION},
    )
    assert kinds[0] == "snapshot"
    assert kinds.count("stage_finished") == 6
    assert kinds[-1] == "succeeded"


async def test_errors_are_read_in_either_shape(pages: OpenPage) -> None:
    page = (await pages(BLANK)).page
    errors = await run(
        page,
        """
        const caught = async (call) => { try { await call(); return null; } catch (e) {
            return {status: e.status, code: e.code, message: e.message, fieldViolations: e.fieldViolations}; } };
        return {
            pydantic: await caught(() => api.createJob({resume_text: "a", job_description_text: "b", threshold: 3})),
            ours: await caught(() => api.createJob({resume_text: "  ", job_description_text: "b"})),
            missing: await caught(() => api.getJob("no-such-job")),
            unified: api.readErrorBody({detail: "bad", code: "INVALID_ARGUMENT",
                field_violations: [{field: "threshold", description: "must be at most 1"}]}),
        };
        """,
    )
    # The gateway answers a schema violation with the one error shape too: 400, the field named.
    assert errors["pydantic"]["status"] == 400
    assert errors["pydantic"]["code"] == "INVALID_ARGUMENT"
    assert [v["field"] for v in errors["pydantic"]["fieldViolations"]] == ["course_recommendation.threshold"]
    assert errors["ours"] == {
        "status": 400,
        "code": "INVALID_ARGUMENT",
        "message": "course_recommendation.resume_text: must not be empty",
        "fieldViolations": [{"field": "course_recommendation.resume_text", "description": "must not be empty"}],
    }
    assert errors["missing"]["status"] == 404
    assert errors["unified"] == {
        "detail": "bad",
        "violations": [{"field": "threshold", "description": "must be at most 1"}],
    }


async def test_create_job_accepts_202_and_a_wrapped_job(pages: OpenPage) -> None:
    page = (await pages(BLANK)).page

    async def accepted(route: Route) -> None:
        response = await route.fetch()
        job = await response.json()
        await route.fulfill(status=202, json={"job": job}, headers={"Location": f"/v1/jobs/{job['id']}"})

    await page.route("**/v1/jobs", accepted)
    job = await run(
        page,
        "return await api.createJob({resume_text: arg.resume, job_description_text: arg.job});",
        {"resume": RESUME, "job": JOB_DESCRIPTION},
    )
    assert job["state"] == "JOB_STATE_QUEUED" and job["id"]


# Fractions whose percent sits on or near a rounding tie, where Python's own round() would differ.
FRACTIONS = [v / 100 for v in (0.5, 1.5, 2.5, 12.5, 0.25, 0.125, 2.675, 1.005, 99.95, 99.96, 55.5, 67.5)]
FRACTIONS += [2 / 3, 1 / 8, 3 / 8, 5 / 8, 11 / 20, 0.675, 0.0125, 1 / 3]


async def test_scores_are_rounded_as_the_cli_rounds_them(pages: OpenPage) -> None:
    page = (await pages(BLANK)).page
    shown = await page.evaluate(
        """async (fractions) => {
            const f = await import("/static/app/js/format.js");
            return {
                whole: fractions.map((x) => f.fixed(100 * x, 0)),
                percent: fractions.map((x) => f.percent(x)),
                points: fractions.map((x) => f.points(x)),
                score: [[1, 8], [3, 8], [5, 8], [2, 4], [11, 20]].map(([m, t]) => f.matchScore({
                    job_skills: Array.from({length: t}, (_, i) => `s${i}`),
                    skill_gap: Array.from({length: t - m}, (_, i) => `s${i}`)})),
            };
        }""",
        FRACTIONS,
    )
    assert shown["whole"] == [str(scores.whole_percent(x)) for x in FRACTIONS]
    assert shown["percent"] == [scores.potential_score(x) for x in FRACTIONS]
    assert shown["points"] == [scores.improvement(x) for x in FRACTIONS]
    assert shown["score"] == [scores.whole_percent(m / t) for m, t in [(1, 8), (3, 8), (5, 8), (2, 4), (11, 20)]]
