// Numbers, durations, times and names as the page shows them. Scores are rounded the way the original browser
// client rounds them (SEED.md): whole percents with Math.round, one decimal with toFixed. The CLI applies the same
// rules in Python (skillbridge_client.scores), so both show the same digits.

/** `value` with `digits` decimals: Math.round for none (ties go up), toFixed otherwise. */
export function fixed(value, digits = 0) {
  if (!Number.isFinite(value)) return String(value);
  return digits ? value.toFixed(digits) : String(Math.round(value));
}

/** The match score in percent, as SEED.md defines it: round(100 × matched / total), or null with no job skills. */
export function matchScore(result) {
  const jobSkills = (result && result.job_skills) || [];
  if (!jobSkills.length) return null;
  const gap = new Set((result.skill_gap || []));
  const matched = jobSkills.filter((skill) => !gap.has(skill)).length;
  return Number(fixed((100 * matched) / jobSkills.length, 0));
}

/** A score in [0, 1] as a percentage with one decimal: 0.675 → "67.5%". */
export function percent(fraction) {
  return `${fixed(100 * (fraction || 0), 1)}%`;
}

/** Points of percent with one decimal and a sign: 0.125 → "+12.5 points". */
export function points(fraction) {
  return `+${fixed(100 * (fraction || 0), 1)} points`;
}

/** Seconds from a proto JSON Duration ("1.500s") or a number; null when absent. */
export function seconds(duration) {
  if (duration === undefined || duration === null || duration === "") return null;
  if (typeof duration === "number") return duration;
  const value = parseFloat(String(duration).replace(/s$/, ""));
  return Number.isFinite(value) ? value : null;
}

/** A duration for people: "0.31 s", "12.4 s", "3 min 5 s", "2 h 4 min". */
export function duration(secondsValue) {
  if (secondsValue === null || secondsValue === undefined) return "";
  const s = Math.max(0, secondsValue);
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Milliseconds since the epoch from a proto JSON Timestamp, or null. */
export function time(stamp) {
  if (!stamp) return null;
  const ms = Date.parse(stamp);
  return Number.isNaN(ms) ? null : ms;
}

/** "just now", "5 min ago", "3 h ago", or the date for older times. */
export function ago(ms, now = Date.now()) {
  if (ms === null) return "";
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** "STAGE_SIMILARITY_ANALYSIS" → "similarity analysis"; the same for job and stage states. */
export function label(name) {
  return String(name || "")
    .replace(/^(STAGE_SERVICE_STATE_|STAGE_STATE_|STAGE_|JOB_STATE_|JOB_TYPE_|MATCH_KIND_)/, "")
    .toLowerCase()
    .replace(/_/g, " ");
}

/** A job's state in the words the CLI uses: "queued", "running", "succeeded", ... */
export function stateLabel(state) {
  return label(state || "JOB_STATE_QUEUED");
}

/** True for an http(s) URL: course links from the catalog are shown only then. */
export function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:";
  } catch {
    return false;
  }
}
