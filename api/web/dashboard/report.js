// The printable report of a project and wave: /dashboard/report.html?project=ID&wave_id=W
// (the dashboard's other filters apply too). Sections: CX map, customer pyramid, emotion curve,
// location ranking and open actions, each on its own A4 page when printed; "Save as PDF" in the
// browser's print dialog makes the PDF. Every figure comes from the API.
import { get, getAllPages } from "/web/common/api.js";
import { esc } from "/web/common/login.js";
import { cxMap, levelsTable, stepsOf } from "./cxgrid.js";
import * as fmt from "./format.js";
import { apiQuery, day, isoDay, problemText, projectNav, readUrl, startPage } from "./pages.js";
import { isOpen, SOURCE_NAMES, statusBadge, stepNames } from "./plans.js";
import { pyramid } from "./pyramid.js";

const main = document.getElementById("main");

export const SECTIONS = [
  ["cx-map", "CX map"],
  ["pyramid", "Customer pyramid"],
  ["emotion-curve", "Emotion curve"],
  ["location-ranking", "Location ranking"],
  ["open-actions", "Open actions"],
];

async function fetchReport(project, filters) {
  const q = apiQuery(filters);
  const base = `/projects/${project.id}`;
  const [doc, summary, locations, plans, waves] = await Promise.all([
    get(`${base}/cx-map${q}`),
    get(`${base}/results/summary${q}`),
    getAllPages(`${base}/results/locations${apiQuery(filters, { limit: 500 })}`),
    getAllPages(`${base}/action-plans?limit=500`),
    get(`${base}/waves`),
  ]);
  return { doc, summary, locations, plans, waves };
}

function section(id, title, body, first = false) {
  return `<section class="card sheet${first ? " first" : ""}" id="${id}" aria-labelledby="${id}-title">
    <h2 id="${id}-title">${esc(title)}</h2>${body}</section>`;
}

function filterText(filters, waves) {
  const wave = waves.find((w) => String(w.id) === filters.wave);
  const parts = [wave ? `Wave: ${wave.name} (${wave.starts_on} – ${wave.ends_on})` : "All waves"];
  if (filters.region) parts.push(`region ${filters.region}`);
  if (filters.location) parts.push(`location #${filters.location}`);
  if (filters.channel) parts.push(`channel ${fmt.CHANNELS[filters.channel] || filters.channel}`);
  if (filters.persona) parts.push(`persona #${filters.persona}`);
  return parts.join(" · ");
}

function render(project, filters, r) {
  const names = Object.fromEntries(stepsOf(r.doc).map((s) => [s.step_key, s.name || s.step_key]));
  const open = r.plans.filter(isOpen);
  const s = r.summary;
  const titles = Object.fromEntries(SECTIONS);
  main.innerHTML = `<article class="report">
    <div class="no-print">${projectNav(project.id, filters, "report.html")}</div>
    <header class="report-head">
      <h1>${esc(project.name)} — customer journey report</h1>
      <p class="meta" id="report-scope">${esc(filterText(filters, r.waves))}</p>
      <p class="meta">Approved visits: <strong data-key="report-visits">${fmt.count(s.visits)}</strong>
        · overall score <strong data-key="report-score">${fmt.score(s.mean_score)}</strong>
        · pass rate <strong>${fmt.rate(s.pass_rate)}</strong>
        · desired journey v${r.doc.desired_journey_version} · made ${esc(isoDay(new Date()))}</p>
    </header>
    <p class="card print-hint no-print" id="print-hint"><strong>Download PDF:</strong> print this page (Ctrl+P, ⌘P on a Mac)
      and choose <em>Save as PDF</em>; it is laid out for A4 with one section per page.
      <button type="button" id="print">Print or save as PDF</button></p>
    ${section(
      "cx-map",
      titles["cx-map"],
      `${cxMap(r.doc, { passMark: r.doc.statistics.pass_mark })}
       <p class="cx-legend small">★ moment of truth (Pearson r with the visit score ≥ ${r.doc.statistics.moment_of_truth_r}) ·
        ▼ pain point (low score or negative emotion) · ◆ opportunity (neutral emotion, good basics) ·
        lines: measured score vs desired target, conscious vs implicit emotion (−1…+1).</p>`,
      true,
    )}
    ${section(
      "pyramid",
      titles.pyramid,
      s.visits
        ? `<div class="two"><div class="pyramid-box" id="pyramid-figure">${pyramid(s.levels, s.focus_threshold)}</div>
           <div>${levelsTable(r.doc.levels)}
           <p>${s.levels.focus ? `Work on <strong data-key="report-focus">${fmt.levelName(s.levels.focus)}</strong> first: the lowest level under ${fmt.score(s.focus_threshold)}.` : `Every level scores at least ${fmt.score(s.focus_threshold)}.`}</p></div></div>`
        : `<p class="empty">No approved visits to show.</p>`,
    )}
    ${section("emotion-curve", titles["emotion-curve"], emotionFigure(r.doc))}
    ${section("location-ranking", titles["location-ranking"], locationTable(r.locations))}
    ${section("open-actions", titles["open-actions"], actionsTable(open, names, r.plans.length - open.length))}
  </article>`;
  main.querySelector("#print").addEventListener("click", () => window.print());
}

/** Conscious and implicit emotion per step as an SVG line chart, with the figures as a table. */
function emotionFigure(doc) {
  const steps = stepsOf(doc);
  if (!steps.some((s) => s.conscious != null || s.implicit != null)) return `<p class="empty">No emotions measured.</p>`;
  const W = 720;
  const H = 260;
  const left = 44;
  const right = 12;
  const top = 14;
  const bottom = 54;
  const x = (i) => left + ((i + 0.5) * (W - left - right)) / steps.length;
  const y = (v) => top + ((1 - v) / 2) * (H - top - bottom);
  const grid = [-1, -0.5, 0, 0.5, 1]
    .map(
      (v) => `<line class="${v === 0 ? "axis" : "grid"}" x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}"></line>
        <text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v > 0 ? "+" : ""}${v}</text>`,
    )
    .join("");
  const line = (key) => {
    const points = steps.map((s, i) => (s[key] == null ? null : `${x(i).toFixed(1)},${y(s[key]).toFixed(1)}`));
    const runs = points.reduce((acc, p) => (p ? (acc.at(-1).push(p), acc) : (acc.push([]), acc)), [[]]);
    const lines = runs.filter((run) => run.length > 1).map((run) => `<polyline class="${key}" points="${run.join(" ")}"></polyline>`);
    const dots = points.filter(Boolean).map((p) => {
      const [cx, cy] = p.split(",");
      return `<circle class="${key}" cx="${cx}" cy="${cy}" r="4"></circle>`;
    });
    return lines.join("") + dots.join("");
  };
  const labels = steps
    .map((s, i) => {
      const name = s.name || s.step_key;
      const short = name.length > 16 ? `${name.slice(0, 15)}…` : name;
      return `<text x="${x(i)}" y="${H - bottom + 18}" text-anchor="middle">${esc(short)}</text>`;
    })
    .join("");
  const legend = `<text x="${left}" y="${H - 8}">━ conscious (self-report)</text><text x="${left + 200}" y="${H - 8}">╍ implicit (speeded)</text>`;
  const rows = steps
    .map(
      (s) => `<tr data-step="${esc(s.step_key)}"><td>${esc(s.phase.name || s.phase.phase_key)}</td><td>${esc(s.name || s.step_key)}</td>
        <td class="num" data-key="emo-conscious">${fmt.index(s.conscious)}</td><td class="num" data-key="emo-implicit">${fmt.index(s.implicit)}</td>
        <td class="num">${fmt.index(s.emotion_gap)}</td></tr>`,
    )
    .join("");
  return `<svg class="emotion-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="Conscious and implicit emotion per step">${grid}${line("conscious")}${line("implicit")}${labels}${legend}</svg>
    <div class="table-wrap"><table><thead><tr><th>Phase</th><th>Step</th><th class="num">Conscious</th><th class="num">Implicit</th><th class="num">Gap (implicit − conscious)</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

function locationTable(rows) {
  if (!rows.length) return `<p class="empty">No approved visits to show.</p>`;
  const body = rows
    .map(
      (l) => `<tr data-location="${l.location_id}"><td class="num">${l.rank}</td><td><strong>${esc(l.code)}</strong> ${esc(l.name)}</td>
        <td>${esc(l.region)}</td><td>${esc(fmt.CHANNELS[l.channel] || l.channel)}</td>
        <td class="num" data-key="loc-visits">${fmt.count(l.visits)}</td><td class="num" data-key="loc-score">${fmt.score(l.mean_score)}</td>
        <td class="num" data-key="loc-pass">${fmt.rate(l.pass_rate)}</td><td>${fmt.levelName(l.levels.focus)}</td></tr>`,
    )
    .join("");
  return `<div class="table-wrap"><table><thead><tr><th class="num">#</th><th>Location</th><th>Region</th><th>Channel</th>
    <th class="num">Visits</th><th class="num">Score</th><th class="num">Pass rate</th><th>Focus</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

function actionsTable(plans, names, closed) {
  const note = closed ? `<p class="small muted">${closed} done or dropped plan${closed === 1 ? "" : "s"} not listed.</p>` : "";
  if (!plans.length) return `<p class="empty">No open action plans.</p>${note}`;
  const body = plans
    .map((p) => {
      const baseline = p.step_keys
        .map((key) => p.baseline?.steps?.[key]?.score)
        .filter((v) => v != null)
        .map((v) => fmt.score(v))
        .join(", ");
      return `<tr data-plan-id="${p.id}"><td><strong>${esc(p.title)}</strong><div class="small muted">${stepNames(p, names)}</div></td>
        <td>${esc(SOURCE_NAMES[p.source_kind] || p.source_kind)}</td><td>${statusBadge(p.status)}</td><td>${esc(p.owner) || fmt.DASH}</td>
        <td>${day(p.due_on)}</td><td${p.due_for_recheck ? ` class="due"` : ""}>${day(p.recheck_on)}</td><td class="num">${baseline || fmt.DASH}</td></tr>`;
    })
    .join("");
  return `<div class="table-wrap"><table class="plans-table"><thead><tr><th>Action</th><th>Source</th><th>Status</th><th>Owner</th>
    <th>Due</th><th>Re-check</th><th class="num">Score at start</th></tr></thead><tbody>${body}</tbody></table></div>${note}`;
}

async function open() {
  const { project: projectId, filters } = readUrl();
  document.body.dataset.refreshes = "0";
  if (!projectId) {
    main.innerHTML = `<section class="card"><p>Pick a project on the <a href="/dashboard/">dashboard</a> first.</p></section>`;
    return;
  }
  try {
    const project = await get(`/projects/${encodeURIComponent(projectId)}`);
    const report = await fetchReport(project, filters);
    document.getElementById("project-name").textContent = project.name;
    const wave = report.waves.find((w) => String(w.id) === filters.wave);
    document.title = `${project.name}${wave ? ` · ${wave.name}` : ""} · CX report`;
    render(project, filters, report);
  } catch (error) {
    main.innerHTML = `<section class="card"><p class="error" id="page-error" role="alert">${esc(problemText(error))}</p>
      <p><a href="/dashboard/">Back to your projects</a></p></section>`;
    document.body.dataset.state = "error";
    return;
  }
  document.body.dataset.state = "ready";
  document.body.dataset.refreshes = "1";
}

startPage(main, "Report · Fieldwork", open);
