// The page's copy of one job, kept current by the events of its stream (or by polled snapshots), plus what only
// the events tell: how often each stage started (retries), the waits for stage services, and a readable log.
// No DOM here.

import { isFinished } from "/static/job-api.js";
import { label, seconds, time } from "./format.js";

export const STAGES = [
  "STAGE_ENTITY_RECOGNITION", "STAGE_SKILL_EXTRACTION", "STAGE_SIMILARITY_ANALYSIS",
  "STAGE_COURSE_RETRIEVAL", "STAGE_RECOMMENDATION", "STAGE_SCORING",
];

export function emptyStages() {
  return STAGES.map((stage) => ({ stage, state: "STAGE_STATE_PENDING", metrics: {} }));
}

/** A tracker for the job with this id (and a first snapshot, when one is at hand). */
export function track(jobId, snapshot = null) {
  return {
    id: jobId,
    job: snapshot || { id: jobId, state: "JOB_STATE_QUEUED", stages: emptyStages(), progress: 0 },
    lastSequence: 0,
    starts: {},  // stage -> how many times it started (retries = starts - 1)
    waits: [],  // {stage, service, reason, budget, since, waited} per wait for a stage service
    log: [],  // {time, text}, one per event
  };
}

function stageOf(tracker, name) {
  const job = tracker.job;
  if (!job.stages || !job.stages.length) job.stages = emptyStages();
  let stage = job.stages.find((s) => s.stage === name);
  if (!stage) {
    stage = { stage: name, state: "STAGE_STATE_PENDING", metrics: {} };
    job.stages.push(stage);
  }
  return stage;
}

function note(tracker, data, text) {
  tracker.log.push({ time: time(data.time), sequence: data.sequence, text });
}

/** Applies a snapshot or one event (by its SSE kind) to the tracker. Events already seen (a reconnect that
 *  replays) are ignored. Returns a short sentence for screen readers when something worth saying happened. */
export function apply(tracker, kind, data) {
  const ended = kind !== "snapshot" && isFinished(tracker.job);
  const said = applyOne(tracker, kind, data);
  return ended ? null : said;  // history is not read out
}

function applyOne(tracker, kind, data) {
  if (kind === "snapshot") {
    const known = tracker.job;
    tracker.job = data;
    // A snapshot taken before the events it will be followed by: keep what the events already said.
    if (!data.stages || !data.stages.length) data.stages = known.stages || emptyStages();
    return null;
  }
  const sequence = Number(data.sequence || 0);
  if (sequence && sequence <= tracker.lastSequence) return null;
  const job = tracker.job;
  // The history of a job that has already ended (a replay): its events fill the timeline and the log, but its
  // state stays the final one.
  const ended = isFinished(job);
  const setState = (state) => { if (!ended) job.state = state; };
  if (sequence) {
    tracker.lastSequence = sequence;
    job.last_sequence = Math.max(Number(job.last_sequence || 0), sequence);
  }
  const at = data.time;
  switch (kind) {
    case "queued":
      setState("JOB_STATE_QUEUED");
      if (!ended) {
        job.position_in_queue = data.queued.position_in_queue;
        job.estimated_wait = data.queued.estimated_wait;
      }
      note(tracker, data, `queued at position ${data.queued.position_in_queue}`);
      return "Queued.";
    case "started":
      setState("JOB_STATE_RUNNING");
      if (!ended) {
        job.attempt = data.started.attempt;
        job.start_time = at;
        job.position_in_queue = 0;
      }
      note(tracker, data, `attempt ${data.started.attempt} started${data.started.worker ? ` on ${data.started.worker}` : ""}`);
      return data.started.attempt > 1 ? `Attempt ${data.started.attempt} started.` : "Started.";
    case "stage_started": {
      const name = data.stage_started.stage;
      setState("JOB_STATE_RUNNING");
      if (!ended) job.current_stage = name;
      Object.assign(stageOf(tracker, name), { state: "STAGE_STATE_RUNNING", start_time: at, end_time: null, duration: null });
      tracker.starts[name] = (tracker.starts[name] || 0) + 1;
      note(tracker, data, `${label(name)} started`);
      return `${capital(label(name))} started.`;
    }
    case "stage_progress": {
      const p = data.stage_progress;
      const stage = stageOf(tracker, p.stage);
      Object.assign(stage, { progress: p.fraction, metrics: { ...(stage.metrics || {}), ...(p.metrics || {}) } });
      return null;
    }
    case "stage_finished": {
      const f = data.stage_finished;
      Object.assign(stageOf(tracker, f.stage), {
        state: f.state, duration: f.duration, summary: f.summary, metrics: f.metrics || {}, end_time: at,
      });
      const done = job.stages.filter((s) => s.state === "STAGE_STATE_SUCCEEDED").length;
      job.progress = Math.max(job.progress || 0, done / job.stages.length);
      note(tracker, data, `${label(f.stage)} ${label(f.state)} in ${seconds(f.duration)?.toFixed(2) ?? "?"} s${f.summary ? `: ${f.summary}` : ""}`);
      return `${capital(label(f.stage))} ${label(f.state)}. ${Math.round(job.progress * 100)}% done.`;
    }
    case "retried":
      setState("JOB_STATE_QUEUED");
      for (const stage of job.stages || []) {
        if (stage.state === "STAGE_STATE_RUNNING") stage.state = "STAGE_STATE_PENDING";
      }
      note(tracker, data, `attempt ${data.retried.attempt} abandoned: ${data.retried.reason || "no reason given"}`);
      return `Attempt ${data.retried.attempt} was abandoned; the job is queued again.`;
    case "scheduled":
      setState("JOB_STATE_SCHEDULED");
      if (!ended) job.not_before = data.scheduled.not_before;
      note(tracker, data, "scheduled");
      return "Scheduled.";
    case "waiting":
      setState("JOB_STATE_WAITING");
      if (!ended) job.depends_on = data.waiting.depends_on;
      note(tracker, data, `waiting for ${(data.waiting.depends_on || []).join(", ")}`);
      return "Waiting for other jobs.";
    case "released":
      setState("JOB_STATE_QUEUED");
      if (!ended) job.position_in_queue = data.released.position_in_queue;
      note(tracker, data, `released: ${data.released.reason || ""}`);
      return "Queued.";
    case "service_waiting": {
      const w = data.service_waiting;
      if (!ended) job.waiting_for_service = w.service;
      tracker.waits.push({ stage: w.stage, service: w.service, reason: w.reason, budget: seconds(w.budget), since: time(at), waited: null });
      note(tracker, data, `waiting for the ${w.service} service: ${w.reason || "unreachable"}`);
      return `Waiting for the ${w.service} service, which cannot be reached.`;
    }
    case "service_recovered": {
      const r = data.service_recovered;
      job.waiting_for_service = "";
      const open = [...tracker.waits].reverse().find((w) => w.service === r.service && w.waited === null);
      if (open) open.waited = seconds(r.waited);
      note(tracker, data, `the ${r.service} service answered again after ${seconds(r.waited)?.toFixed(1) ?? "?"} s`);
      return `The ${r.service} service is back; the job goes on.`;
    }
    case "succeeded":
      job.state = "JOB_STATE_SUCCEEDED";
      job.end_time = at;
      job.waiting_for_service = "";
      if (data.succeeded.cached_from_job_id) job.cached_from_job_id = data.succeeded.cached_from_job_id;
      note(tracker, data, "succeeded");
      return "The analysis is complete. The report follows.";
    case "failed":
      job.state = "JOB_STATE_FAILED";
      job.end_time = at;
      job.error = data.failed.error;
      note(tracker, data, `failed: ${(data.failed.error || {}).message || "unknown error"}`);
      return "The analysis failed.";
    case "cancelled":
      job.state = "JOB_STATE_CANCELLED";
      job.end_time = at;
      job.error = { message: data.cancelled.reason || "cancelled" };
      note(tracker, data, `cancelled: ${data.cancelled.reason || ""}`);
      return "The job was cancelled.";
    default:
      return null;
  }
}

function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** Retries of a stage: how often it started beyond the first time (known from the events only). */
export function retries(tracker, stage) {
  return Math.max(0, (tracker.starts[stage] || 0) - 1);
}

/** Overall progress in [0, 1]. */
export function progress(job) {
  if (job.state === "JOB_STATE_SUCCEEDED") return 1;
  const stages = job.stages && job.stages.length ? job.stages : emptyStages();
  const done = stages.filter((s) => s.state === "STAGE_STATE_SUCCEEDED").length;
  return Math.min(1, Math.max(job.progress || 0, done / stages.length));
}

/** The latest skills_found figure any stage reported, or null. */
export function skillsFound(job) {
  let skills = null;
  for (const s of job.stages || []) {
    if (s.metrics && s.metrics.skills_found !== undefined) skills = s.metrics.skills_found;
  }
  return skills;
}
