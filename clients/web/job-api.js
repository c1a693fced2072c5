// SkillBridge browser client: submit a job, follow it live (EventSource) or by polling, cancel it, list the
// caller's jobs and read the queue. An ES module with no dependencies; served by the gateway at /static/job-api.js.
//
// The original client's functions keep their names and behaviour: submitJob and getJobStatus call the seed
// routes, pollJobStatus waits 200 ms, then 1.5 times longer each time, at most 2 s, and stops on an
// AbortController's signal. The v1 functions (createJob, getJob, listJobs, getQueue, cancelJob, watchJob) return
// the proto JSON of the /v1 routes.

const TERMINAL_STATUS = new Set(["completed", "failed", "cancelled"]);
const TERMINAL_STATE = new Set(["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]);
const TERMINAL_EVENTS = new Set(["succeeded", "failed", "cancelled"]);
export const EVENT_KINDS = [
  "snapshot", "queued", "started", "stage_started", "stage_progress", "stage_finished", "retried",
  "succeeded", "failed", "cancelled", "scheduled", "waiting", "released", "service_waiting", "service_recovered",
];

const config = { baseUrl: "", apiKey: null };

/** Sets the gateway base URL ("" = same origin) and an optional API key sent as a Bearer token. */
export function configure({ baseUrl = config.baseUrl, apiKey = config.apiKey } = {}) {
  config.baseUrl = baseUrl.replace(/\/$/, "");
  config.apiKey = apiKey;
}

/** The message and field violations of an error body, in either shape the gateway sends:
 *  {"detail": str, "code": str, "field_violations": [{field, description}]} or FastAPI's validation answer
 *  {"detail": [{loc, msg, type}]}. */
export function readErrorBody(body) {
  if (!body || typeof body !== "object") return { detail: null, violations: [] };
  let violations = Array.isArray(body.field_violations)
    ? body.field_violations.map((v) => ({ field: String(v.field || ""), description: String(v.description || "") }))
    : [];
  let detail = null;
  if (typeof body.detail === "string") detail = body.detail;
  else if (Array.isArray(body.detail)) {
    if (!violations.length) {
      violations = body.detail.map((item) => ({
        // loc is ["body", "course_recommendation", "threshold"]: the first part says where, not which field.
        field: (Array.isArray(item.loc) ? item.loc : []).filter((p, i) => !(i === 0 && ["body", "query", "path", "header"].includes(p))).join("."),
        description: String(item.msg || "is invalid"),
      }));
    }
    detail = "the request is invalid";
  } else if (body.detail !== undefined && body.detail !== null) detail = JSON.stringify(body.detail);
  return { detail, violations };
}

function retryAfterSeconds(header, body) {
  if (header !== null && header !== undefined && header !== "") {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(header);  // Retry-After may also be an HTTP date
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  if (body && typeof body.retry_after_seconds === "number") return Math.max(1, Math.ceil(body.retry_after_seconds));
  return null;
}

/** An HTTP error with the gateway's words: status (0 when the gateway could not be reached), detail as the
 *  message, the machine-readable code and reason when sent, field violations, and Retry-After in seconds. */
export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const { detail, violations } = readErrorBody(body);
    super(detail || (status ? `HTTP ${status}` : "the gateway cannot be reached"));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.code = body && typeof body.code === "string" ? body.code : null;
    // Which limit a 429 is about (QUEUE_FULL, RATE_LIMITED, QUOTA_EXCEEDED), where the gateway says.
    this.reason = body && typeof body.reason === "string" ? body.reason : null;
    this.fieldViolations = violations;
    this.retryAfter = retryAfter === null || retryAfter === undefined ? retryAfterSeconds(null, body) : retryAfter;
  }
}

function authHeaders() {
  return config.apiKey ? { Authorization: `Bearer ${config.apiKey}` } : {};
}

async function errorFrom(response) {
  const text = await response.text().catch(() => "");
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { detail: text }; }
  return new ApiError(response.status, body, retryAfterSeconds(response.headers.get("Retry-After"), body));
}

async function request(method, path, body, { signal, form } = {}) {
  const headers = authHeaders();
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(config.baseUrl + path, { method, headers, body: payload, signal });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, { detail: "the gateway cannot be reached" });
  }
  if (!response.ok) throw await errorFrom(response);  // 200 and 202 (accepted) are both ok
  const text = await response.text();
  try { return text ? JSON.parse(text) : null; } catch { return { detail: text }; }
}

/** The Job inside an answer: the routes answer with the Job itself or with {"job": Job}. */
function unwrapJob(data) {
  return data && typeof data.job === "object" && data.job !== null && !data.id ? data.job : data;
}

/** Submits a job on the seed route: {type: "course_recommendation", payload: {resume_text,
 *  job_description_text, threshold}}. Answers {job_id, status: "queued", position_in_queue,
 *  estimated_wait_seconds, message}. */
export function submitJob(job) {
  return request("POST", "/jobs/submit", { type: "course_recommendation", ...job });
}

/** The job in the original shape: {job_id, status, position_in_queue, ..., result, error}. */
export function getJobStatus(jobId, { signal } = {}) {
  return request("GET", `/jobs/status/${encodeURIComponent(jobId)}`, undefined, { signal });
}

/** Submits a course-recommendation job on POST /v1/jobs (answered 202 or 200): the queued Job. */
export async function createJob({ resume_text, job_description_text, threshold }, { priority, requestId } = {}) {
  const body = {
    type: "JOB_TYPE_COURSE_RECOMMENDATION",
    course_recommendation: { resume_text, job_description_text },
  };
  if (threshold !== undefined && threshold !== null && !Number.isNaN(threshold)) body.course_recommendation.threshold = threshold;
  if (priority) body.priority = priority;
  if (requestId) body.request_id = requestId;
  return unwrapJob(await request("POST", "/v1/jobs", body));
}

/** The full job snapshot (v1: state, stages, progress, result). */
export async function getJob(jobId, { signal } = {}) {
  return unwrapJob(await request("GET", `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, { signal }));
}

/** One page of the caller's jobs, newest first: {jobs, next_page_token}. */
export async function listJobs({ pageSize = 20, pageToken = "", states = [], signal } = {}) {
  const query = new URLSearchParams();
  if (pageSize) query.set("page_size", String(pageSize));
  if (pageToken) query.set("page_token", pageToken);
  for (const state of states) query.append("state", state);
  const data = await request("GET", `/v1/jobs?${query}`, undefined, { signal });
  return { jobs: (data && data.jobs) || [], next_page_token: (data && data.next_page_token) || "" };
}

/** Queue depth, running jobs, stage timings, throughput, workers and stage services. */
export function getQueue({ signal } = {}) {
  return request("GET", "/v1/queue", undefined, { signal });
}

/** Cancels a queued or running job on the server; answers the job. */
export async function cancelJob(jobId, reason = "cancelled from the web page") {
  return unwrapJob(await request("POST", `/v1/jobs/${encodeURIComponent(jobId)}:cancel`, { reason }));
}

/** The plain text of an uploaded .txt, .pdf or .docx file. */
export async function extractText(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return (await request("POST", "/v1/extract-text", undefined, { form })).text;
}

/** True for a finished job, in either shape (seed `status` or v1 `state`). */
export function isFinished(job) {
  return Boolean(job) && (TERMINAL_STATUS.has(job.status) || TERMINAL_STATE.has(job.state));
}

function abortError() {
  return new DOMException("polling aborted", "AbortError");
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(abortError());
    const onAbort = () => { clearTimeout(timer); reject(abortError()); };
    const timer = setTimeout(() => { if (signal) signal.removeEventListener("abort", onAbort); resolve(); }, ms);
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls until the job finishes: waits 200 ms, then 1.5 times longer each time, at most 2 s. Calls
 *  onStatus with every answer and resolves with the last one. Stop it with an AbortController's signal.
 *  `fetchStatus` picks the route (the seed status by default; getJob for the v1 snapshot). `onError(error)`,
 *  when given, is told of a failed poll and returns true to keep polling (with the same backoff). */
export async function pollJobStatus(jobId, onStatus, {
  signal, initialDelay = 200, factor = 1.5, maxDelay = 2000, fetchStatus = getJobStatus, onError,
} = {}) {
  let delay = initialDelay;
  for (;;) {
    if (signal && signal.aborted) throw abortError();
    let status = null;
    try {
      status = await fetchStatus(jobId, { signal });
    } catch (error) {
      if (error.name === "AbortError" || !onError || !onError(error)) throw error;
    }
    if (status !== null) {
      if (onStatus) onStatus(status);
      if (isFinished(status)) return status;
    }
    await pause(delay, signal);
    delay = Math.min(delay * factor, maxDelay);
  }
}

function eventsUrl(jobId, afterSequence) {
  const query = new URLSearchParams();
  if (afterSequence) query.set("after_sequence", String(afterSequence));
  if (config.apiKey) query.set("access_token", config.apiKey);  // EventSource cannot send headers
  const text = query.toString();
  return `${config.baseUrl}/v1/jobs/${encodeURIComponent(jobId)}/events${text ? `?${text}` : ""}`;
}

// EventSource does not tell why a connection was refused: ask once with fetch and read only the status line.
async function whyRefused(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(url, { headers: { Accept: "text/event-stream", ...authHeaders() }, signal: controller.signal });
    if (!response.ok) return await errorFrom(response);
    controller.abort();
    return new Error("the live event stream is not available");
  } catch (error) {
    if (error instanceof ApiError) return error;
    return new ApiError(0, { detail: "the gateway cannot be reached" });
  }
}

/** Follows the job over server-sent events: onEvent(kind, data) for the snapshot and every event, in order
 *  (events carry `sequence`; a finished job's events follow its snapshot too). The browser reconnects by itself
 *  with Last-Event-ID; the stream is closed after the terminal event. `afterSequence` starts after that event (a resumed view). onError(error) is called if
 *  the stream cannot be used, with an ApiError whose status says why when the gateway refused it (404 unknown
 *  job, 401 key, 503 scheduler down); fall back to pollJobStatus then. Returns {close()}. */
export function watchJob(jobId, onEvent, { onError, afterSequence = 0 } = {}) {
  if (typeof EventSource === "undefined") {
    if (onError) onError(new Error("EventSource is not supported"));
    return { close() {} };
  }
  const url = eventsUrl(jobId, afterSequence);
  const source = new EventSource(url);
  let received = false;
  let closed = false;
  let lastSeen = afterSequence;
  const close = () => { closed = true; source.close(); };
  const fail = (error) => { if (onError) onError(error); };
  for (const kind of EVENT_KINDS) {
    source.addEventListener(kind, (message) => {
      if (closed) return;
      received = true;
      const data = JSON.parse(message.data);
      if (kind !== "snapshot") lastSeen = Math.max(lastSeen, Number(data.sequence || 0));
      onEvent(kind, data);
      // A finished job's snapshot is followed by the events not seen yet (its history): the stream ends after them.
      const done = kind === "snapshot" && isFinished(data) && Number(data.last_sequence || 0) <= lastSeen;
      if (TERMINAL_EVENTS.has(kind) || done) close();
    });
  }
  source.addEventListener("error", (message) => {
    if (closed) return;
    if (message.data) {  // an error event sent by the gateway: the stream cannot continue
      close();
      let detail = "the event stream ended with an error";
      try { detail = JSON.parse(message.data).detail || detail; } catch { /* keep the default words */ }
      fail(new ApiError(503, { detail, code: "UNAVAILABLE" }));
    } else if (!received || source.readyState === EventSource.CLOSED) {
      // Refused (unknown job, refused key, scheduler down) or a proxy without streaming: polling takes over.
      close();
      whyRefused(url).then(fail);
    }
    // Otherwise a dropped connection: EventSource reconnects with Last-Event-ID on its own.
  });
  return { close };
}
