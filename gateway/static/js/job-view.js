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
  /** `onChange(job)` is told of every change (the job list shows it), `onFinished(job)` of the end, and
   *  `onError(message)` of errors to show ("" clears). */
  constructor(jobId, { onChange = () => {}, onFinished = () => {}, onError = () => {} } = {}) {
    this.id = jobId;
    this.tracker = track(jobId);
    this.onChange = onChange;
    this.onFinished = onFinished;
    this.onError = onError;
    this.stream = null;
    this.poller = null;
    this.timer = null;
    this.closed = false;
    this.finished = false;
    this.loaded = false;  // a snapshot or an event has come
    this.streamed = false;  // the stream has delivered something
    this.troubled = false;  // a passing problem is shown
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
    // The snapshot on its own as well: it shows the job (or why it cannot be shown) at once, even while the
    // stream is still being set up, e.g. by a gateway that retries an unreachable scheduler first.
    getJob(this.id).then(
      (job) => { if (!this.streamed) this.update("snapshot", job); },
      (error) => { if (!this.streamed) this.problem(error); },
    );
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    if (this.stream) this.stream.close();
    if (this.poller) this.poller.abort();
  }

  connect(afterSequence) {
    this.stream = watchJob(this.id, (kind, data) => {
      this.streamed = true;
      if (this.troubled) this.problem(null);
      this.update(kind, data, { live: true });
    }, {
      afterSequence,
      onError: (error) => this.streamFailed(error),
    });
  }

  /** Says what keeps the job from being shown: for good (unknown job, refused key) or for now (scheduler or
   *  gateway away: the page retries by itself). `null` clears a passing problem. */
  problem(error) {
    if (error === null) {
      this.troubled = false;
      this.onError("");
      return;
    }
    this.onError(describe(error));
    if (isTransient(error)) this.troubled = true;
    else if ([401, 403, 404].includes(error.status)) $("state").textContent = error.status === 404 ? "not found" : "not allowed";
  }

  /** Applies a snapshot or an event. On the stream, a finished job's snapshot is followed by its events (its
   *  history): the view ends after them. */
  update(kind, data, { live = false } = {}) {
    if (this.closed) return;
    this.loaded = true;
    const said = apply(this.tracker, kind, data);
    this.render();
    if (said) this.announce(said);
    const job = this.tracker.job;
    const pending = Number(job.last_sequence || 0) > this.tracker.lastSequence;
    if (isFinished(job) && !(live && pending)) this.finish();
  }

  streamFailed(error) {
    if (this.closed || this.finished) return;
    if ([401, 403, 404].includes(error.status)) return this.problem(error);
    // A stream that cannot be opened at all (status 0) says nothing about the gateway: a proxy may refuse only
    // streams. The polls below tell whether the gateway itself is away.
    if (isTransient(error) && error.status !== 0) this.problem(error);
    // No live stream (scheduler away, or a proxy that does not stream): poll the snapshot with backoff instead.
    this.poller = new AbortController();
    pollJobStatus(this.id, (job) => {
      if (this.troubled) {
        this.problem(null);
        if (!isFinished(job)) {
          // The scheduler is back: the stream resumes after the last event seen.
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
        this.problem(problem);
        return true;
      },
    }).catch((problem) => {
      if (problem.name !== "AbortError") this.problem(problem);
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
    this.onFinished(job);
    this.backfill();
    if (job.state === "JOB_STATE_SUCCEEDED") renderReport(job);
    if (job.state === "JOB_STATE_FAILED") this.onError(`The analysis failed: ${(job.error || {}).message || "unknown error"}`);
    if (job.state === "JOB_STATE_CANCELLED") this.onError(`The job was cancelled${job.error && job.error.message ? `: ${job.error.message}` : "."}`);
  }

  /** A job that ended while the page was polling (no stream, or the scheduler was away) lacks events: they are
   *  read once, on a copy, so the timeline gets its retries, waits and log without the state going back and
   *  forth on the screen. */
  backfill() {
    const job = this.tracker.job;
    if (Number(job.last_sequence || 0) <= this.tracker.lastSequence) return;
    const copy = track(this.id);
    this.stream = watchJob(this.id, (kind, data) => {
      if (this.closed || kind === "snapshot") return;
      apply(copy, kind, data);
      if (isFinished(copy.job)) {
        Object.assign(this.tracker, { starts: copy.starts, waits: copy.waits, log: copy.log, lastSequence: copy.lastSequence });
        renderTimeline($("stages"), this.tracker);
        renderLog($("events"), $("events-summary"), this.tracker);
      }
    }, { onError: () => {} });  // without the events the timeline keeps what the snapshots said
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
    $("state").textContent = this.loaded ? stateLabel(job.state) : "loading…";
    $("state").dataset.state = this.loaded ? job.state || "" : "";
    $("state").className = `badge ${this.loaded ? job.state || "" : ""}`;
    $("queue-info").textContent = this.loaded ? queueWords(job) : "";
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
