// The appeals page: /dashboard/appeals.html?project=
// A client user disputes an approved visit while its appeal window is open and follows the
// decisions; managers and admins see the same lists read-only (they decide in the console).
// Both lists are re-read while the page is open when visits are approved or revoked, results
// change or an appeal is filed or decided, by anyone (live.js, docs/dashboard.md).
import { ApiError, get, getAllPages, post } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import * as fmt from "./format.js";
import { RESULT_EVENTS, follow, markChanges, snapshot } from "./live.js";
import { problemText, projectNav, readUrl, startPage } from "./pages.js";

const main = document.getElementById("main");
const STATUS = { open: "Open", upheld: "Upheld", dismissed: "Dismissed" };
/** What changes either list: the result events, and an appeal filed or decided. */
const EVENTS = [...RESULT_EVENTS, "appeal.changed"];

const when = (iso) => (iso ? new Date(iso).toLocaleString() : fmt.DASH);

function visitsTable(visits, filer) {
  if (!visits.length) return `<p class="empty" id="appealable-empty">No approved visit can be appealed now.</p>`;
  const rows = visits.map((v) => {
    const action = v.open_appeal_id
      ? `<span class="badge">Appeal #${v.open_appeal_id} open</span>`
      : filer
        ? `<button type="button" class="secondary small" data-appeal="${v.visit_id}">Dispute</button>`
        : "";
    return `<tr data-visit="${v.visit_id}" data-key="visit-${v.visit_id}"><td>${v.visit_id}</td><td>${esc(v.location_code)} · ${esc(v.location_name)}</td>
      <td>${esc(v.visit_day)}</td><td class="num">${fmt.score(v.score)}</td><td>${esc(when(v.appeal_until))}</td><td>${action}</td></tr>`;
  });
  return `<div class="table-wrap"><table id="appealable-table"><thead><tr><th>Visit</th><th>Location</th><th>Day</th>
    <th>Score</th><th>Appeal until</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function appealsTable(appeals) {
  if (!appeals.length) return `<p class="empty" id="appeals-empty">No appeals yet.</p>`;
  const rows = appeals.map((a) => {
    const change =
      a.score_before != null && a.score_after != null
        ? ` <span class="small muted">(score ${fmt.score(a.score_before)} → ${fmt.score(a.score_after)})</span>`
        : a.action === "void"
          ? ` <span class="small muted">(visit voided)</span>`
          : "";
    return `<tr data-appeal-id="${a.id}" data-status="${esc(a.status)}" data-key="appeal-${a.id}"><td>${a.id}</td><td>${a.visit_id}</td>
      <td>${esc(a.location_code)} · ${esc(a.location_name)}</td><td>${esc(when(a.filed_at))}</td>
      <td class="wrap">${esc(a.reason)}</td><td><span class="badge status-${esc(a.status)}">${STATUS[a.status] || esc(a.status)}</span>${change}</td>
      <td class="wrap decision">${a.decision_comment ? esc(a.decision_comment) : fmt.DASH}</td></tr>`;
  });
  return `<div class="table-wrap"><table id="appeals-table"><thead><tr><th>Appeal</th><th>Visit</th><th>Location</th>
    <th>Filed</th><th>Reason</th><th>Status</th><th>Decision</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

class AppealsPage {
  constructor(user, project) {
    this.user = user;
    this.project = project;
    this.filer = user.role === "client"; // the API lets only client users file
    this.loads = 0;
  }

  render() {
    main.innerHTML = `
      <div class="page-head"><h1>Appeals · ${esc(this.project.name)}</h1></div>
      ${projectNav(this.project.id, readUrl().filters, "appeals.html")}
      ${
        this.filer
          ? `<p class="muted small">You may dispute an approved visit you believe is wrong while its appeal window is open.
             The project's managers decide; their comment shows below.</p>`
          : `<p class="card muted" id="read-only-note">Read-only: the client's users file appeals here; the project's managers decide them in the <a href="/console/#/projects/${this.project.id}/appeals">console</a>.</p>`
      }
      <p class="error" id="page-error" role="alert"></p>
      <section class="card" id="appealable-card"><h2>Visits open to appeal</h2><div id="appealable"><p class="muted">Loading…</p></div>
        <form id="appeal-form" hidden novalidate>
          <h3>Dispute visit <span id="appeal-visit"></span></h3>
          <label>Reason <textarea name="reason" rows="3" maxlength="4000" required style="display: block; width: 100%"></textarea></label>
          <p class="error" id="appeal-error" role="alert"></p>
          <button type="submit">File the appeal</button> <button type="button" class="secondary" id="appeal-cancel">Cancel</button>
        </form>
        <p class="small" id="appeal-done" role="status"></p>
      </section>
      <section class="card" id="appeals-card"><h2>${this.filer ? "Your appeals" : "Appeals"}</h2><div id="appeals"><p class="muted">Loading…</p></div></section>`;
    const form = main.querySelector("#appeal-form");
    main.querySelector("#appealable").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-appeal]");
      if (button) this.openForm(Number(button.dataset.appeal));
    });
    main.querySelector("#appeal-cancel").addEventListener("click", () => {
      form.hidden = true;
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.file();
    });
  }

  openForm(visitId) {
    const form = main.querySelector("#appeal-form");
    this.visitId = visitId;
    form.hidden = false;
    form.reason.value = "";
    main.querySelector("#appeal-visit").textContent = String(visitId);
    main.querySelector("#appeal-error").textContent = "";
    main.querySelector("#appeal-done").textContent = "";
    form.reason.focus();
  }

  async file() {
    const form = main.querySelector("#appeal-form");
    const reason = form.reason.value.trim();
    const error = main.querySelector("#appeal-error");
    if (!reason) {
      error.textContent = "Say what is wrong with the visit.";
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;
    try {
      const appeal = await post(`/visits/${this.visitId}/appeals`, { reason });
      form.hidden = true;
      error.textContent = "";
      main.querySelector("#appeal-done").textContent = `Appeal #${appeal.id} filed for visit ${appeal.visit_id}.`;
      await this.load();
    } catch (problem) {
      // The API's own words: window closed, an appeal already open, not yours to appeal.
      error.textContent = problem instanceof ApiError ? problem.message : problemText(problem);
    } finally {
      form.querySelector("button[type=submit]").disabled = false;
    }
  }

  /** Reads both lists; `mark` highlights the rows that are new or changed since the last read. */
  async load({ mark = false } = {}) {
    const ticket = ++this.loads;
    document.body.dataset.state = "loading";
    const id = this.project.id;
    try {
      const [visits, appeals] = await Promise.all([
        getAllPages(`/projects/${id}/appealable-visits?limit=200`),
        getAllPages(`/projects/${id}/appeals?limit=200`),
      ]);
      if (ticket !== this.loads) return; // a newer read is on its way
      const before = mark ? snapshot(main) : null;
      main.querySelector("#appealable").innerHTML = visitsTable(visits, this.filer);
      main.querySelector("#appeals").innerHTML = appealsTable(appeals.reverse()); // newest first
      main.querySelector("#page-error").textContent = "";
      if (mark) markChanges(main, before);
      document.body.dataset.state = "ready";
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    } catch (error) {
      if (ticket !== this.loads) return;
      main.querySelector("#page-error").textContent = problemText(error);
      document.body.dataset.state = "error";
    }
  }
}

async function open(user) {
  const { project: projectId } = readUrl();
  if (!projectId) {
    main.innerHTML = `<section class="card"><p>Pick a project on the <a href="/dashboard/">dashboard</a> first.</p></section>`;
    return;
  }
  let project;
  try {
    project = await get(`/projects/${encodeURIComponent(projectId)}`);
  } catch (error) {
    main.innerHTML = `<section class="card"><p class="error" id="page-error" role="alert">${esc(problemText(error))}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
    return;
  }
  document.getElementById("project-name").textContent = project.name;
  document.title = `Appeals · ${project.name} · Fieldwork`;
  const page = new AppealsPage(user, project);
  page.render();
  // Subscribe first: an approval that lands while the lists load queues a second read.
  follow(project.id, () => page.load({ mark: true }), { types: EVENTS });
  await page.load();
}

startPage(main, "Appeals · Fieldwork", open);
