// Appeals of a project: the open ones with their visit, reason and location; a decision (dismiss,
// uphold and void the visit, or uphold and amend answers of one step); the appeal statistics.
// Routes: GET /projects/{id}/appeals?status=, POST /appeals/{id}/decision, GET /projects/{id}/appeals/stats,
// GET /visits/{id}/review (the answers an amendment starts from).
import { get, getAllPages, post } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText } from "../util.js";

const STATUSES = ["open", "upheld", "dismissed"];

export async function render(container, projectId) {
  let message = "";
  let status = "open";
  let deciding = null; // the appeal whose decision form is shown

  function rate(value) {
    return value == null ? "—" : `${Math.round(value * 1000) / 10}%`;
  }

  function rateRow(label, r, attrs) {
    return `<tr ${attrs}><td>${label}</td><td class="num">${r.approved_visits}</td><td class="num">${r.appeals}</td>
      <td class="num">${r.open}</td><td class="num">${r.upheld}</td><td class="num">${r.dismissed}</td>
      <td class="num" data-rate="appeal">${rate(r.appeal_rate)}</td><td class="num" data-rate="upheld">${rate(r.upheld_rate)}</td></tr>`;
  }

  function decisionForm(appeal, steps) {
    return `<form class="card stack" id="decide" data-appeal="${appeal.id}" style="gap:.5rem;margin-bottom:1rem">
      <h2>Decide appeal #${appeal.id} — visit <a href="#/visits/${appeal.visit_id}">#${appeal.visit_id}</a></h2>
      <p style="margin:0"><strong>Reason:</strong> ${esc(appeal.reason)}</p>
      <fieldset class="row"><legend>Outcome</legend>
        <label><input type="radio" name="choice" value="dismiss" checked> Dismiss</label>
        <label><input type="radio" name="choice" value="void"> Uphold — void the visit</label>
        <label><input type="radio" name="choice" value="amend"> Uphold — amend answers</label>
      </fieldset>
      <div id="amend" class="stack" style="gap:.4rem;display:none">
        <label>Step <select name="step">${steps
          .map((s) => `<option value="${esc(s.step_key)}">${esc(s.step_key)}</option>`)
          .join("")}</select></label>
        <label>Corrected answers (JSON, question key → answer; other answers stay)
          <textarea name="answers" rows="6" style="font-family:monospace;width:100%"></textarea></label>
      </div>
      <label>Comment (the client reads it) <textarea name="comment" rows="2" required maxlength="4000" style="width:100%"></textarea></label>
      <div class="row"><button type="submit" id="decide-submit">Record decision</button>
        <button type="button" class="secondary" id="decide-cancel">Cancel</button></div>
    </form>`;
  }

  function wireForm(appeal, steps) {
    const form = container.querySelector("#decide");
    if (!form) return;
    const fill = () => {
      const step = steps.find((s) => s.step_key === form.step.value);
      form.answers.value = JSON.stringify(step?.answers || {}, null, 2);
    };
    fill();
    form.step.addEventListener("change", fill);
    form.addEventListener("change", () => {
      form.querySelector("#amend").style.display = form.choice.value === "amend" ? "" : "none";
    });
    form.querySelector("#decide-cancel").addEventListener("click", () => {
      deciding = null;
      draw();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const choice = form.choice.value;
      const body = { outcome: choice === "dismiss" ? "dismissed" : "upheld", comment: form.comment.value.trim() };
      if (choice !== "dismiss") body.action = choice;
      if (choice === "amend") {
        try {
          body.amendments = { [form.step.value]: JSON.parse(form.answers.value || "{}") };
        } catch (error) {
          message = notice("error", `The answers are not valid JSON: ${esc(error.message)}`);
          return draw();
        }
      }
      try {
        const decided = await post(`/appeals/${appeal.id}/decision`, body);
        message = notice("ok", `Appeal #${decided.id} ${esc(decided.status)}${decided.action ? ` (${esc(decided.action)})` : ""}.`);
        deciding = null;
      } catch (error) {
        message = notice("error", esc(problemText(error)));
      }
      await draw();
    });
  }

  async function draw() {
    const [appeals, stats] = await Promise.all([
      getAllPages(`/projects/${projectId}/appeals?status=${status}&limit=200`),
      get(`/projects/${projectId}/appeals/stats`),
    ]);
    const current = deciding ? appeals.find((a) => a.id === deciding) : null;
    // The visit's answers, which an amendment starts from; fetched before drawing so the form is
    // complete (and wired) the moment it appears.
    const steps = current ? (await get(`/visits/${current.visit_id}/review`)).visit.steps || [] : [];
    const form = current ? decisionForm(current, steps) : "";
    container.innerHTML = `
      <div class="row"><h1>Appeals</h1><span class="muted">${stats.total.open} open, ${stats.total.appeals} in all</span></div>
      ${message}${form}
      <form class="card filters" id="status-pick" style="margin-bottom:1rem"><label>Status <select name="status">
        ${STATUSES.map((s) => `<option value="${s}"${s === status ? " selected" : ""}>${s}</option>`).join("")}
      </select></label></form>
      <div class="card table-wrap"><table id="appeals-table">
        <thead><tr><th>#</th><th>Visit</th><th>Location</th><th>Reason</th><th>Filed</th><th>Status</th><th>Decision</th><th></th></tr></thead>
        <tbody>${appeals
          .map((a) => `<tr data-appeal="${a.id}" data-visit="${a.visit_id}" data-status="${a.status}">
            <td>${a.id}</td><td><a href="#/visits/${a.visit_id}">#${a.visit_id}</a></td>
            <td>${esc(a.location_code)} <span class="muted">${esc(a.location_name)}</span></td>
            <td>${esc(a.reason)}</td><td>${fmtDateTime(a.filed_at)}</td><td><span class="badge ${a.status === "upheld" ? "bad" : a.status === "dismissed" ? "ok" : "warn"}">${esc(a.status)}</span></td>
            <td>${a.decided_at ? `${esc(a.action || "")} ${esc(a.decision_comment)}${a.score_after != null ? ` <span class="muted">score ${a.score_before ?? "—"} → ${a.score_after}</span>` : ""}` : ""}</td>
            <td>${a.status === "open" ? `<button class="small" data-decide="${a.id}">Decide</button>` : ""}</td></tr>`)
          .join("") || `<tr><td colspan="8" class="muted">No ${esc(status)} appeals.</td></tr>`}</tbody></table></div>
      <h2 style="margin-top:1.5rem">Appeal rates</h2>
      <p class="muted">Appeal rate: appeals / approved visits (voided visits count as approved). Upheld rate: upheld / decided.</p>
      <div class="card table-wrap"><table id="appeal-stats">
        <thead><tr><th>Location / shopper</th><th class="num">Approved visits</th><th class="num">Appeals</th><th class="num">Open</th>
          <th class="num">Upheld</th><th class="num">Dismissed</th><th class="num">Appeal rate</th><th class="num">Upheld rate</th></tr></thead>
        <tbody>${rateRow("<strong>All</strong>", stats.total, 'data-total="true"')}
          <tr><th colspan="8">Per location</th></tr>
          ${stats.locations.map((l) => rateRow(`${esc(l.code)} <span class="muted">${esc(l.name)}</span>`, l, `data-location="${l.location_id}"`)).join("")}
          <tr><th colspan="8">Per shopper</th></tr>
          ${stats.shoppers.map((s) => rateRow(esc(s.username ?? "—"), s, `data-shopper="${s.shopper_id ?? ""}"`)).join("")}
        </tbody></table></div>`;
    container.querySelector("#status-pick").addEventListener("change", (event) => {
      status = event.target.value;
      message = "";
      draw();
    });
    for (const button of container.querySelectorAll("button[data-decide]")) {
      button.addEventListener("click", () => {
        deciding = Number(button.dataset.decide);
        message = "";
        draw();
      });
    }
    if (current) wireForm(current, steps);
  }
  await draw();
  return { refresh: () => (deciding ? null : draw()) };
}
