// Every project the user manages, with its fieldwork progress (GET /projects/{id}/progress).
import { get } from "/web/common/api.js";
import { STAGES, esc, legend, notice, pct, problemText, progressBar } from "../util.js";

export async function render(container, _id, ctx) {
  async function draw() {
    if (!ctx.projects.length) {
      container.innerHTML = `<h1>Projects</h1>${notice("", "You manage no project yet.")}`;
      return;
    }
    const progress = await Promise.all(
      ctx.projects.map((p) => get(`/projects/${p.id}/progress`).catch((error) => ({ error }))),
    );
    container.innerHTML = `
      <h1>Projects</h1>
      ${legend()}
      <div class="grid" style="margin-top:.8rem">
        ${ctx.projects.map((project, i) => card(project, progress[i])).join("")}
      </div>`;
  }
  await draw();
  return { refresh: draw };
}

function card(project, progress) {
  const links = [
    ["Progress", ""],
    ["Review queue", "/review"],
    ["Planner", "/planner"],
    ["Locations", "/locations"],
    ["Shoppers", "/shoppers"],
    ["Journeys", "/journeys"],
  ]
    .map(([label, path]) => `<a href="#/projects/${project.id}${path}">${label}</a>`)
    .join("");
  if (progress.error) {
    return `<section class="card project-card" data-project="${project.id}">
      <h2>${esc(project.name)}</h2>${notice("error", esc(problemText(progress.error)))}</section>`;
  }
  const t = progress.totals;
  return `<section class="card project-card stack" data-project="${project.id}">
    <div class="row"><h2 style="margin:0"><a href="#/projects/${project.id}">${esc(project.name)}</a></h2>
      <span class="badge">${esc(project.status)}</span>
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
