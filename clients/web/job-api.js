// SkillBridge browser client: submit a job, follow it live (EventSource) or by polling, cancel it.
// An ES module with no dependencies; served by the gateway at /static/job-api.js.

const TERMINAL_STATUS = new Set(["completed", "failed", "cancelled"]);
const TERMINAL_STATE = new Set(["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]);
const TERMINAL_EVENTS = new Set(["succeeded", "failed", "cancelled"]);
export const EVENT_KINDS = [
  "snapshot", "queued", "started", "stage_started", "stage_progress", "stage_finished",
  "retried", "succeeded", "failed", "cancelled",
];

const config = { baseUrl: "", apiKey: null };

/** Sets the gateway base URL ("" = same origin) and an optional API key sent as a Bearer token. */
export function configure({ baseUrl = config.baseUrl, apiKey = config.apiKey } = {}) {
  config.baseUrl = baseUrl.replace(/\/$/, "");
  config.apiKey = apiKey;
}

/** An HTTP error with the gateway's words: status, detail, field violations, Retry-After seconds. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body && body.detail ? String(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))
      : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.fieldViolations = (body && body.field_violations) || [];
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body, { signal, form } = {}) {
  const headers = {};
  if (config.apiKey) headers.Authorization = `Bearer ${config.apiKey}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(config.baseUrl + path, { method, headers, body: payload, signal });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, data, retry === null ? null : Number(retry));
  }
  return data;
}

/** Submits a job: {type: "course_recommendation", payload: {resume_text, job_description_text, threshold}}.
 *  Answers {job_id, status: "queued", position_in_queue, estimated_wait_seconds, message}. */
export function submitJob(job) {
  return request("POST", "/jobs/submit", { type: "course_recommendation", ...job });
}

/** The job in the original shape: {job_id, status, position_in_queue, ..., result, error}. */
export function getJobStatus(jobId, { signal } = {}) {
  return request("GET", `/jobs/status/${encodeURIComponent(jobId)}`, undefined, { signal });
}

/** The full job snapshot (v1: state, stages, progress, result). */
export function getJob(jobId, { signal } = {}) {
  return request("GET", `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { signal });
}

/** Cancels a queued or running job on the server. */
export function cancelJob(jobId, reason = "cancelled from the web page") {
  return request("POST", `/v1/jobs/${encodeURIComponent(jobId)}:cancel`, { reason });
}

/** The plain text of an uploaded .txt, .pdf or .docx file. */
export async function extractText(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return (await request("POST", "/v1/extract-text", undefined, { form })).text;
}

/** True for a finished job, in either shape (seed `status` or v1 `state`). */
export function isFinished(job) {
  return TERMINAL_STATUS.has(job.status) || TERMINAL_STATE.has(job.state);
}

function abortError() {
  return new DOMException("polling aborted", "AbortError");
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(abortError());
    const timer = setTimeout(() => { if (signal) signal.removeEventListener("abort", onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(abortError()); };
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls until the job finishes: waits 200 ms, then 1.5 times longer each time, at most 2 s. Calls
 *  onStatus with every answer and resolves with the last one. Stop it with an AbortController's signal.
 *  `fetchStatus` picks the route (the seed status by default; getJob for the v1 snapshot). */
export async function pollJobStatus(jobId, onStatus, {
  signal, initialDelay = 200, factor = 1.5, maxDelay = 2000, fetchStatus = getJobStatus,
} = {}) {
  let delay = initialDelay;
  for (;;) {
    if (signal && signal.aborted) throw abortError();
    const status = await fetchStatus(jobId, { signal });
    if (onStatus) onStatus(status);
    if (isFinished(status)) return status;
    await pause(delay, signal);
    delay = Math.min(delay * factor, maxDelay);
  }
}

/** Follows the job over server-sent events: onEvent(kind, data) for the snapshot and every event, in order.
 *  The browser reconnects by itself with Last-Event-ID; the stream is closed after the terminal event.
 *  onError(error) is called if the stream cannot be used (then fall back to pollJobStatus).
 *  Returns {close()}. */
export function watchJob(jobId, onEvent, { onError } = {}) {
  if (typeof EventSource === "undefined") {
    if (onError) onError(new Error("EventSource is not supported"));
    return { close() {} };
  }
  const query = config.apiKey ? `?access_token=${encodeURIComponent(config.apiKey)}` : "";
  const source = new EventSource(`${config.baseUrl}/v1/jobs/${encodeURIComponent(jobId)}/events${query}`);
  let received = false;
  let closed = false;
  const close = () => { closed = true; source.close(); };
  for (const kind of EVENT_KINDS) {
    source.addEventListener(kind, (message) => {
      if (closed) return;
      received = true;
      const data = JSON.parse(message.data);
      onEvent(kind, data);
      if (TERMINAL_EVENTS.has(kind) || (kind === "snapshot" && isFinished(data))) close();
    });
  }
  source.addEventListener("error", (message) => {
    if (closed) return;
    if (message.data) {  // an error event sent by the gateway: the stream cannot continue
      close();
      if (onError) onError(new Error(JSON.parse(message.data).detail));
    } else if (!received || source.readyState === EventSource.CLOSED) {
      // Never connected (unknown job, refused key, proxy without streaming): polling takes over.
      close();
      if (onError) onError(new Error("the live event stream is not available"));
    }
    // Otherwise a dropped connection: EventSource reconnects with Last-Event-ID on its own.
  });
  return { close };
}
