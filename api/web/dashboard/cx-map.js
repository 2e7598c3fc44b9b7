// The CX map page: /dashboard/cx-map.html?project=&wave=&region=&location=&channel=&persona=
// One GET /projects/{id}/cx-map per view; filters live in the address like the dashboard's.
// Approvals re-read the map while the page is open (live.js) and mark the figures that changed.
import { get } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import { cxMap, levelsTable, rules } from "./cxgrid.js";
import { follow, markChanges, snapshot } from "./live.js";
import {
  apiQuery,
  filterChoices,
  filterForm,
  mayWriteActions,
  pageUrl,
  problemText,
  projectNav,
  readUrl,
  startPage,
  watchFilters,
} from "./pages.js";

const main = document.getElementById("main");
let view = null;

class CxMapPage {
  constructor(user, project, choices, filters) {
    this.user = user;
    this.project = project;
    this.choices = choices;
    this.filters = filters;
    this.loads = 0;
  }

  render() {
    const p = this.project;
    main.innerHTML = `
      <div class="page-head"><h1>CX map · ${esc(p.name)}</h1><span class="muted" id="visits-note" data-key="cx-visits"></span></div>
      <div id="nav"></div>
      <div id="filter-box"></div>
      <p class="error" id="map-error" role="alert"></p>
      <section class="card" id="cx-map-card" aria-labelledby="cx-map-title">
        <h2 id="cx-map-title">Measured journey against the desired journey</h2>
        <p class="small muted swipe-hint">Swipe sideways to see every step.</p>
        <div id="cx-map"><p class="muted">Loading…</p></div>
        <p class="cx-legend">
          <span class="flag truth">★ Moment of truth</span>
          <span class="flag pain">▼ Pain point</span>
          <span class="flag opportunity">◆ Opportunity</span>
          <span><span class="swatch measured"></span>measured score <span class="swatch desired"></span>desired target</span>
          <span><span class="swatch conscious"></span>conscious <span class="swatch implicit"></span>implicit emotion (−1…+1)</span>
        </p>
      </section>
      <div class="dash-grid" style="margin-top: 1rem">
        <section class="card" id="levels-card"><h2>Pyramid levels against the desired journey</h2><div id="cx-levels"></div></section>
        <section class="card" id="rules-card"><h2>How steps are flagged</h2><div id="cx-rules"></div></section>
      </div>`;
    this.renderControls();
  }

  renderControls() {
    main.querySelector("#nav").innerHTML = projectNav(this.project.id, this.filters, "cx-map.html");
    main.querySelector("#filter-box").innerHTML = filterForm(this.choices, this.filters);
    watchFilters(main.querySelector("#filters"), (filters) => {
      this.filters = filters;
      history.pushState(null, "", pageUrl("cx-map.html", this.project.id, filters));
      this.renderControls();
      this.load();
    });
  }

  setFilters(filters) {
    this.filters = filters;
    this.renderControls();
    return this.load();
  }

  /** Reads the map for the filters; `mark` highlights what changed since the last read. */
  async load({ mark = false } = {}) {
    const ticket = ++this.loads;
    document.body.dataset.state = "loading";
    let doc;
    try {
      doc = await get(`/projects/${this.project.id}/cx-map${apiQuery(this.filters)}`);
    } catch (error) {
      if (ticket !== this.loads) return;
      main.querySelector("#map-error").textContent = problemText(error);
      document.body.dataset.state = "error";
      return;
    }
    if (ticket !== this.loads) return; // a newer filter change is on its way
    main.querySelector("#map-error").textContent = "";
    const before = mark ? snapshot(main) : null;
    const filtered = Object.values(this.filters).some(Boolean);
    main.querySelector("#visits-note").textContent = doc.visits
      ? `${doc.visits} approved visits · desired journey v${doc.desired_journey_version}`
      : filtered
        ? "No approved visits match these filters."
        : "No approved visits yet.";
    const writer = mayWriteActions(this.user);
    const actionLink = (step) => {
      const kind = step.flags.pain_point ? "pain_point" : step.gap > 0 ? "gap" : null;
      if (!writer || !kind) return "";
      const href = pageUrl("actions.html", this.project.id, {}, { new: kind, steps: step.step_key });
      return `<a class="plan-action" href="${esc(href)}" data-plan="${esc(step.step_key)}">+ Plan an action</a>`;
    };
    main.querySelector("#cx-map").innerHTML = cxMap(doc, { actionLink, passMark: doc.statistics.pass_mark });
    main.querySelector("#cx-levels").innerHTML = levelsTable(doc.levels);
    main.querySelector("#cx-rules").innerHTML = rules(doc.statistics);
    if (mark) markChanges(main, before);
    document.body.dataset.state = "ready";
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  }
}

async function open(user) {
  const { project: projectId, filters } = readUrl();
  document.body.dataset.refreshes = "0";
  if (!projectId) {
    main.innerHTML = `<section class="card"><p>Pick a project on the <a href="/dashboard/">dashboard</a> first.</p></section>`;
    return;
  }
  let project;
  let choices;
  try {
    project = await get(`/projects/${encodeURIComponent(projectId)}`);
    choices = await filterChoices(project.id);
  } catch (error) {
    main.innerHTML = `<section class="card"><p class="error" id="page-error" role="alert">${esc(problemText(error))}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
    return;
  }
  document.getElementById("project-name").textContent = project.name;
  document.title = `CX map · ${project.name} · Fieldwork`;
  view = new CxMapPage(user, project, choices, filters);
  view.render();
  // Subscribe first: an approval that lands while the map loads queues a second read.
  follow(project.id, () => view.load({ mark: true }));
  await view.load();
}

window.addEventListener("popstate", () => view?.setFilters(readUrl().filters));
startPage(main, `CX map · Fieldwork`, open);
