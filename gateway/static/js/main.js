// The page's entry point: routes "/" (a new analysis) and "/jobs/{id}" (one job, live) without reloading, and
// wires the job list, the queue view, the form and the buttons.

import { configure } from "/static/job-api.js";
import { setUpForm } from "./analysis-form.js";
import { $, show } from "./dom.js";
import { History } from "./history.js";
import { JobView } from "./job-view.js";
import { QueuePanel } from "./queue-panel.js";
import { downloadJson } from "./report.js";

const KEY_STORAGE = "skillbridge.apiKey";
const jobList = new History();
const queue = new QueuePanel();
let view = null;
let shownPath = null;  // the address whose view is shown

function showError(message) {
  $("error").textContent = message;
  show($("error"), Boolean(message));
}

// An API key given as ?key= is kept for this tab only and taken out of the address, so it is not shared with a link.
function setUpKey() {
  const params = new URLSearchParams(location.search);
  const given = params.get("key");
  if (given) {
    sessionStorage.setItem(KEY_STORAGE, given);
    params.delete("key");
    const query = params.toString();
    window.history.replaceState(null, "", location.pathname + (query ? `?${query}` : "") + location.hash);
  }
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) configure({ apiKey: key });
}

function jobIdOf(path) {
  const match = /^\/jobs\/([^/]+)\/?$/.exec(path);
  return match ? decodeURIComponent(match[1]) : null;
}

function route({ focus = false } = {}) {
  shownPath = location.pathname;
  const jobId = jobIdOf(location.pathname);
  if (view && view.id !== jobId) {
    view.close();
    view = null;
  }
  showError("");
  show($("new-view"), jobId === null);
  show($("job-view"), jobId !== null);
  jobList.select(jobId);
  if (jobId === null) {
    document.title = "SkillBridge: skill gap and courses";
    if (focus) $("new-title").focus();
    return;
  }
  document.title = `Job ${jobId.slice(0, 8)} · SkillBridge`;
  if (!view) {
    view = new JobView(jobId, {
      onChange: (job) => jobList.note(job),
      onFinished: () => { jobList.refresh(); queue.refresh(); },
      onError: showError,
    });
    view.open();
  }
  if (focus) $("job-title").focus();
}

/** Goes to an address of the page (pushes it on the browser's history). */
export function navigate(path) {
  if (path !== location.pathname) window.history.pushState(null, "", path);
  route({ focus: true });
}

function setUpLinks() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-route]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;  // new tab or window: let it be
    event.preventDefault();
    navigate(new URL(link.href).pathname);
  });
  // A jump to an anchor of the page ("Your jobs") changes only the hash: the view stays.
  window.addEventListener("popstate", () => { if (location.pathname !== shownPath) route({ focus: true }); });
}

function setUpButtons() {
  $("cancel").addEventListener("click", () => { if (view) view.cancel(); });
  $("download").addEventListener("click", () => { if (view) downloadJson(view.tracker.job); });
  $("print").addEventListener("click", () => window.print());
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("open-id").value.trim();
    if (!id) return;
    $("open-id").value = "";
    navigate(`/jobs/${encodeURIComponent(id)}`);
  });
}

setUpKey();
setUpLinks();
setUpButtons();
setUpForm({
  onSubmitted: (job) => {
    jobList.note(job);
    navigate(`/jobs/${encodeURIComponent(job.id)}`);
  },
  onError: showError,
});
jobList.start();
queue.start();
route();
