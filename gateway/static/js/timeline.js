// The per-stage timeline of a job: when each stage started (from the job's first stage start), how long it ran,
// how often it was retried, its summary, and a bar on a shared time axis. Waits for a stage service and the
// event log sit below it.

import { h, fill } from "./dom.js";
import { duration, label, seconds, time } from "./format.js";
import { emptyStages, retries } from "./job-model.js";

function stageTimes(stage, now) {
  const start = time(stage.start_time);
  let took = seconds(stage.duration);
  if (took === null && start !== null && stage.state === "STAGE_STATE_RUNNING") took = Math.max(0, (now - start) / 1000);
  return { start, took };
}

/** Renders the stages of tracker.job into the <ol> `list`. */
export function renderTimeline(list, tracker, now = Date.now()) {
  const job = tracker.job;
  const stages = job.stages && job.stages.length ? job.stages : emptyStages();
  const times = stages.map((stage) => stageTimes(stage, now));
  const starts = times.map((t) => t.start).filter((t) => t !== null);
  const origin = starts.length ? Math.min(...starts) : null;
  const span = Math.max(0.001, ...times.map((t) => (t.start === null ? 0 : (t.start - origin) / 1000 + (t.took || 0))));
  const rows = stages.map((stage, index) => {
    const { start, took } = times[index];
    const offset = start === null ? null : (start - origin) / 1000;
    const retried = retries(tracker, stage.stage);
    const facts = [];
    if (offset !== null) facts.push(`start +${offset.toFixed(2)} s`);
    if (took !== null) facts.push(`${stage.state === "STAGE_STATE_RUNNING" ? "running for" : "took"} ${duration(took)}`);
    if (retried) facts.push(`${retried} ${retried === 1 ? "retry" : "retries"}`);
    const wait = tracker.waits.filter((w) => w.stage === stage.stage);
    for (const w of wait) {
      facts.push(w.waited === null ? `waiting for the ${w.service} service` : `waited ${duration(w.waited)} for ${w.service}`);
    }
    const bar = h("span", { class: "bar" });
    if (offset !== null) {
      // Set through the CSSOM: the page's Content-Security-Policy allows no inline style attributes.
      bar.style.left = `${(100 * offset) / span}%`;
      bar.style.width = `${Math.max(1, (100 * (took || 0)) / span)}%`;
    }
    return h("li", { "data-stage": stage.stage, "data-state": stage.state, "data-retries": retried, class: "stage" },
      h("span", { class: "stage-name" }, label(stage.stage)),
      h("span", { class: `badge ${stage.state}` }, label(stage.state)),
      h("span", { class: "bar-track", "aria-hidden": "true" }, bar),
      h("span", { class: "stage-facts" }, facts.join(" · ")),
      stage.summary ? h("span", { class: "stage-summary" }, stage.summary) : null);
  });
  fill(list, rows);
}

/** Renders the event log into the <ol> `list` (newest last) and its count into `summary`. */
export function renderLog(list, summary, tracker) {
  const first = tracker.log.length ? tracker.log[0].time : null;
  fill(list, tracker.log.map((entry) => h("li", {},
    h("span", { class: "log-time" }, entry.time === null || first === null ? "" : `+${((entry.time - first) / 1000).toFixed(2)} s`),
    " ", entry.text)));
  summary.textContent = `Event log (${tracker.log.length} events)`;
}
