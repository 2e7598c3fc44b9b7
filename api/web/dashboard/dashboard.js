// One project's dashboard: filters, KPIs, charts, pyramid, rankings, pain points and gaps.
// Figures are the results API's; live events re-fetch them and mark what changed.
import { ApiError, get, getAllPages } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import * as charts from "./charts.js";
import { exportButtons } from "./exports.js";
import { fetchFigures, fetchMoreLocations } from "./figures.js";
import * as fmt from "./format.js";
import { follow, markChanges, snapshot } from "./live.js";
import { pyramid } from "./pyramid.js";
import { projectPages, recheckPanel } from "./recheck.js";

export class Dashboard {
  constructor(main, projectId, filters) {
    this.main = main;
    this.projectId = projectId;
    this.filters = { ...filters };
    this.figures = null;
    this.running = null;
    this.again = false;
    this.live = null;
    this.closed = false;
    this.refreshes = 0;
  }

  async open() {
    this.main.innerHTML = `<p class="muted">Loading…</p>`;
    let project;
    let waves;
    let locations;
    try {
      project = await get(`/projects/${encodeURIComponent(this.projectId)}`);
      [waves, locations] = await Promise.all([
        get(`/projects/${project.id}/waves`),
        getAllPages(`/projects/${project.id}/locations?limit=500`),
      ]);
    } catch (error) {
      if (this.closed) return;
      this.fail(error);
      return;
    }
    if (this.closed) return;
    this.project = project;
    this.waves = waves;
    this.locations = locations;
    document.getElementById("project-name").textContent = project.name;
    document.title = `${project.name} · Fieldwork dashboard`;
    this.main.innerHTML = skeleton(project);
    projectPages(this.main.querySelector("#project-pages"), project.id);
    recheckPanel(this.main.querySelector("#recheck-card"), project.id);
    exportButtons(this.main.querySelector("#exports"), project.id, () => this.filters);
    this.renderFilters();
    this.main.querySelector("#filters").addEventListener("change", () => this.onFilterChange());
    this.main.querySelector("#clear-filters").addEventListener("click", () => {
      this.filters = { wave: "", region: "", location: "", channel: "" };
      this.renderFilters();
      this.onFilterChange();
    });
    this.main.querySelector("#locations-more").addEventListener("click", () => this.moreLocations());
    // Subscribe first: an approval that lands while the first figures load queues a refresh.
    this.live = follow(project.id, () => this.refresh({ mark: true }));
    await this.refresh({ mark: false });
  }

  fail(error) {
    const notFound = error instanceof ApiError && (error.status === 404 || error.status === 403);
    const message = notFound
      ? "This project does not exist or is not shared with you."
      : error instanceof ApiError
        ? error.message
        : "The server could not be reached.";
    this.main.innerHTML = `<section class="card"><p class="error" id="dashboard-error" role="alert">${esc(message)}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
  }

  close() {
    this.closed = true;
    this.live?.stop();
    for (const canvas of this.main.querySelectorAll("canvas")) charts.forget(canvas);
  }

  setFilters(filters) {
    this.filters = { ...filters };
    this.renderFilters();
    return this.refresh({ mark: false });
  }

  onFilterChange() {
    const form = this.main.querySelector("#filters");
    this.filters = {
      wave: form.wave.value,
      region: form.region.value,
      location: form.location.value,
      channel: form.channel.value,
    };
    this.renderLocationOptions();
    this.filters.location = form.location.value;
    const params = new URLSearchParams({ project: this.projectId });
    for (const [name, value] of Object.entries(this.filters)) if (value) params.set(name, value);
    history.pushState(null, "", `?${params}`);
    this.refresh({ mark: false });
  }

  renderFilters() {
    const form = this.main.querySelector("#filters");
    if (!form) return;
    const regions = [...new Set(this.locations.map((l) => l.region).filter(Boolean))].sort();
    form.wave.innerHTML = options(
      this.waves.map((w) => [String(w.id), w.name]),
      "All waves",
    );
    form.region.innerHTML = options(
      regions.map((r) => [r, r]),
      "All regions",
    );
    form.channel.innerHTML = options(Object.entries(fmt.CHANNELS), "All channels");
    form.wave.value = this.filters.wave;
    form.region.value = this.filters.region;
    form.channel.value = this.filters.channel;
    this.renderLocationOptions();
  }

  renderLocationOptions() {
    const form = this.main.querySelector("#filters");
    const { region, channel } = this.filters;
    const shown = this.locations.filter(
      (l) => (!region || l.region === region) && (!channel || l.kind === channel),
    );
    form.location.innerHTML = options(
      shown.map((l) => [String(l.id), `${l.code} · ${l.name}`]),
      "All locations",
    );
    form.location.value = shown.some((l) => String(l.id) === this.filters.location)
      ? this.filters.location
      : "";
  }

  /** Re-fetches every figure; one fetch at a time, a request during a fetch runs once after. */
  async refresh({ mark }) {
    if (this.running) {
      this.again = { mark: Boolean(this.again?.mark || mark) };
      return this.running;
    }
    this.running = this.load(mark);
    try {
      await this.running;
    } finally {
      this.running = null;
    }
    if (this.again && !this.closed) {
      const next = this.again;
      this.again = false;
      await this.refresh(next);
    }
  }

  async load(mark) {
    const filters = { ...this.filters };
    let figures;
    try {
      figures = await fetchFigures(this.project.id, filters);
    } catch (error) {
      if (this.closed) return;
      const box = this.main.querySelector("#figures-error");
      if (box) box.textContent = error instanceof ApiError ? error.message : "The figures could not be loaded.";
      return;
    }
    if (this.closed) return;
    this.main.querySelector("#figures-error").textContent = "";
    const before = mark ? snapshot(this.main) : null;
    const changedCharts = mark ? chartChanges(this.figures, figures) : [];
    this.figures = figures;
    this.render(figures, filters);
    if (mark) {
      const cards = changedCharts.map((name) => this.main.querySelector(`#${name}-card`));
      markChanges(this.main, before, cards);
    }
    this.refreshes += 1;
    document.body.dataset.state = "ready";
    document.body.dataset.refreshes = String(this.refreshes);
    const stamp = this.main.querySelector("#updated");
    stamp.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  render(f, filters) {
    const filtered = Object.values(filters).some(Boolean);
    const empty = f.summary.visits === 0;
    const notice = this.main.querySelector("#empty-notice");
    notice.hidden = !empty;
    notice.textContent = filtered
      ? "No approved visits match these filters."
      : "No approved visits yet. Results appear here as soon as the first visit is approved.";
    this.main.querySelector("#dashboard").classList.toggle("is-empty", empty);

    this.main.querySelector("#kpis").innerHTML = kpis(f.summary);
    this.chart("trend", empty || !f.trend.length, (c) => charts.trend(c, f.trend));
    this.chart("phases", empty || !f.phases.length, (c) => charts.phases(c, f.phases, f.summary.pass_mark));
    const withEmotion = f.steps.some((s) => s.conscious != null || s.implicit != null);
    this.chart("emotion", empty || !withEmotion, (c) => charts.emotion(c, f.steps));
    this.main.querySelector("#emotion-table").innerHTML = emotionTable(f.steps);
    this.main.querySelector("#pyramid").innerHTML = empty
      ? emptyNote()
      : pyramid(f.summary.levels, f.summary.focus_threshold) + focusNote(f.summary);
    this.locationRows = f.locations.items;
    this.locationCursor = f.locations.next_cursor;
    this.renderLocations();
    this.main.querySelector("#regions").innerHTML = regionsTable(f.regions);
    this.main.querySelector("#pain-score").innerHTML = painTable(f.painScore, "score");
    this.main.querySelector("#pain-emotion").innerHTML = painTable(f.painEmotion, "emotion");
    this.main.querySelector("#gaps").innerHTML = gapsTable(f.gaps, this.project);
  }

  chart(name, empty, drawChart) {
    const box = this.main.querySelector(`#${name}-box`);
    const canvas = box.querySelector("canvas");
    box.hidden = empty;
    this.main.querySelector(`#${name}-empty`).hidden = !empty;
    if (empty) return;
    if (!drawChart(canvas)) box.insertAdjacentHTML("beforeend", `<p class="error">The chart library did not load.</p>`);
  }

  renderLocations() {
    this.main.querySelector("#locations").innerHTML = locationsTable(this.locationRows);
    this.main.querySelector("#locations-more").hidden = !this.locationCursor;
  }

  async moreLocations() {
    const page = await fetchMoreLocations(this.project.id, this.filters, this.locationCursor);
    this.locationRows = [...this.locationRows, ...page.items];
    this.locationCursor = page.next_cursor;
    this.renderLocations();
  }
}

// ------------------------------------------------------------------ what a refresh changed

function chartChanges(before, after) {
  if (!before) return [];
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const changed = [];
  if (!same(before.trend, after.trend)) changed.push("trend");
  if (!same(before.phases, after.phases)) changed.push("phases");
  if (!same(before.steps.map((s) => [s.conscious, s.implicit]), after.steps.map((s) => [s.conscious, s.implicit])))
    changed.push("emotion");
  if (!same(before.summary.levels, after.summary.levels)) changed.push("pyramid");
  return changed;
}

// ------------------------------------------------------------------ markup

function options(pairs, all) {
  return [`<option value="">${esc(all)}</option>`, ...pairs.map(([value, label]) => `<option value="${esc(value)}">${esc(label)}</option>`)].join("");
}

function skeleton(project) {
  const card = (name, title, body, extra = "") =>
    `<section class="card ${extra}" id="${name}-card"><h2>${title}</h2>${body}</section>`;
  const chartBody = (name, label) =>
    `<div class="chart-box" id="${name}-box"><canvas id="${name}-chart" role="img" aria-label="${label}"></canvas></div>
     <p class="empty" id="${name}-empty" hidden>No approved visits to show.</p>`;
  return `
  <div id="dashboard">
    <div class="dash-head">
      <h1>${esc(project.name)}</h1>
      <span class="muted" id="updated"></span>
      <a href="/dashboard/" class="all-projects">All projects</a>
    </div>
    <div id="project-pages"></div>
    <form class="filters card" id="filters" aria-label="Filters">
      <label>Wave <select name="wave" id="filter-wave"></select></label>
      <label>Region <select name="region" id="filter-region"></select></label>
      <label>Location <select name="location" id="filter-location"></select></label>
      <label>Channel <select name="channel" id="filter-channel"></select></label>
      <button type="button" class="secondary" id="clear-filters">Clear filters</button>
    </form>
    <div class="exports" id="exports" style="display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0 0 1rem"></div>
    <p class="error" id="figures-error" role="alert"></p>
    <p class="card empty-notice" id="empty-notice" hidden></p>
    <section class="kpis" id="kpis" aria-label="Key figures"></section>
    <section class="card recheck-panel" id="recheck-card" hidden><h2>Due for re-check</h2><div id="recheck-panel"></div></section>
    <div class="dash-grid">
      ${card("trend", "Trend per wave", chartBody("trend", "Mean score and pass rate per wave"))}
      ${card("phases", "Phases", chartBody("phases", "Mean score per phase"))}
      ${card(
        "emotion",
        "Emotion curve",
        `<p class="muted small">Conscious (self-report) and implicit (speeded) valence per step, −1…+1; the shaded band is the gap between them.</p>
         ${chartBody("emotion", "Conscious and implicit emotion per step")}
         <details><summary>As a table</summary><div class="table-wrap" id="emotion-table"></div></details>`,
        "wide",
      )}
      ${card("pyramid", "Customer pyramid", `<div id="pyramid"></div>`)}
      ${card(
        "pain",
        "Pain points",
        `<h3>Lowest scores</h3><div class="table-wrap" id="pain-score"></div>
         <h3>Most negative emotion</h3><div class="table-wrap" id="pain-emotion"></div>`,
      )}
      ${card("gaps", "Gaps to the desired journey", `<div class="table-wrap" id="gaps"></div>`, "wide")}
      ${card(
        "locations",
        "Location ranking",
        `<div class="table-wrap" id="locations"></div><button type="button" class="secondary" id="locations-more" hidden>Show more locations</button>`,
        "wide",
      )}
      ${card("regions", "Region ranking", `<div class="table-wrap" id="regions"></div>`, "wide")}
    </div>
  </div>`;
}

function kpis(s) {
  const tile = (key, label, text, value, note = "") =>
    `<div class="card kpi" id="kpi-${key}"><div class="label">${label}</div>
      <div class="value" data-key="kpi-${key}" data-value="${value ?? ""}">${text}</div>
      ${note ? `<div class="note muted">${note}</div>` : ""}</div>`;
  return [
    tile("score", "Overall score", fmt.score(s.mean_score), s.mean_score, "mean visit score, 0–100"),
    tile("pass-rate", "Pass rate", fmt.rate(s.pass_rate), s.pass_rate, `score ≥ ${fmt.score(s.pass_mark)}`),
    tile("visits", "Visits", fmt.count(s.visits), s.visits, "approved"),
    tile(
      "knockout",
      "No knock-out",
      fmt.rate(s.knockout_pass_rate),
      s.knockout_pass_rate,
      "visits without a failed knock-out",
    ),
    tile("focus", "Focus level", fmt.levelName(s.levels.focus), s.levels.focus, "fix this level first"),
  ].join("");
}

function emptyNote() {
  return `<p class="empty">No approved visits to show.</p>`;
}

function focusNote(s) {
  if (!s.levels.focus) {
    return `<p class="muted small">Every level scores at least ${fmt.score(s.focus_threshold)}.</p>`;
  }
  return `<p class="small">Work on <strong>${fmt.levelName(s.levels.focus)}</strong> first: the lowest level under ${fmt.score(s.focus_threshold)}.</p>`;
}

function table(head, rows, emptyText = "No approved visits to show.") {
  if (!rows.length) return `<p class="empty">${emptyText}</p>`;
  const th = head.map(([label, cls]) => `<th${cls ? ` class="${cls}"` : ""}>${label}</th>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const num = (key, text) => `<td class="num"${key ? ` data-key="${key}"` : ""}>${text}</td>`;

function emotionTable(steps) {
  return table(
    [["Step"], ["Score", "num"], ["Conscious", "num"], ["Implicit", "num"], ["Gap", "num"], ["Visits", "num"]],
    steps.map(
      (s) => `<tr><td>${esc(s.name || s.step_key)}</td>${num(`step-score-${s.step_key}`, fmt.score(s.mean_score))}
        ${num(`step-conscious-${s.step_key}`, fmt.index(s.conscious))}${num(`step-implicit-${s.step_key}`, fmt.index(s.implicit))}
        ${num(`step-gap-${s.step_key}`, fmt.index(s.gap))}${num("", fmt.count(s.visits))}</tr>`,
    ),
  );
}

function locationsTable(rows) {
  return table(
    [["#", "num"], ["Location"], ["Region"], ["Channel"], ["Visits", "num"], ["Score", "num"], ["Pass rate", "num"], ["Focus"]],
    rows.map(
      (l) => `<tr data-location="${l.location_id}">${num("", l.rank)}
        <td><strong>${esc(l.code)}</strong> ${esc(l.name)}</td><td>${esc(l.region)}</td>
        <td>${esc(fmt.CHANNELS[l.channel] || l.channel)}</td>
        ${num(`loc-visits-${l.location_id}`, fmt.count(l.visits))}${num(`loc-score-${l.location_id}`, fmt.score(l.mean_score))}
        ${num(`loc-pass-${l.location_id}`, fmt.rate(l.pass_rate))}<td data-key="loc-focus-${l.location_id}">${fmt.levelName(l.levels.focus)}</td></tr>`,
    ),
  );
}

function regionsTable(rows) {
  return table(
    [["#", "num"], ["Region"], ["Locations", "num"], ["Visits", "num"], ["Score", "num"], ["Pass rate", "num"], ["Focus"]],
    rows.map(
      (r) => `<tr data-region="${esc(r.region)}">${num("", r.rank)}<td>${esc(r.region)}</td>${num("", r.locations)}
        ${num(`region-visits-${esc(r.region)}`, fmt.count(r.visits))}${num(`region-score-${esc(r.region)}`, fmt.score(r.mean_score))}
        ${num(`region-pass-${esc(r.region)}`, fmt.rate(r.pass_rate))}<td>${fmt.levelName(r.levels.focus)}</td></tr>`,
    ),
  );
}

function painTable(rows, by) {
  return table(
    [["#", "num"], ["Step"], ["Score", "num"], ["Emotion", "num"], ["Visits", "num"]],
    rows.map(
      (p) => `<tr>${num("", p.rank)}<td>${esc(p.name || p.step_key)}</td>
        ${num(`pain-${by}-score-${p.step_key}`, fmt.score(p.mean_score))}${num(`pain-${by}-emotion-${p.step_key}`, fmt.index(p.emotion))}
        ${num("", fmt.count(p.visits))}</tr>`,
    ),
  );
}

function gapsTable(rows, project) {
  const noTargets = !project.targets || !Object.keys(project.targets).length;
  return table(
    [["#", "num"], ["Step"], ["Target", "num"], ["Score", "num"], ["Gap", "num"], ["Short", "num"], ["Impact", "num"]],
    rows.map((g) => {
      const width = Math.max(0, Math.min(100, g.gap));
      return `<tr class="${g.gap > 0 ? "short" : "met"}">${num("", g.rank)}<td>${esc(g.name || g.step_key)}</td>
        ${num("", fmt.score(g.target))}${num(`gap-score-${g.step_key}`, fmt.score(g.mean_score))}
        <td class="num"><span class="gap-bar" style="--w:${width}%"></span><span data-key="gap-${g.step_key}">${fmt.score(g.gap)}</span></td>
        ${num(`gap-short-${g.step_key}`, fmt.rate(g.share_short))}${num(`gap-impact-${g.step_key}`, g.impact.toFixed(1))}</tr>`;
    }),
    noTargets ? "The project states no desired journey (step targets) yet." : "No approved visits to show.",
  );
}
