// Small helpers shared by the console's views: formatting, stage names, notices.
import { ApiError } from "/web/common/api.js";
import { esc } from "/web/common/login.js";

export { esc };

/** The fieldwork stages of GET /projects/{id}/progress, in funnel order, with their labels. */
export const STAGES = [
  ["planned", "Planned"],
  ["open", "Job board"],
  ["assigned", "Assigned"],
  ["in_field", "In the field"],
  ["submitted", "Submitted"],
  ["returned", "Returned"],
  ["approved", "Approved"],
  ["rejected", "Rejected"],
  ["expired", "Expired"],
];

export function fmtDateTime(value) {
  if (!value) return "—";
  return new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export function fmtDate(value) {
  if (!value) return "—";
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00` : value;
  return new Date(day).toLocaleDateString("en-GB", { dateStyle: "medium" });
}

export function fmtWait(seconds) {
  if (seconds < 3600) return `${Math.max(1, Math.round(seconds / 60))} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function pct(part, whole) {
  return whole ? Math.round((100 * part) / whole) : 0;
}

export function severityBadge(severity) {
  const text = severity || "clean";
  return `<span class="badge ${esc(text)}" data-severity="${esc(text)}">${esc(text)}</span>`;
}

export function statusBadge(status) {
  const tone = { approved: "ok", rejected: "bad", returned: "warn", submitted: "" }[status] ?? "";
  return `<span class="badge ${tone}" data-status="${esc(status)}">${esc(String(status).replace("_", " "))}</span>`;
}

/** A readable message for an API error, with the field errors of a 422. */
export function problemText(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  const fields = (error.problem.errors || []).map(
    (e) => `${e.line ? `line ${e.line}, ` : ""}${e.field}: ${e.message}`,
  );
  return [error.message, ...fields].join(" — ");
}

export function notice(kind, html) {
  return `<div class="notice ${kind}" role="${kind === "error" ? "alert" : "status"}">${html}</div>`;
}

/** A segmented bar of the stages that make up "planned". */
export function progressBar(counts) {
  const parts = ["approved", "submitted", "returned", "in_field", "assigned"];
  const whole = counts.planned || 1;
  return `<div class="bar" role="img" aria-label="${pct(counts.approved, counts.planned)}% approved">${parts
    .map((p) => `<span class="${p}" style="width:${(100 * counts[p]) / whole}%"></span>`)
    .join("")}</div>`;
}

export function legend() {
  const keys = [["approved", "Approved"], ["submitted", "Submitted"], ["returned", "Returned"], ["in_field", "In the field"], ["assigned", "Assigned"]];
  return `<div class="legend">${keys.map(([k, label]) => `<span><i class="${k}"></i>${label}</span>`).join("")}</div>`;
}
