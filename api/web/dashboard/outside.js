// The outside data page: /dashboard/outside.html?project=&metric=&period=&wave=&region=&location=&channel=
// The client's own figures per location (NPS, CSAT …) beside the mean mystery score: a scatter,
// Pearson's r, Spearman's rho and n as GET /projects/{id}/outside-data/correlation computes them.
import { get } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import * as fmt from "./format.js";
import {
  apiQuery,
  filterChoices,
  filterForm,
  pageUrl,
  problemText,
  projectNav,
  readUrl,
  startPage,
  watchFilters,
} from "./pages.js";

const main = document.getElementById("main");
let view = null;

const coefficient = (value) => (value == null ? fmt.DASH : (value > 0 ? "+" : "") + value.toFixed(2));
const number = (value) => (value == null ? fmt.DASH : String(Math.round(value * 100) / 100));

class OutsidePage {
  constructor(project, choices, metrics, state) {
    this.project = project;
    this.choices = choices;
    this.metrics = metrics;
    this.state = state; // {metric, period, filters}
    this.chart = null;
    this.loads = 0;
  }

  url() {
    const { metric, period, filters } = this.state;
    return pageUrl("outside.html", this.project.id, { ...filters, persona: "" }, { metric, period });
  }

  render() {
    main.innerHTML = `
      <div class="page-head"><h1>Outside data · ${esc(this.project.name)}</h1></div>
      ${projectNav(this.project.id, this.state.filters, "outside.html")}
      <div id="body"></div>`;
    const body = main.querySelector("#body");
    if (!this.metrics.length) {
      body.innerHTML = `<section class="card" id="outside-empty"><p class="empty">No outside figures were imported for this project yet.</p>
        <p class="small muted">The project's managers import a CSV of your own figures per location (NPS, customer satisfaction,
        sales …); this page then sets them beside the mystery-visit scores.</p></section>`;
      document.body.dataset.state = "ready";
      return false;
    }
    body.innerHTML = `
      <form class="filters card" id="metric-form" aria-label="Metric">
        <label>Metric <select name="metric" id="metric"></select></label>
        <label>Period <select name="period" id="period"></select></label>
      </form>
      <div id="filter-box"></div>
      <p class="error" id="outside-error" role="alert"></p>
      <section class="card" id="correlation-card">
        <h2 id="correlation-title">Mystery score against the metric</h2>
        <dl class="kpis" id="coefficients">
          <div><dt>Pearson r</dt><dd id="pearson">${fmt.DASH}</dd></div>
          <div><dt>Spearman rho</dt><dd id="spearman">${fmt.DASH}</dd></div>
          <div><dt>Locations (n)</dt><dd id="n">${fmt.DASH}</dd></div>
        </dl>
        <p class="empty-notice card" id="note" hidden></p>
        <div class="chart-box"><canvas id="outside-chart" role="img" aria-label="Mean mystery score against the metric per location"></canvas></div>
        <p class="small muted">Each dot is a location: its mean visit score (approved visits matching the filters) and its value
        of the metric. Correlation is not cause.</p>
      </section>
      <section class="card" id="pairs-card"><h2>Per location</h2><div class="table-wrap" id="pairs"></div></section>`;
    const form = main.querySelector("#metric-form");
    form.metric.innerHTML = this.metrics
      .map((m) => `<option value="${esc(m.metric)}">${esc(m.metric)} (${m.locations} locations)</option>`)
      .join("");
    if (!this.metrics.some((m) => m.metric === this.state.metric)) this.state.metric = this.metrics[0].metric;
    form.metric.value = this.state.metric;
    this.renderPeriods();
    form.addEventListener("change", (event) => {
      this.state.metric = form.metric.value;
      if (event.target === form.metric) this.renderPeriods();
      this.state.period = form.period.value;
      this.changed();
    });
    this.renderFilters();
    return true;
  }

  renderPeriods() {
    const form = main.querySelector("#metric-form");
    const periods = this.metrics.find((m) => m.metric === this.state.metric)?.periods || [];
    if (!periods.includes(this.state.period)) this.state.period = "";
    form.period.innerHTML = [["", "All periods (mean)"], ...periods.map((p) => [p, p])]
      .map(([value, label]) => `<option value="${esc(value)}">${esc(label)}</option>`)
      .join("");
    form.period.value = this.state.period;
  }

  renderFilters() {
    const box = main.querySelector("#filter-box");
    box.innerHTML = filterForm(this.choices, this.state.filters);
    // The correlation takes the results filters; it has no persona filter.
    const persona = box.querySelector("#filter-persona")?.closest("label");
    if (persona) persona.style.display = "none"; // `hidden` loses to the form's label style
    watchFilters(box.querySelector("#filters"), (filters) => {
      this.state.filters = { ...filters, persona: "" };
      this.renderFilters();
      this.changed();
    });
  }

  changed() {
    history.pushState(null, "", this.url());
    main.querySelector(".project-nav").outerHTML = projectNav(this.project.id, this.state.filters, "outside.html");
    this.load();
  }

  async load() {
    const ticket = ++this.loads;
    document.body.dataset.state = "loading";
    const { metric, period, filters } = this.state;
    let doc;
    try {
      doc = await get(
        `/projects/${this.project.id}/outside-data/correlation${apiQuery({ ...filters, persona: "" }, { metric, period })}`,
      );
    } catch (error) {
      if (ticket !== this.loads) return;
      main.querySelector("#outside-error").textContent = problemText(error);
      document.body.dataset.state = "error";
      return;
    }
    if (ticket !== this.loads) return;
    main.querySelector("#outside-error").textContent = "";
    main.querySelector("#correlation-title").textContent = `Mystery score against ${doc.metric}${doc.period ? ` (${doc.period})` : ""}`;
    const pearson = main.querySelector("#pearson");
    pearson.textContent = coefficient(doc.pearson);
    pearson.dataset.value = doc.pearson ?? "";
    const spearman = main.querySelector("#spearman");
    spearman.textContent = coefficient(doc.spearman);
    spearman.dataset.value = doc.spearman ?? "";
    const n = main.querySelector("#n");
    n.textContent = String(doc.n);
    n.dataset.value = String(doc.n);
    const note = main.querySelector("#note");
    note.hidden = !doc.note;
    note.textContent = doc.note || "";
    this.draw(doc);
    main.querySelector("#pairs").innerHTML = pairsTable(doc);
    document.body.dataset.state = "ready";
  }

  draw(doc) {
    const canvas = main.querySelector("#outside-chart");
    if (!window.Chart || !canvas) return;
    const points = doc.locations
      .filter((row) => row.mean_score != null)
      .map((row) => ({ x: row.mean_score, y: row.value, label: `${row.code} · ${row.name}` }));
    this.chart?.destroy();
    this.chart = new window.Chart(canvas, {
      type: "scatter",
      data: { datasets: [{ label: doc.metric, data: points, backgroundColor: "#1f5fbf", pointRadius: 5 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => `${item.raw.label}: score ${fmt.score(item.raw.x)}, ${doc.metric} ${number(item.raw.y)}`,
            },
          },
        },
        scales: {
          x: { min: 0, max: 100, title: { display: true, text: "Mean mystery score (0–100)" } },
          y: { title: { display: true, text: doc.metric } },
        },
      },
    });
  }
}

function pairsTable(doc) {
  if (!doc.locations.length) return `<p class="empty">No location has this metric.</p>`;
  const rows = doc.locations.map(
    (row) => `<tr data-location="${row.location_id}"><td>${esc(row.code)} · ${esc(row.name)}</td>
      <td class="num">${row.visits}</td><td class="num">${fmt.score(row.mean_score)}</td>
      <td class="num">${number(row.value)}</td><td class="num">${row.periods}</td></tr>`,
  );
  return `<table id="pairs-table"><thead><tr><th>Location</th><th>Visits</th><th>Mean score</th>
    <th>${esc(doc.metric)}</th><th>Periods</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

async function open() {
  const { project: projectId, filters, params } = readUrl();
  if (!projectId) {
    main.innerHTML = `<section class="card"><p>Pick a project on the <a href="/dashboard/">dashboard</a> first.</p></section>`;
    return;
  }
  let project;
  let choices;
  let metrics;
  try {
    project = await get(`/projects/${encodeURIComponent(projectId)}`);
    [choices, metrics] = await Promise.all([
      filterChoices(project.id),
      get(`/projects/${project.id}/outside-data/metrics`),
    ]);
  } catch (error) {
    main.innerHTML = `<section class="card"><p class="error" id="page-error" role="alert">${esc(problemText(error))}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
    return;
  }
  document.getElementById("project-name").textContent = project.name;
  document.title = `Outside data · ${project.name} · Fieldwork`;
  const state = { metric: params.get("metric") || "", period: params.get("period") || "", filters: { ...filters, persona: "" } };
  view?.chart?.destroy();
  view = new OutsidePage(project, choices, metrics, state);
  if (view.render()) await view.load();
}

window.addEventListener("popstate", () => open());
startPage(main, "Outside data · Fieldwork", open);
