// What the page says about an error from the gateway, in words a user can act on.

const FIELD_NAMES = {
  resume_text: "Resume",
  job_description_text: "Job description",
  threshold: "Match threshold",
};

/** Which limit a 429 is about, from the error's machine-readable reason or code, else from its words:
 *  "rate" (submits per second), "queue" (the shared queue is full), "quota" (the caller's queued jobs). */
export function limitKind(error) {
  const code = `${error.reason || ""} ${error.code || ""}`.toUpperCase();
  const words = String(error.message || "").toLowerCase();
  if (/QUEUE_FULL/.test(code) || /queue is full|queue full/.test(words)) return "queue";
  if (/RATE/.test(code) || /per second|rate limit/.test(words)) return "rate";
  if (/QUOTA|QUEUED_JOBS|TOO_MANY/.test(code) || /queued jobs/.test(words)) return "quota";
  return "other";
}

function retryText(error) {
  if (error.retryAfter === null || error.retryAfter === undefined) return "Try again in a few seconds.";
  const wait = Math.max(1, Math.ceil(error.retryAfter));
  return `Try again in ${wait} s.`;
}

/** The short name of a field violation's field: "course_recommendation.resume_text" → "Resume". */
export function fieldName(field) {
  const last = String(field || "").split(".").pop();
  return FIELD_NAMES[last] || field;
}

/** One sentence (or two) for an error thrown by job-api.js, or any other error. */
export function describe(error) {
  if (!error) return "";
  if (error.fieldViolations && error.fieldViolations.length) {
    const parts = error.fieldViolations.map((v) => `${fieldName(v.field)}: ${v.description}`);
    return `Please check the form. ${parts.join("; ")}.`;
  }
  switch (error.status) {
    case 0: return "The SkillBridge gateway cannot be reached. Check the connection; the page retries on its own.";
    case 401: return "An API key is required: add ?key=YOUR_KEY to the address.";
    case 403: return `This API key may not do that: ${error.message}.`;
    case 404: return "No job with this id: it may have expired, or belong to another API key.";
    case 409: return `That is no longer possible: ${error.message}.`;
    case 413: return `The file is too large: ${error.message}.`;
    case 429: {
      const kind = limitKind(error);
      if (kind === "rate") return `You are over your rate limit for new analyses. ${retryText(error)}`;
      if (kind === "queue") return `The queue is full right now. ${retryText(error)}`;
      if (kind === "quota") return `You already have as many analyses queued as your plan allows. ${retryText(error)}`;
      return `Too many requests: ${error.message}. ${retryText(error)}`;
    }
    case 502:
    case 503: return "The scheduler cannot be reached right now (503). The page retries on its own.";
    case 504: return "The scheduler took too long to answer (504). The page retries on its own.";
    default: return error.message || String(error);
  }
}

/** True for errors worth retrying by themselves: the gateway or the scheduler is away for a moment. */
export function isTransient(error) {
  return Boolean(error) && [0, 502, 503, 504].includes(error.status);
}
