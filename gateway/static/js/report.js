// The report of a finished analysis: the match score, how each job skill was matched (exact, or via which resume
// skill and how closely), what is missing and whether the catalog teaches it, and the recommended courses.

import { $, h, fill, show } from "./dom.js";
import { fixed, label, matchScore, percent, points, safeUrl } from "./format.js";

const FUZZY = new Set(["MATCH_KIND_ALIAS", "MATCH_KIND_RELATED", "MATCH_KIND_SEMANTIC"]);

function chips(element, skills) {
  fill(element, skills.length ? skills.map((skill) => h("li", { class: "chip" }, skill)) : h("li", { class: "none" }, "none"));
}

/** How one job skill was matched, in a few words: "exact match", "via Docker, 0.62", "via the resume's words, 0.64"
 *  (a sentence of the resume said it), "not in the resume". The
 *  badge beside it names the kind (alias, related, semantic). */
export function matchWords(match) {
  const kind = match.kind || "MATCH_KIND_UNSPECIFIED";
  if (kind === "MATCH_KIND_EXACT" || (kind === "MATCH_KIND_UNSPECIFIED" && match.resume_skill && (match.score || 0) >= 1)) {
    return "exact match";
  }
  if (kind === "MATCH_KIND_MISSING" || !match.resume_skill) {
    return match.resume_skill ? `not in the resume (closest: ${match.resume_skill}, ${fixed(match.score || 0, 2)})` : "not in the resume";
  }
  // A match found in the resume's own sentences names the job skill itself as the resume skill.
  const inOwnWords = kind === "MATCH_KIND_SEMANTIC" && match.resume_skill.toLowerCase() === (match.job_skill || "").toLowerCase();
  return `via ${inOwnWords ? "the resume's words" : match.resume_skill}, ${fixed(match.score || 0, 2)}`;
}

function explainedItem(match) {
  const kind = match.kind || "MATCH_KIND_UNSPECIFIED";
  const missing = kind === "MATCH_KIND_MISSING" || (!match.resume_skill && kind !== "MATCH_KIND_EXACT");
  // A server that does not say the kind: a perfect score reads as exact, any other as a fuzzy match.
  const fuzzy = FUZZY.has(kind) || (kind === "MATCH_KIND_UNSPECIFIED" && (match.score || 0) < 1);
  const verdict = missing ? "missing" : fuzzy ? "fuzzy" : "exact";
  const badge = verdict === "fuzzy" ? (kind === "MATCH_KIND_UNSPECIFIED" ? "similar" : label(kind)) : verdict;
  return h("li", { class: `match ${verdict}`, "data-kind": kind, "data-required": match.required ? "true" : "false" },
    h("span", { class: "match-skill" }, match.job_skill),
    h("span", { class: `badge match-${verdict}` }, badge),
    h("span", { class: "match-how" }, matchWords(match)),
    match.evidence ? h("q", { class: "evidence" }, match.evidence) : null);
}

function renderExplained(matches) {
  const section = $("explained");
  show(section, matches.length > 0);
  if (!matches.length) return;
  const required = matches.filter((m) => m.required);
  const nice = matches.filter((m) => !m.required);
  const groups = [];
  // Without required flags at all the list is one group: splitting it would call every skill "nice to have".
  if (required.length && nice.length) {
    groups.push(h("h4", {}, `Required (${required.length})`), h("ul", { class: "matches", id: "matches-required" }, required.map(explainedItem)));
    groups.push(h("h4", {}, `Nice to have (${nice.length})`), h("ul", { class: "matches", id: "matches-nice" }, nice.map(explainedItem)));
  } else {
    groups.push(h("ul", { class: "matches", id: "matches-all" }, matches.map(explainedItem)));
  }
  fill($("explained-list"), groups);
}

function courseItem(rec) {
  const course = rec.course || {};
  const title = course.title || course.course_name || course.id || "course";
  const heading = safeUrl(course.url)
    ? h("a", { href: course.url, target: "_blank", rel: "noopener noreferrer", class: "course-link" }, title)
    : title;
  const meta = [course.provider, course.level, course.duration_hours ? `${course.duration_hours} h` : ""].filter(Boolean).join(" · ");
  const covered = rec.covered_skills || [];
  return h("li", { class: "course" },
    h("h4", {}, heading),
    meta ? h("p", { class: "meta" }, meta) : null,
    rec.rationale ? h("p", {}, rec.rationale) : null,
    covered.length ? h("p", {}, `Teaches ${covered.join(", ")}`) : null,
    h("p", { class: "course-score" }, `Potential score ${percent(rec.potential_score)} (${points(rec.score_improvement)})`),
    safeUrl(course.url) ? h("p", { class: "course-url" }, course.url) : null);
}

/** Fills the report section from a SUCCEEDED job. */
export function renderReport(job) {
  const result = job.course_recommendation_result || {};
  const details = result.matching_details || {};
  const jobSkills = result.job_skills || [];
  const gap = result.skill_gap || [];
  const score = matchScore(result);
  $("score").textContent = score === null ? "n/a" : `${score}%`;
  $("score-basis").textContent = jobSkills.length
    ? `${jobSkills.length - gap.length} of ${jobSkills.length} job skills matched` +
      (details.threshold ? ` (threshold ${fixed(details.threshold, 2)})` : "")
    : "No skills were found in the job description.";
  const missingSet = new Set(gap);
  chips($("matched"), jobSkills.filter((s) => !missingSet.has(s)));
  chips($("missing"), gap);
  renderExplained(details.job_skill_matches || []);
  const uncovered = result.uncovered_skills || [];
  show($("uncovered"), uncovered.length > 0);
  $("uncovered").textContent = uncovered.length === 1
    ? `No course in the catalog teaches ${uncovered[0]}.`
    : `No course in the catalog teaches ${uncovered.join(", ")}.`;
  $("summary").textContent = result.recommendations_text || "";
  const cached = job.cached_from_job_id;
  show($("cached"), Boolean(cached));
  if (cached) fill($("cached"), "Same inputs as ", h("a", { href: `/jobs/${encodeURIComponent(cached)}`, "data-route": true }, cached), ": its result was reused.");
  const courses = result.recommended_courses || [];
  fill($("courses"), courses.length ? courses.map(courseItem) : h("li", { class: "none" }, gap.length ? "No course found for the missing skills." : "None needed: the resume covers every job skill."));
  $("fallback").textContent = details.fallback_reason ? `Courses ranked locally: ${details.fallback_reason}` : "";
  show($("report"), true);
}

/** Saves the job (its full snapshot, result included) as skillbridge-<id>.json. */
export function downloadJson(job) {
  const blob = new Blob([JSON.stringify(job, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: `skillbridge-${job.id}.json`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
