// The live queue view from GET /v1/queue: depth, running jobs, workers, throughput, each stage's p50/p95, and the
// stage services with any that jobs are waiting for. Refreshed every few seconds while the page is visible.

import { getQueue } from "/static/job-api.js";
import { $, fill, h, show } from "./dom.js";
import { duration, fixed, label, seconds, time } from "./format.js";
import { describe } from "./messages.js";

const EVERY_MS = 2000;

function figures(status) {
  const rows = [
    ["Queued", status.max_queue_depth ? `${status.queued || 0} of ${status.max_queue_depth}` : `${status.queued || 0}`],
    ["Running", `${status.running || 0}`],
    ["Workers", `${status.workers || 0}`],
    ["Throughput", `${fixed(60 * (status.throughput_per_second || 0), 1)} jobs/min`],
  ];
  const quota = status.caller_quota;
  if (quota && quota.owner) {
    const limit = (value) => (value ? ` of ${value}` : "");
    rows.push(["Yours", `${quota.queued || 0}${limit(quota.max_queued)} queued, ${quota.running || 0}${limit(quota.max_running)} running`]);
  }
  return rows.flatMap(([name, value]) => [h("dt", {}, name), h("dd", { "data-figure": name.toLowerCase() }, value)]);
}

// A scheduler that does not measure medians yet sends only means: the column then says so.
function hasMedians(status) {
  return (status.stage_timings || []).some((t) => seconds(t.p50) !== null);
}

function timings(status) {
  const medians = hasMedians(status);
  const rows = (status.stage_timings || []).map((t) => h("tr", { "data-stage": t.stage },
    h("th", { scope: "row" }, label(t.stage)),
    h("td", {}, duration(medians ? seconds(t.p50) : seconds(t.mean))),
    h("td", {}, duration(seconds(t.p95))),
    h("td", {}, String(t.samples || 0))));
  return rows.length ? rows : [h("tr", {}, h("td", { colspan: 4 }, "No stage has run yet."))];
}

function services(status) {
  const list = status.stage_services || [];
  const down = list.filter((s) => s.state === "STAGE_SERVICE_STATE_UNAVAILABLE" || s.state === "STAGE_SERVICE_STATE_PROBING");
  const items = list.map((s) => {
    const since = time(s.since);
    const words = [label(s.state || "STAGE_SERVICE_STATE_UNSPECIFIED")];
    if (s.state !== "STAGE_SERVICE_STATE_SERVING") {
      if (since !== null) words.push(`since ${new Date(since).toLocaleTimeString()}`);
      if (s.reason) words.push(s.reason);
      if (s.waiting_jobs) words.push(`${s.waiting_jobs} ${s.waiting_jobs === 1 ? "job" : "jobs"} waiting`);
    }
    return h("li", { "data-service": s.service, "data-state": s.state, class: `service ${s.state || ""}` },
      h("strong", {}, s.service), ": ", words.join(" · "));
  });
  const warning = down.length
    ? h("p", { class: "notice", id: "queue-waiting" },
      `Jobs that need ${down.map((s) => `the ${s.service} service`).join(" or ")} wait until it answers again.`)
    : null;
  return { items, warning };
}

export class QueuePanel {
  constructor() {
    this.timer = null;
  }

  start() {
    document.addEventListener("visibilitychange", () => { if (!document.hidden) this.refresh(); });
    this.refresh();
  }

  async refresh() {
    clearTimeout(this.timer);
    if (!document.hidden) {
      try {
        this.render(await getQueue());
      } catch (error) {
        $("queue-health").textContent = `Queue status unavailable. ${describe(error)}`;
        $("queue-health").dataset.healthy = "false";
      }
    }
    this.timer = setTimeout(() => this.refresh(), EVERY_MS);
  }

  render(status) {
    $("queue-health").textContent = status.healthy ? "The scheduler is running." : "The scheduler reports a problem: jobs may not start.";
    $("queue-health").dataset.healthy = status.healthy ? "true" : "false";
    fill($("queue-figures"), figures(status));
    $("timing-middle").textContent = hasMedians(status) ? "p50" : "mean";
    fill($("queue-timings-body"), timings(status));
    const { items, warning } = services(status);
    show($("queue-services-section"), items.length > 0);
    fill($("queue-services"), items);
    fill($("queue-services-warning"), warning);
  }
}
