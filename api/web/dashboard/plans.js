// Action plans as the pages show them: status names and transitions (the API's), the re-check
// default, a plan's table row, its impact table, and the "due for re-check" list.
import { getAllPages } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import * as fmt from "./format.js";
import { addDays, day, isoDay, pageUrl } from "./pages.js";

export const STATUS_NAMES = { open: "Open", in_progress: "In progress", done: "Done", dropped: "Dropped" };
export const SOURCE_NAMES = { gap: "Gap", pain_point: "Pain point", manual: "Manual" };
export const VERDICTS = {
  improved: "Improved",
  worsened: "Worsened",
  no_clear_change: "No clear change",
  too_few_visits: "Too few visits",
};
/** The API's transitions (api/cxmap/actions.py); anything else answers 409. */
export const TRANSITIONS = {
  open: ["in_progress", "done", "dropped"],
  in_progress: ["open", "done", "dropped"],
  done: ["in_progress"],
  dropped: ["open"],
};
/** The API's default "best before": six months (182 days) after creation or completion. */
export const RECHECK_DAYS = 182;

export function defaultRecheck(from = isoDay(new Date())) {
  return addDays(from, RECHECK_DAYS);
}

export function isOpen(plan) {
  return plan.status === "open" || plan.status === "in_progress";
}

export function statusBadge(status) {
  return `<span class="status ${esc(status)}" data-key="status">${esc(STATUS_NAMES[status] || status)}</span>`;
}

export function stepNames(plan, names) {
  return plan.step_keys.map((key) => esc(names[key] || key)).join(", ");
}

export function fetchPlans(projectId, params = "") {
  return getAllPages(`/projects/${projectId}/action-plans?limit=500${params}`);
}

/** A compact list of plans whose re-check date passed: for the dashboard and the plans page. */
export function recheckList(plans, projectId, names = {}) {
  if (!plans.length) return `<p class="muted small" id="recheck-none">No action is due for a re-check.</p>`;
  return `<ul class="recheck-list">${plans
    .map(
      (p) => `<li data-plan-id="${p.id}"><a href="${esc(pageUrl("actions.html", projectId, {}, { plan: p.id }))}">${esc(p.title)}</a>
        <span class="muted small">· ${esc(p.owner || "no owner")} · re-check since <span data-key="recheck-on">${day(p.recheck_on)}</span>
        · ${stepNames(p, names)}</span></li>`,
    )
    .join("")}</ul>`;
}

/** Before vs after per targeted step, with the visits on each side and the API's notes. */
export function impactTable(impact) {
  const rows = impact.steps
    .map(
      (s) => `<tr data-impact-step="${esc(s.step_key)}">
        <td>${esc(s.name || s.step_key)}</td>
        <td class="num" data-key="before-visits">${fmt.count(s.before.visits)}</td>
        <td class="num" data-key="before-score">${fmt.score(s.before.mean_score)}</td>
        <td class="num" data-key="after-visits">${fmt.count(s.after.visits)}</td>
        <td class="num" data-key="after-score">${fmt.score(s.after.mean_score)}</td>
        <td class="num" data-key="change">${s.change == null ? fmt.DASH : (s.change > 0 ? "+" : "") + s.change.toFixed(1)}</td>
        <td class="num">${s.t == null ? fmt.DASH : s.t.toFixed(2)}</td>
        <td><span class="verdict ${esc(s.verdict)}" data-key="verdict" data-verdict="${esc(s.verdict)}">${esc(VERDICTS[s.verdict] || s.verdict)}</span>
          ${s.note ? `<div class="small muted" data-key="step-note">${esc(s.note)}</div>` : ""}</td></tr>`,
    )
    .join("");
  const done = impact.completed_on ? `Completed on ${esc(impact.completed_on)}: visits before that day against visits on or after it.` : "";
  return `<div class="impact" data-plan-id="${impact.action_plan_id}">
    ${impact.note ? `<p class="small" data-key="impact-note">${esc(impact.note)}</p>` : ""}
    ${done ? `<p class="small muted">${done}</p>` : ""}
    <div class="table-wrap"><table><thead><tr><th>Step</th><th class="num">Visits before</th><th class="num">Score before</th>
      <th class="num">Visits after</th><th class="num">Score after</th><th class="num">Change</th><th class="num">t</th><th>Verdict</th></tr></thead>
      <tbody>${rows}</tbody></table></div>
    <p class="small muted">At least ${impact.min_visits} visits on each side are needed to tell; |t| ≥ ${impact.significant_t} counts as a clear change.
      Other changes in the same period move the scores too.</p>
  </div>`;
}
