// One project's fieldwork progress: totals, per wave, per region and wave × region.
import { get } from "/web/common/api.js";
import { STAGES, esc, fmtDate, legend, pct, progressBar } from "../util.js";

export async function render(container, projectId) {
  async function draw() {
    const [project, progress] = await Promise.all([
      get(`/projects/${projectId}`),
      get(`/projects/${projectId}/progress`),
    ]);
    const t = progress.totals;
    const waveName = new Map(progress.waves.map((w) => [w.wave_id, w.name || "No wave"]));
    container.innerHTML = `
      <div class="row"><h1>${esc(project.name)} — progress</h1>
        <span class="muted">${pct(t.approved, t.planned)}% of planned visits approved</span></div>
      <div class="stack">
        <section class="kpis" id="totals">
          ${STAGES.map(([key, label]) => `<div class="kpi" data-stage="${key}"><div class="value${t[key] ? "" : " zero"}">${t[key]}</div><div class="label">${label}</div></div>`).join("")}
        </section>
        <section class="card">${progressBar(t)}${legend()}
          <p class="muted" style="margin:.5rem 0 0;font-size:.85rem">Planned = every assignment not declined,
          expired or cancelled. Assigned = offered or accepted; in the field = visit started;
          ${t.declined} declined and ${t.cancelled} cancelled are not shown.</p></section>
        <section class="card"><h2>Per wave</h2>${table("wave", progress.waves.map((w) => ({
          key: w.wave_id ?? "none",
          label: `${esc(w.name || "No wave")}${w.starts_on ? `<div class="muted" style="font-size:.8rem">${fmtDate(w.starts_on)} – ${fmtDate(w.ends_on)}</div>` : ""}`,
          counts: w.counts,
        })))}</section>
        <section class="card"><h2>Per region</h2>${table("region", progress.regions.map((r) => ({
          key: r.region, label: esc(r.region || "No region"), counts: r.counts,
        })))}</section>
        <section class="card"><h2>Wave × region <span class="muted" style="font-weight:normal">approved / planned</span></h2>
          ${matrix(progress, waveName)}</section>
        ${Object.keys(progress.targets).length ? `<section class="card"><h2>Desired journey</h2>
          <p>${Object.entries(progress.targets).map(([step, target]) => `${esc(step)}: <strong>${target}</strong>`).join(" · ")}</p></section>` : ""}
      </div>`;
  }
  await draw();
  return { refresh: draw };
}

function table(kind, rows) {
  if (!rows.length) return `<p class="muted">No ${kind}s yet.</p>`;
  return `<div class="table-wrap"><table data-table="${kind}">
    <thead><tr><th>${kind === "wave" ? "Wave" : "Region"}</th>${STAGES.map(([, l]) => `<th class="num">${l}</th>`).join("")}<th>Progress</th></tr></thead>
    <tbody>${rows
      .map(
        (r) => `<tr data-${kind}="${esc(r.key)}"><td>${r.label}</td>${STAGES.map(
          ([k]) => `<td class="num${r.counts[k] ? "" : " zero"}" data-stage="${k}">${r.counts[k]}</td>`,
        ).join("")}<td style="min-width:8rem">${progressBar(r.counts)}</td></tr>`,
      )
      .join("")}</tbody></table></div>`;
}

function matrix(progress, waveName) {
  if (!progress.cells.length) return `<p class="muted">No assignments yet.</p>`;
  const regions = progress.regions.map((r) => r.region);
  const waves = [...new Set(progress.cells.map((c) => c.wave_id))];
  const cell = new Map(progress.cells.map((c) => [`${c.wave_id}|${c.region}`, c.counts]));
  return `<div class="table-wrap"><table data-table="matrix"><thead><tr><th>Wave</th>${regions
    .map((r) => `<th class="num">${esc(r || "No region")}</th>`)
    .join("")}</tr></thead><tbody>${waves
    .map(
      (w) => `<tr><td>${esc(waveName.get(w) || "No wave")}</td>${regions
        .map((r) => {
          const c = cell.get(`${w}|${r}`);
          return c ? `<td class="num">${c.approved} / ${c.planned}</td>` : `<td class="num zero">—</td>`;
        })
        .join("")}</tr>`,
    )
    .join("")}</tbody></table></div>`;
}
