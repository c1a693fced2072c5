// The new-analysis form: texts pasted or read from .txt/.pdf/.docx files (through the gateway's extractor),
// submitted on POST /v1/jobs. The form stays usable while earlier analyses run: each submit is a new job.

import { createJob, extractText } from "/static/job-api.js";
import { $, show } from "./dom.js";
import { describe } from "./messages.js";

const FIELDS = { resume_text: "resume", job_description_text: "job", threshold: "threshold" };

function clearFieldErrors() {
  for (const id of Object.values(FIELDS)) {
    $(id).removeAttribute("aria-invalid");
    const message = $(`${id}-error`);
    message.textContent = "";
    show(message, false);
  }
}

function markFieldErrors(violations) {
  for (const violation of violations) {
    const id = FIELDS[String(violation.field || "").split(".").pop()];
    if (!id) continue;
    $(id).setAttribute("aria-invalid", "true");
    const message = $(`${id}-error`);
    message.textContent = violation.description;
    show(message, true);
  }
}

async function loadFile(input, target, onError) {
  const file = input.files[0];
  if (!file) return;
  const status = $(`${target}-file-status`);
  status.textContent = `Reading ${file.name}…`;
  try {
    const text = await extractText(file);
    $(target).value = text;
    status.textContent = `Read ${file.name}: ${text.length} characters.`;
    onError("");
  } catch (error) {
    status.textContent = "";
    onError(`Could not read ${file.name}: ${describe(error)}`);
  }
}

/** Wires the form: `onSubmitted(job)` gets each queued job, `onError(message)` shows a message ("" clears it). */
export function setUpForm({ onSubmitted, onError }) {
  $("resume-file").addEventListener("change", () => loadFile($("resume-file"), "resume", onError));
  $("job-file").addEventListener("change", () => loadFile($("job-file"), "job", onError));
  $("job-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    onError("");
    clearFieldErrors();
    $("submit").disabled = true;
    try {
      const threshold = parseFloat($("threshold").value);
      const job = await createJob({
        resume_text: $("resume").value,
        job_description_text: $("job").value,
        threshold: Number.isNaN(threshold) ? undefined : threshold,
      });
      onSubmitted(job);
    } catch (error) {
      markFieldErrors(error.fieldViolations || []);
      onError(describe(error));
    } finally {
      $("submit").disabled = false;
    }
  });
}
