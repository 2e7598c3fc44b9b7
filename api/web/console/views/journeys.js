// Journey versions of the project: draft or published, what each changed, publish a draft.
import { get, post } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText } from "../util.js";

export async function render(container, projectId) {
  let message = "";

  async function draw() {
    const [project, versions] = await Promise.all([
      get(`/projects/${projectId}`),
      get(`/projects/${projectId}/journeys`),
    ]);
    container.innerHTML = `
      <div class="row"><h1>Journeys</h1><span class="muted">${versions.length} version(s)</span></div>
      ${message}
      <div class="card table-wrap"><table id="journeys-table">
        <thead><tr><th>Journey</th><th class="num">Version</th><th>Status</th><th class="num">Steps</th><th class="num">Questions</th>
          <th>Created</th><th>Published</th><th>Changes against the previous version</th><th></th></tr></thead>
        <tbody>${versions
          .map((v) => `<tr data-version="${v.id}" data-status="${v.status}">
            <td>${esc(v.name)} <span class="muted">${esc(v.key)}</span>${v.id === project.journey_version_id ? ` <span class="badge ok">in use</span>` : ""}</td>
            <td class="num">${v.version}</td><td><span class="badge ${v.status === "published" ? "ok" : "warn"}">${esc(v.status)}</span></td>
            <td class="num">${v.steps}</td><td class="num">${v.questions}</td>
            <td>${fmtDateTime(v.created_at)}</td><td>${fmtDateTime(v.published_at)}</td>
            <td>${changes(v.changes)}</td>
            <td>${v.status === "draft" ? `<button class="small" data-publish="${v.id}">Publish</button>` : ""}</td></tr>`)
          .join("")}</tbody></table></div>
      <p class="muted">Load a new version with <code>POST /api/v1/projects/${projectId}/journeys</code> (YAML or JSON); a
      published version never changes once visits use it.</p>`;
    for (const button of container.querySelectorAll("button[data-publish]")) {
      button.addEventListener("click", async () => {
        if (!confirm("Publish this draft? It becomes immutable and the project's current version.")) return;
        try {
          const v = await post(`/journey-versions/${button.dataset.publish}/publish`);
          message = notice("ok", `${esc(v.name)} version ${v.version} published.`);
        } catch (error) {
          message = notice("error", esc(problemText(error)));
        }
        await draw();
      });
    }
  }
  await draw();
}

function changes(c) {
  if (!c) return `<span class="muted">first version</span>`;
  const parts = [
    ["added_steps", "+ steps"],
    ["removed_steps", "− steps"],
    ["changed_steps", "~ steps"],
    ["added_questions", "+ questions"],
    ["removed_questions", "− questions"],
    ["changed_questions", "~ questions"],
  ]
    .filter(([k]) => c[k]?.length)
    .map(([k, label]) => `<div><strong>${label}:</strong> ${c[k].map(esc).join(", ")}</div>`);
  return parts.length ? parts.join("") : `<span class="muted">no change</span>`;
}
