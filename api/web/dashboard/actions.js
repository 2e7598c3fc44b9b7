// The action plans page: /dashboard/actions.html?project=[&new=pain_point|gap|manual&steps=a,b][&plan=ID]
// Plans due for a re-check first, a form that turns a pain point or gap of the CX map into a
// plan (prefilled from the map's "Plan an action" links), every plan with its status, owner and
// dates, status changes, and the impact of a plan on its steps' scores.
// While the page is open, approvals re-read what depends on results (live.js): the steps' scores,
// gaps and flags in the form, and every impact table that is open. Plans change only when someone
// edits them, which sends no event.
import { ApiError, get, patch, post } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import { flagsOf, stepsOf } from "./cxgrid.js";
import * as fmt from "./format.js";
import { follow, markChanges, snapshot } from "./live.js";
import {
  apiQuery,
  day,
  isoDay,
  mayWriteActions,
  pageUrl,
  problemText,
  projectNav,
  readUrl,
  startPage,
} from "./pages.js";
import {
  defaultRecheck,
  fetchPlans,
  impactTable,
  recheckList,
  SOURCE_NAMES,
  STATUS_NAMES,
  statusBadge,
  stepNames,
  TRANSITIONS,
} from "./plans.js";

const main = document.getElementById("main");

class ActionsPage {
  constructor(user, project, doc, params, filters) {
    this.user = user;
    this.writer = mayWriteActions(user);
    this.project = project;
    this.setMap(doc);
    this.params = params;
    this.filters = filters;
    this.plans = [];
    this.statusFilter = "";
    this.loads = 0;
    this.mapLoads = 0;
  }

  /** The unfiltered CX map: the API judges a plan's pain point or gap on all approved visits. */
  setMap(doc) {
    this.doc = doc;
    this.steps = stepsOf(doc);
    this.names = Object.fromEntries(this.steps.map((s) => [s.step_key, s.name || s.step_key]));
  }

  /** After approvals: the steps' figures in the form (choices kept) and the open impact tables. */
  async refreshResults() {
    const ticket = ++this.mapLoads;
    let doc;
    try {
      doc = await get(`/projects/${this.project.id}/cx-map`);
    } catch {
      return; // the next event or reconnect tries again; the page keeps what it shows
    }
    if (ticket !== this.mapLoads) return;
    const changed = JSON.stringify(stepsOf(doc)) !== JSON.stringify(this.steps);
    this.setMap(doc);
    if (changed && this.writer) this.renderStepPicks(this.pickedSteps());
    const open = [...main.querySelectorAll('tr.impact-row[data-detail="impact"]')];
    await Promise.all(open.map((detail) => this.fillImpact(detail, detail.dataset.for, { mark: true })));
  }

  render() {
    const p = this.project;
    const prefill = this.params.get("new");
    main.innerHTML = `
      <div class="page-head"><h1>Action plans · ${esc(p.name)}</h1></div>
      ${projectNav(p.id, this.filters, "actions.html")}
      <p class="error" id="plans-error" role="alert"></p>
      <div class="stack">
        <section class="card recheck-panel" id="recheck-card" aria-labelledby="recheck-title">
          <h2 id="recheck-title">Due for re-check</h2>
          <p class="muted small">Their "best before" date passed: measure the journey again and record the re-check.</p>
          <div id="due-recheck"></div>
        </section>
        ${this.writer ? this.formMarkup(Boolean(prefill)) : `<p class="card muted" id="read-only">You can read these plans; only the project's team can change them.</p>`}
        <section class="card" id="plans-card" aria-labelledby="plans-title">
          <div class="page-head"><h2 id="plans-title">All action plans</h2>
            <label class="small">Status <select id="status-filter">
              <option value="">All</option>${Object.entries(STATUS_NAMES).map(([v, l]) => `<option value="${v}">${l}</option>`).join("")}
            </select></label></div>
          <div class="table-wrap" id="plans"><p class="muted">Loading…</p></div>
        </section>
      </div>`;
    main.querySelector("#status-filter").addEventListener("change", (event) => {
      this.statusFilter = event.target.value;
      this.renderPlans();
    });
    main.querySelector("#plans").addEventListener("click", (event) => this.onPlanClick(event));
    main.querySelector("#plans").addEventListener("submit", (event) => this.onEditSubmit(event));
    main.querySelector("#plans").addEventListener("change", (event) => {
      const select = event.target.closest("select[data-act=status]");
      if (select?.value) this.change(select.closest("tr[data-plan-id]"), { status: select.value });
    });
    if (this.writer) this.wireForm(prefill);
  }

  // ------------------------------------------------------------------ the new-plan form

  formMarkup(open) {
    return `<details class="card" id="new-plan"${open ? " open" : ""}>
      <summary><h2 style="display:inline">New action plan</h2></summary>
      <form class="plan-form" id="plan-form" novalidate>
        <label class="full">Title <input name="title" required maxlength="200" placeholder="e.g. A second till at rush hour"></label>
        <label>Source <select name="kind" id="plan-kind">
          <option value="pain_point">Pain point of the CX map</option>
          <option value="gap">Gap to the desired journey</option>
          <option value="manual">Other steps</option>
        </select></label>
        <label>Owner <input name="owner" maxlength="200" placeholder="Who carries it out"></label>
        <label>Due date <input name="due_on" type="date"></label>
        <label>Re-check date <input name="recheck_on" type="date" id="plan-recheck">
          <span class="small muted">Default: six months; it moves to six months after completion unless you change it.</span></label>
        <fieldset class="full step-picks" id="plan-steps"><legend class="small muted">Steps</legend></fieldset>
        <label class="full">Description <textarea name="description" rows="2" maxlength="4000"></textarea></label>
        <div class="full"><button type="submit" id="plan-create">Create action plan</button>
          <span class="error" id="plan-form-error" role="alert"></span><span class="saved" id="plan-saved" role="status"></span></div>
      </form>
    </details>`;
  }

  wireForm(prefill) {
    const form = main.querySelector("#plan-form");
    const chosen = new Set((this.params.get("steps") || "").split(",").filter(Boolean));
    if (prefill && SOURCE_NAMES[prefill]) form.kind.value = prefill;
    form.recheck_on.value = defaultRecheck();
    this.renderStepPicks(chosen);
    if (prefill && chosen.size) {
      const names = [...chosen].map((key) => this.names[key] || key).join(", ");
      form.title.value = `${form.kind.value === "gap" ? "Close the gap at" : "Fix"} ${names}`;
    }
    form.kind.addEventListener("change", () => this.renderStepPicks(this.pickedSteps()));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  pickedSteps() {
    return new Set([...main.querySelectorAll("#plan-steps input:checked")].map((input) => input.value));
  }

  /** Every step of the journey; the ones the chosen source is about first, with why. */
  renderStepPicks(chosen) {
    const kind = main.querySelector("#plan-kind").value;
    const relevant = (s) => (kind === "pain_point" ? s.flags.pain_point : kind === "gap" ? s.gap > 0 : true);
    const ordered = [...this.steps.filter(relevant), ...this.steps.filter((s) => !relevant(s))];
    const picks = ordered.map((s) => {
      const badges = flagsOf(s)
        .filter((flag) => flag !== "moment_of_truth" || kind === "manual")
        .map((flag) => `<span class="flag ${{ pain_point: "pain", moment_of_truth: "truth", opportunity: "opportunity" }[flag]}">${esc(
          { pain_point: "pain point", moment_of_truth: "moment of truth", opportunity: "opportunity" }[flag],
        )}</span>`);
      const gap = s.gap != null ? `<span class="small muted">gap ${fmt.score(s.gap)}</span>` : "";
      return `<label class="${relevant(s) ? "" : "muted"}"><input type="checkbox" name="steps" value="${esc(s.step_key)}"${chosen.has(s.step_key) ? " checked" : ""}>
        ${esc(s.name || s.step_key)} <span class="small muted">(${fmt.score(s.score)})</span> ${gap} ${badges.join(" ")}</label>`;
    });
    main.querySelector("#plan-steps").innerHTML = `<legend class="small muted">Steps (${
      kind === "pain_point" ? "pain points first" : kind === "gap" ? "steps short of their target first" : "any"
    })</legend>${picks.join("")}`;
  }

  async create() {
    const form = main.querySelector("#plan-form");
    const error = main.querySelector("#plan-form-error");
    const saved = main.querySelector("#plan-saved");
    error.textContent = "";
    saved.textContent = "";
    const steps = [...this.pickedSteps()];
    if (!form.title.value.trim()) return void (error.textContent = "Give the plan a title.");
    if (!steps.length) return void (error.textContent = "Pick at least one step.");
    const body = {
      title: form.title.value.trim(),
      description: form.description.value.trim(),
      source: { kind: form.kind.value, step_keys: steps },
      owner: form.owner.value.trim(),
      due_on: form.due_on.value || null,
    };
    // Left at the default, the API keeps moving the re-check date with completion.
    if (form.recheck_on.value && form.recheck_on.value !== defaultRecheck()) body.recheck_on = form.recheck_on.value;
    const button = main.querySelector("#plan-create");
    button.disabled = true;
    try {
      const plan = await post(`/projects/${this.project.id}/action-plans`, body);
      saved.textContent = `Created "${plan.title}".`;
      form.reset();
      form.recheck_on.value = defaultRecheck();
      this.renderStepPicks(new Set());
      // The prefill is used up: a reload should not offer it again.
      history.replaceState(null, "", pageUrl("actions.html", this.project.id, this.filters));
      await this.load();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : "The server could not be reached.";
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ the lists

  async load() {
    const ticket = ++this.loads;
    document.body.dataset.state = "loading";
    let plans;
    let due;
    try {
      [plans, due] = await Promise.all([
        fetchPlans(this.project.id),
        fetchPlans(this.project.id, "&due_for_recheck=true"),
      ]);
    } catch (error) {
      if (ticket !== this.loads) return;
      main.querySelector("#plans-error").textContent = problemText(error);
      document.body.dataset.state = "error";
      return;
    }
    if (ticket !== this.loads) return;
    main.querySelector("#plans-error").textContent = "";
    this.plans = plans;
    main.querySelector("#due-recheck").innerHTML = recheckList(due, this.project.id, this.names);
    this.renderPlans();
    document.body.dataset.state = "ready";
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
    const wanted = this.params.get("plan");
    if (wanted && ticket === 1) main.querySelector(`tr[data-plan-id="${CSS.escape(wanted)}"]`)?.scrollIntoView();
  }

  renderPlans() {
    const shown = this.plans.filter((p) => !this.statusFilter || p.status === this.statusFilter);
    const box = main.querySelector("#plans");
    if (!shown.length) {
      box.innerHTML = `<p class="empty" id="no-plans">${this.plans.length ? "No plan has this status." : "No action plans yet."}</p>`;
      return;
    }
    const today = isoDay(new Date());
    box.innerHTML = `<table class="plans-table"><thead><tr><th>Action</th><th>Source</th><th>Status</th><th>Owner</th>
      <th>Due</th><th>Re-check</th><th>Completed</th><th></th></tr></thead><tbody>${shown
        .map((p) => this.planRow(p, today))
        .join("")}</tbody></table>`;
  }

  planRow(p, today) {
    const late = p.due_on && p.due_on < today && (p.status === "open" || p.status === "in_progress");
    const controls = [];
    if (this.writer) {
      const moves = TRANSITIONS[p.status] || [];
      if (moves.includes("done")) controls.push(`<button type="button" data-act="done">Mark done</button>`);
      const others = moves.filter((s) => s !== "done");
      if (others.length) {
        controls.push(`<select data-act="status" aria-label="Change the status of ${esc(p.title)}">
          <option value="">Set status…</option>${others.map((s) => `<option value="${s}">${STATUS_NAMES[s]}</option>`).join("")}</select>`);
      }
      if (p.due_for_recheck) controls.push(`<button type="button" class="secondary" data-act="rechecked">Re-checked today</button>`);
      controls.push(`<button type="button" class="secondary" data-act="edit">Edit</button>`);
    }
    controls.push(`<button type="button" class="secondary" data-act="impact" aria-expanded="false">Impact</button>`);
    return `<tr data-plan-id="${p.id}" data-status="${esc(p.status)}" data-due-for-recheck="${p.due_for_recheck}">
      <td class="title-cell"><strong data-key="title">${esc(p.title)}</strong>
        <div class="small muted">${stepNames(p, this.names)}</div>
        ${p.description ? `<div class="small">${esc(p.description)}</div>` : ""}</td>
      <td data-label="Source">${esc(SOURCE_NAMES[p.source_kind] || p.source_kind)}</td>
      <td data-label="Status">${statusBadge(p.status)}</td>
      <td data-label="Owner" data-key="owner">${esc(p.owner) || fmt.DASH}</td>
      <td data-label="Due" data-key="due-on"${late ? ` class="due" title="Past its due date"` : ""}>${day(p.due_on)}</td>
      <td data-label="Re-check" data-key="recheck-on"${p.due_for_recheck ? ` class="due" title="Due for re-check"` : ""}>${day(p.recheck_on)}${
        p.rechecked_on ? `<div class="small muted">re-checked ${esc(p.rechecked_on)}</div>` : ""
      }</td>
      <td data-label="Completed" data-key="completed-on">${day(p.completed_on)}</td>
      <td class="actions-cell"><div class="row-actions">${controls.join("")}</div><span class="error small" data-key="row-error" role="alert"></span></td>
    </tr>`;
  }

  async onPlanClick(event) {
    const control = event.target.closest("[data-act]");
    if (!control) return;
    if (control.dataset.act === "cancel-edit") return control.closest("tr.impact-row").remove();
    const row = control.closest("tr[data-plan-id]");
    const id = row.dataset.planId;
    const act = control.dataset.act;
    if (act === "status") return; // a select: its change event does the work
    if (act === "done") return this.change(row, { status: "done" });
    if (act === "rechecked") return this.change(row, { rechecked_on: isoDay(new Date()) });
    if (act === "impact") return this.toggleImpact(row, control, id);
    if (act === "edit") return this.toggleEdit(row, id);
  }

  async change(row, body) {
    const error = row.querySelector("[data-key=row-error]");
    error.textContent = "";
    try {
      await patch(`/action-plans/${row.dataset.planId}`, body);
      await this.load();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : "The server could not be reached.";
    }
  }

  detailRow(row, kind, html) {
    const next = row.nextElementSibling;
    if (next?.classList.contains("impact-row")) next.remove();
    row.insertAdjacentHTML(
      "afterend",
      `<tr class="impact-row" data-detail="${kind}" data-for="${row.dataset.planId}"><td colspan="8">${html}</td></tr>`,
    );
    return row.nextElementSibling;
  }

  async toggleImpact(row, button, id) {
    const next = row.nextElementSibling;
    if (next?.dataset.detail === "impact") {
      next.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const detail = this.detailRow(row, "impact", `<p class="muted">Loading…</p>`);
    button.setAttribute("aria-expanded", "true");
    await this.fillImpact(detail, id);
  }

  /** Reads a plan's impact into its open detail row; `mark` highlights what changed. */
  async fillImpact(detail, id, { mark = false } = {}) {
    const ticket = (Number(detail.dataset.loads) || 0) + 1;
    detail.dataset.loads = String(ticket);
    const cell = detail.querySelector("td");
    let html;
    try {
      const impact = await get(`/action-plans/${id}/impact${apiQuery(this.filters)}`);
      const active = Object.entries(this.filters).filter(([, value]) => value);
      const scope = active.length
        ? `<p class="small" data-key="impact-filters">Only visits matching ${esc(active.map(([k, v]) => `${k} ${v}`).join(", "))}
            (the filters you came with) · <a href="${esc(pageUrl("actions.html", this.project.id))}">use every visit</a></p>`
        : "";
      html = scope + impactTable(impact);
    } catch (e) {
      if (mark) return; // a live refresh keeps the table it has
      html = `<p class="error">${esc(problemText(e))}</p>`;
    }
    if (!detail.isConnected || detail.dataset.loads !== String(ticket)) return; // closed, or read again
    const before = mark ? snapshot(cell) : null;
    cell.innerHTML = html;
    if (mark) markChanges(cell, before);
  }

  toggleEdit(row, id) {
    const next = row.nextElementSibling;
    if (next?.dataset.detail === "edit") return next.remove();
    const plan = this.plans.find((p) => String(p.id) === id);
    this.detailRow(
      row,
      "edit",
      `<form class="plan-form" data-edit="${plan.id}">
        <label>Owner <input name="owner" maxlength="200" value="${esc(plan.owner)}"></label>
        <label>Due date <input name="due_on" type="date" value="${esc(plan.due_on || "")}"></label>
        <label>Re-check date <input name="recheck_on" type="date" value="${esc(plan.recheck_on)}"></label>
        <label class="full">Description <textarea name="description" rows="2" maxlength="4000">${esc(plan.description)}</textarea></label>
        <div class="full row-actions"><button type="submit">Save</button>
          <button type="button" class="secondary" data-act="cancel-edit">Cancel</button>
          <span class="error small" data-key="edit-error" role="alert"></span></div>
      </form>`,
    );
  }

  async onEditSubmit(event) {
    const form = event.target.closest("form[data-edit]");
    if (!form) return;
    event.preventDefault();
    const plan = this.plans.find((p) => String(p.id) === form.dataset.edit);
    const body = {};
    if (form.owner.value.trim() !== plan.owner) body.owner = form.owner.value.trim();
    if ((form.due_on.value || null) !== plan.due_on) body.due_on = form.due_on.value || null;
    if (form.recheck_on.value && form.recheck_on.value !== plan.recheck_on) body.recheck_on = form.recheck_on.value;
    if (form.description.value.trim() !== plan.description) body.description = form.description.value.trim();
    try {
      if (Object.keys(body).length) await patch(`/action-plans/${plan.id}`, body);
      await this.load();
    } catch (e) {
      form.querySelector("[data-key=edit-error]").textContent = e instanceof ApiError ? e.message : "The server could not be reached.";
    }
  }
}

async function open(user) {
  const { project: projectId, filters, params } = readUrl();
  document.body.dataset.refreshes = "0";
  if (!projectId) {
    main.innerHTML = `<section class="card"><p>Pick a project on the <a href="/dashboard/">dashboard</a> first.</p></section>`;
    return;
  }
  let project;
  let doc;
  try {
    project = await get(`/projects/${encodeURIComponent(projectId)}`);
    // The unfiltered map: the API judges a plan's pain point or gap on all approved visits.
    doc = await get(`/projects/${project.id}/cx-map`);
  } catch (error) {
    main.innerHTML = `<section class="card"><p class="error" id="page-error" role="alert">${esc(problemText(error))}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
    return;
  }
  document.getElementById("project-name").textContent = project.name;
  document.title = `Action plans · ${project.name} · Fieldwork`;
  const page = new ActionsPage(user, project, doc, params, filters);
  page.render();
  follow(project.id, () => page.refreshResults());
  await page.load();
}

startPage(main, "Action plans · Fieldwork", open);
