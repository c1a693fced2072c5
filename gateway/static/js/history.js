// The caller's jobs, newest first, from GET /v1/jobs: state, match score or progress, when. Refreshed every few
// seconds while one of them is still going, so several analyses can run side by side and be watched from here.

import { isFinished, listJobs } from "/static/job-api.js";
import { $, fill, h, show } from "./dom.js";
import { ago, label, matchScore, stateLabel, time } from "./format.js";
import { describe } from "./messages.js";
import { progress } from "./job-model.js";

const PAGE_SIZE = 20;
const BUSY_EVERY_MS = 2500;
const IDLE_EVERY_MS = 15000;

function title(job) {
  const text = ((job.course_recommendation || {}).job_description_text || "").trim().split("\n")[0];
  if (text) return text.length > 70 ? `${text.slice(0, 69)}…` : text;
  return job.type && job.type !== "JOB_TYPE_COURSE_RECOMMENDATION" ? `${label(job.type)} job` : "analysis";
}

function figure(job) {
  if (job.state === "JOB_STATE_SUCCEEDED" && job.course_recommendation_result) {
    const score = matchScore(job.course_recommendation_result);
    return score === null ? "" : `match ${score}%`;
  }
  if (job.state === "JOB_STATE_RUNNING") return `${Math.round(progress(job) * 100)}% done`;
  if (job.state === "JOB_STATE_QUEUED" && job.position_in_queue) return `position ${job.position_in_queue}`;
  return "";
}

export class History {
  constructor() {
    this.first = [];  // the newest page, refreshed
    this.older = [];  // pages loaded with "Show older jobs"
    this.nextToken = "";
    this.current = null;
    this.timer = null;
    this.live = new Map();  // fresher copies from the open job view, by id
    this.loaded = false;  // the list has been read once
    this.asked = new Set();  // ids not in the list that made it read the list again
  }

  start() {
    $("history-more").addEventListener("click", () => this.loadOlder());
    document.addEventListener("visibilitychange", () => { if (!document.hidden) this.refresh(); });
    this.refresh();
  }

  schedule() {
    clearTimeout(this.timer);
    const busy = [...this.first, ...this.older].some((job) => !isFinished(job));
    this.timer = setTimeout(() => this.refresh(), busy ? BUSY_EVERY_MS : IDLE_EVERY_MS);
  }

  async refresh() {
    if (document.hidden) return this.schedule();
    try {
      const page = await listJobs({ pageSize: PAGE_SIZE });
      this.first = page.jobs;
      this.loaded = true;
      if (!this.older.length) this.nextToken = page.next_page_token;
      $("history-status").textContent = "";
      this.render();
    } catch (error) {
      $("history-status").textContent = `Your jobs could not be loaded. ${describe(error)}`;
    }
    this.schedule();
  }

  async loadOlder() {
    if (!this.nextToken) return;
    try {
      const page = await listJobs({ pageSize: PAGE_SIZE, pageToken: this.nextToken });
      this.older.push(...page.jobs);
      this.nextToken = page.next_page_token;
      this.render();
    } catch (error) {
      $("history-status").textContent = `Older jobs could not be loaded. ${describe(error)}`;
    }
  }

  /** Marks the job shown in the main view. */
  select(jobId) {
    this.current = jobId;
    this.render();
  }

  /** A fresher copy of a job from the open view: the row follows it between refreshes. */
  note(job) {
    if (!job || !job.id) return;
    const known = [...this.first, ...this.older].some((j) => j.id === job.id);
    this.live.set(job.id, job);
    if (!known && !this.asked.has(job.id)) {
      this.asked.add(job.id);
      this.refresh();  // a new job: read the list once so it appears with the others
    } else this.render();
  }

  render() {
    const seen = new Set();
    const jobs = [];
    for (const job of [...this.first, ...this.older]) {
      if (seen.has(job.id)) continue;
      seen.add(job.id);
      const fresher = this.live.get(job.id);
      // The open view's copy wins until the list has caught up with it (both say the same state).
      jobs.push(fresher && (fresher.last_sequence || 0) >= (job.last_sequence || 0) ? { ...job, ...fresher } : job);
    }
    const items = jobs.map((job) => {
      const created = time(job.create_time);
      return h("li", { "data-job-id": job.id, "data-state": job.state },
        h("a", { href: `/jobs/${encodeURIComponent(job.id)}`, "data-route": true, "aria-current": job.id === this.current ? "page" : null },
          h("span", { class: "hist-title" }, title(job)),
          h("span", { class: "hist-facts" },
            h("span", { class: `badge ${job.state}` }, stateLabel(job.state)),
            figure(job) ? h("span", { class: "hist-figure" }, figure(job)) : null,
            created === null ? null : h("time", { datetime: job.create_time, title: new Date(created).toLocaleString() }, ago(created)),
            h("code", { class: "hist-id" }, job.id.slice(0, 8)))));
    });
    const empty = this.loaded ? h("li", { class: "none" }, "No jobs yet.") : null;
    fill($("history-list"), items.length ? items : empty);
    show($("history-more"), Boolean(this.nextToken));
  }
}
