// The view of one job at /jobs/{id}: follows it over its event stream from the first event (so a reload or a job
// id from the CLI shows the whole timeline), falls back to polling when the stream cannot be used, and shows the
// report or the error when it ends. One view is open at a time; other jobs go on on the server.

import { cancelJob, getJob, isFinished, pollJobStatus, watchJob } from "/static/job-api.js";
import { $, fill, show } from "./dom.js";
import { ago, duration, seconds, stateLabel, time } from "./format.js";
import { describe, isTransient } from "./messages.js";
import { apply, progress, skillsFound, track } from "./job-model.js";
import { renderReport } from "./report.js";
import { renderLog, renderTimeline } from "./timeline.js";

export class JobView {
  /** `onChange(job)` is told of every change (the job list shows it), `onError(message)` of errors to show. */
  constructor(jobId, { onChange = () => {}, onError = () => {} } = {}) {
    this.id = jobId;
    this.tracker = track(jobId);
    this.onChange = onChange;
    this.onError = onError;
    this.stream = null;
    this.poller = null;
    this.timer = null;
    this.closed = false;
    this.finished = false;
    this.streamRetried = false;
  }

  open() {
    fill($("job-id"), this.id);
    fill($("job-cli"), `skillbridge watch ${this.id}`);
    $("job-subtitle").textContent = "";
    show($("report"), false);
    show($("job-actions-done"), false);
    show($("service-wait"), false);
    $("announcer").textContent = "";
    this.render();
    this.timer = setInterval(() => this.renderClock(), 250);
    this.connect(0);
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    if (this.stream) this.stream.close();
    if (this.poller) this.poller.abort();
  }

  connect(afterSequence) {
    this.stream = watchJob(this.id, (kind, data) => this.update(kind, data), {
      afterSequence,
      onError: (error) => this.streamFailed(error),
    });
  }

  update(kind, data) {
    if (this.closed) return;
    const said = apply(this.tracker, kind, data);
    this.render();
    if (said) this.announce(said);
    if (isFinished(this.tracker.job)) this.finish();
  }

  streamFailed(error) {
    if (this.closed || this.finished) return;
    if (error.status === 404 || error.status === 401 || error.status === 403) {
      this.onError(describe(error));
      $("state").textContent = error.status === 404 ? "not found" : "not allowed";
      return;
    }
    if (isTransient(error)) this.onError(describe(error));
    // No live stream (scheduler away, or a proxy that does not stream): poll the snapshot with backoff instead.
    this.poller = new AbortController();
    let hadTrouble = isTransient(error);
    pollJobStatus(this.id, (job) => {
      if (hadTrouble) {
        hadTrouble = false;
        this.onError("");
        if (!this.streamRetried && !isFinished(job)) {
          // The scheduler is back: the stream resumes after the last event seen.
          this.streamRetried = true;
          this.poller.abort();
          this.update("snapshot", job);
          this.connect(this.tracker.lastSequence);
          return;
        }
      }
      this.update("snapshot", job);
    }, {
      signal: this.poller.signal,
      fetchStatus: getJob,
      onError: (problem) => {
        if (!isTransient(problem)) return false;
        hadTrouble = true;
        this.onError(describe(problem));
        return true;
      },
    }).catch((problem) => {
      if (problem.name !== "AbortError") this.onError(describe(problem));
    });
  }

  async finish() {
    if (this.finished) return;
    this.finished = true;
    if (this.stream) this.stream.close();
    if (this.poller) this.poller.abort();
    try {
      this.tracker.job = await getJob(this.id);  // the full result and final timings
    } catch (error) {
      this.onError(describe(error));
    }
    if (this.closed) return;
    this.render();
    const job = this.tracker.job;
    show($("job-actions-done"), true);
    if (job.state === "JOB_STATE_SUCCEEDED") renderReport(job);
    if (job.state === "JOB_STATE_FAILED") this.onError(`The analysis failed: ${(job.error || {}).message || "unknown error"}`);
    if (job.state === "JOB_STATE_CANCELLED") this.onError(`The job was cancelled${job.error && job.error.message ? `: ${job.error.message}` : "."}`);
  }

  async cancel() {
    try {
      this.update("snapshot", await cancelJob(this.id));
    } catch (error) {
      this.onError(describe(error));
    }
  }

  announce(text) {
    $("announcer").textContent = text;
  }

  render() {
    const job = this.tracker.job;
    $("state").textContent = stateLabel(job.state);
    $("state").dataset.state = job.state || "";
    $("state").className = `badge ${job.state || ""}`;
    $("queue-info").textContent = queueWords(job);
    const input = job.course_recommendation || {};
    const firstLine = (input.job_description_text || "").trim().split("\n")[0].slice(0, 120);
    const created = time(job.create_time);
    $("job-subtitle").textContent = [firstLine, created === null ? "" : `submitted ${ago(created)}`].filter(Boolean).join(" · ");
    const waiting = job.waiting_for_service;
    show($("service-wait"), Boolean(waiting) && !isFinished(job));
    if (waiting) $("service-wait").textContent = serviceWaitWords(this.tracker, waiting);
    const share = progress(job);
    $("progress").value = Math.round(share * 100);
    $("progress-text").textContent = `${Math.round(share * 100)}%`;
    const skills = skillsFound(job);
    $("skills-found").textContent = skills === null ? "" : `${skills} skills found`;
    renderTimeline($("stages"), this.tracker);
    renderLog($("events"), $("events-summary"), this.tracker);
    $("cancel").disabled = isFinished(job);
    this.renderClock();
    this.onChange(job);
  }

  renderClock() {
    const job = this.tracker.job;
    const start = time(job.create_time);
    if (start === null) return;
    const end = isFinished(job) && time(job.end_time) !== null ? time(job.end_time) : Date.now();
    $("elapsed").textContent = Math.max(0, (end - start) / 1000).toFixed(1);
    if (job.state === "JOB_STATE_RUNNING") renderTimeline($("stages"), this.tracker);
  }
}

function queueWords(job) {
  const wait = seconds(job.estimated_wait);
  switch (job.state) {
    case "JOB_STATE_QUEUED":
      return `position ${job.position_in_queue || "?"} in the queue, about ${Math.round(wait || 0)} s wait`;
    case "JOB_STATE_SCHEDULED":
      return job.not_before ? `scheduled: starts at ${new Date(job.not_before).toLocaleTimeString()}` : "scheduled";
    case "JOB_STATE_WAITING":
      return `waiting for ${(job.depends_on || []).join(", ")} to succeed`;
    case "JOB_STATE_RUNNING":
      return job.attempt > 1 ? `attempt ${job.attempt}` : "";
    default:
      return "";
  }
}

function serviceWaitWords(tracker, service) {
  const open = [...tracker.waits].reverse().find((w) => w.service === service && w.waited === null);
  const reason = open && open.reason ? ` (${open.reason})` : "";
  const budget = open && open.budget ? `, for up to ${duration(open.budget)}` : "";
  return `Waiting for the ${service} service, which cannot be reached right now${reason}. ` +
    `The job goes on by itself when it answers${budget}.`;
}
