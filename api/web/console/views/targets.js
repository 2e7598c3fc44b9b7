// The desired journey (target per step and per pyramid level, saved as a new version with a note),
// its versions, and the project's personas (list, create, edit).
// Routes: GET/PUT /projects/{id}/desired-journey, GET …/desired-journey/versions, /projects/{id}/personas.
import { get, getAllPages, patch, post, put } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText } from "../util.js";

const LEVELS = [
  ["basis", "Basis"],
  ["ease", "Ease"],
  ["emotion", "Emotion"],
];

/** The journey's steps in order, as [phase name, step key, step name]. */
function journeySteps(definition) {
  const out = [];
  for (const phase of definition?.phases || []) {
    for (const step of phase.steps || []) out.push([phase.name || phase.key, step.key, step.name || step.key]);
  }
  return out;
}

function targetsText(targets) {
  const keys = Object.keys(targets || {});
  if (!keys.length) return `<span class="muted">none</span>`;
  return keys.map((k) => `${esc(k)} ${targets[k]}`).join(", ");
}

export async function render(container, projectId) {
  let message = "";
  let editing = null; // the persona id whose form is shown, or "new"

  async function draw() {
    const project = await get(`/projects/${projectId}`);
    const [current, versions, personas, journey] = await Promise.all([
      get(`/projects/${projectId}/desired-journey`),
      getAllPages(`/projects/${projectId}/desired-journey/versions?limit=200`),
      getAllPages(`/projects/${projectId}/personas?limit=200`),
      project.journey_version_id ? get(`/journey-versions/${project.journey_version_id}`).catch(() => null) : null,
    ]);
    const steps = journeySteps(journey?.definition);
    for (const key of Object.keys(current.step_targets)) {
      if (!steps.some(([, k]) => k === key)) steps.push(["—", key, key]);
    }
    const value = (v) => (v == null ? "" : String(v));
    const persona = editing && editing !== "new" ? personas.find((p) => p.id === editing) : null;
    container.innerHTML = `
      <div class="row"><h1>Desired journey</h1><span class="muted" id="dj-version" data-version="${current.version}">version ${current.version}</span></div>
      ${message}
      <form class="card stack" id="desired" style="gap:.6rem">
        <p class="muted" style="margin:0">Targets are step scores from 0 to 100; an empty field has no target. Saving creates a new
        version; the results' gaps follow at once.</p>
        <div class="table-wrap"><table id="step-targets">
          <thead><tr><th>Phase</th><th>Step</th><th class="num">Target</th></tr></thead>
          <tbody>${steps
            .map(([phase, key, name]) => `<tr data-step="${esc(key)}"><td>${esc(phase)}</td><td>${esc(name)} <span class="muted">${esc(key)}</span></td>
              <td class="num"><input type="number" min="0" max="100" step="0.1" name="step:${esc(key)}" value="${value(current.step_targets[key])}" style="width:6rem"></td></tr>`)
            .join("") || `<tr><td colspan="3" class="muted">The project has no journey yet.</td></tr>`}</tbody></table></div>
        <div class="row" id="level-targets">${LEVELS.map(
          ([key, label]) => `<label>${label} <input type="number" min="0" max="100" step="0.1" name="level:${key}" value="${value(current.level_targets[key])}" style="width:6rem"></label>`,
        ).join("")}</div>
        <label>Note (why this version) <input name="note" maxlength="2000" style="width:100%;max-width:40rem" placeholder="e.g. raised the greeting target after the Q3 review"></label>
        <div><button type="submit" id="save-targets">Save as version ${current.version + 1}</button></div>
      </form>
      <h2 style="margin-top:1.5rem">Versions</h2>
      <div class="card table-wrap"><table id="dj-versions">
        <thead><tr><th class="num">Version</th><th>Saved</th><th>Note</th><th>Step targets</th><th>Level targets</th></tr></thead>
        <tbody>${versions
          .slice()
          .reverse()
          .map((v) => `<tr data-version="${v.version}"><td class="num">${v.version}</td><td>${fmtDateTime(v.created_at)}</td><td>${esc(v.note)}</td>
            <td>${targetsText(v.step_targets)}</td><td>${targetsText(v.level_targets)}</td></tr>`)
          .join("") || `<tr><td colspan="5" class="muted">No versions yet.</td></tr>`}</tbody></table></div>
      <div class="row" style="margin-top:1.5rem"><h2>Personas</h2><button class="small" id="new-persona" type="button">New persona</button></div>
      ${editing ? personaForm(persona) : ""}
      <div class="card table-wrap"><table id="personas-table">
        <thead><tr><th>Name</th><th>Description</th><th>Traits</th><th>Updated</th><th></th></tr></thead>
        <tbody>${personas
          .map((p) => `<tr data-persona="${p.id}"><td>${esc(p.name)}</td><td>${esc(p.description)}</td>
            <td><code>${esc(JSON.stringify(p.traits))}</code></td><td>${fmtDateTime(p.updated_at)}</td>
            <td><button class="secondary small" data-edit="${p.id}">Edit</button></td></tr>`)
          .join("") || `<tr><td colspan="5" class="muted">No personas yet.</td></tr>`}</tbody></table></div>`;

    container.querySelector("#desired").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { step_targets: {}, level_targets: {}, note: form.note.value.trim() };
      for (const input of form.querySelectorAll("input[type=number]")) {
        if (input.value === "") continue;
        const [kind, key] = input.name.split(/:(.*)/s);
        body[kind === "step" ? "step_targets" : "level_targets"][key] = Number(input.value);
      }
      try {
        const saved = await put(`/projects/${projectId}/desired-journey`, body);
        message = notice("ok", `Saved as version ${saved.version}.`);
      } catch (error) {
        message = notice("error", esc(problemText(error)));
      }
      await draw();
    });
    container.querySelector("#new-persona").addEventListener("click", () => {
      editing = "new";
      draw();
    });
    for (const button of container.querySelectorAll("button[data-edit]")) {
      button.addEventListener("click", () => {
        editing = Number(button.dataset.edit);
        draw();
      });
    }
    const form = container.querySelector("#persona-form");
    form?.querySelector("#persona-cancel").addEventListener("click", () => {
      editing = null;
      draw();
    });
    form?.addEventListener("submit", async (event) => {
      event.preventDefault();
      let traits;
      try {
        traits = JSON.parse(form.traits.value.trim() || "{}");
      } catch (error) {
        message = notice("error", `Traits are not valid JSON: ${esc(error.message)}`);
        return draw();
      }
      const body = { name: form.name.value.trim(), description: form.description.value, traits };
      try {
        if (persona) await patch(`/projects/${projectId}/personas/${persona.id}`, body);
        else await post(`/projects/${projectId}/personas`, body);
        message = notice("ok", `Persona “${esc(body.name)}” saved.`);
        editing = null;
      } catch (error) {
        message = notice("error", esc(problemText(error)));
      }
      await draw();
    });
  }

  function personaForm(persona) {
    return `<form class="card stack" id="persona-form" style="gap:.5rem;margin-bottom:1rem">
      <h3>${persona ? `Edit “${esc(persona.name)}”` : "New persona"}</h3>
      <label>Name <input name="name" required maxlength="100" value="${esc(persona?.name || "")}"></label>
      <label>Description <textarea name="description" rows="2" maxlength="4000">${esc(persona?.description || "")}</textarea></label>
      <label>Traits (JSON object, e.g. {"age": "30-45"}) <textarea name="traits" rows="3" style="font-family:monospace">${esc(JSON.stringify(persona?.traits || {}, null, 2))}</textarea></label>
      <div class="row"><button type="submit">Save persona</button><button type="button" class="secondary" id="persona-cancel">Cancel</button></div>
    </form>`;
  }

  await draw();
}
