// Every project the user manages with its fieldwork progress, all in one request
// (GET /projects/progress, up to 200 projects a page).
import { getAllPages } from "/web/common/api.js";
import { STAGES, esc, legend, notice, pct, problemText, progressBar } from "../util.js";

export async function render(container, _id, ctx) {
  async function draw() {
    if (!ctx.projects.length) {
      container.innerHTML = `<h1>Projects</h1>${notice("", "You manage no project yet.")}`;
      return;
    }
    let projects;
    try {
      projects = await getAllPages("/projects/progress?limit=200");
    } catch (error) {
      container.innerHTML = `<h1>Projects</h1>${notice("error", esc(problemText(error)))}`;
      return;
    }
    container.innerHTML = `
      <h1>Projects</h1>
      ${legend()}
      <div class="grid" style="margin-top:.8rem">${projects.map(card).join("")}</div>`;
  }
  await draw();
  return { refresh: draw };
}

function card(progress) {
  const id = progress.project_id;
  const links = [
    ["Progress", ""],
    ["Review queue", "/review"],
    ["Planner", "/planner"],
    ["Locations", "/locations"],
    ["Shoppers", "/shoppers"],
    ["Journeys", "/journeys"],
  ]
    .map(([label, path]) => `<a href="#/projects/${id}${path}">${label}</a>`)
    .join("");
  const t = progress.totals;
  return `<section class="card project-card stack" data-project="${id}">
    <div class="row"><h2 style="margin:0"><a href="#/projects/${id}">${esc(progress.name)}</a></h2>
      <span class="badge">${esc(progress.status)}</span>
      <span class="muted">${pct(t.approved, t.planned)}% approved</span></div>
    ${progressBar(t)}
    <div class="table-wrap"><table class="compact">
      <thead><tr>${STAGES.map(([, label]) => `<th class="num">${label}</th>`).join("")}</tr></thead>
      <tbody><tr>${STAGES.map(([key]) => `<td class="num${t[key] ? "" : " zero"}" data-stage="${key}">${t[key]}</td>`).join("")}</tr></tbody>
    </table></div>
    ${breakdown("Waves", progress.waves.filter((w) => w.counts.total).map((w) => [w.name || "No wave", w.counts]))}
    ${breakdown("Regions", progress.regions.map((r) => [r.region || "No region", r.counts]))}
    <div class="links">${links}</div>
  </section>`;
}

function breakdown(title, rows) {
  if (!rows.length) return "";
  return `<div class="breakdown"><span class="muted">${title}:</span> ${rows
    .map(([name, c]) => `<span class="part">${esc(name)} <strong>${c.approved}</strong>/${c.planned} approved${c.submitted ? `, ${c.submitted} to review` : ""}</span>`)
    .join(" · ")}</div>`;
}
