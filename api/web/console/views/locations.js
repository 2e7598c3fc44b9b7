// The project's locations, and a CSV import (POST /projects/{id}/locations/import, all rows or none).
import { getAllPages, upload } from "/web/common/api.js";
import { esc, notice } from "../util.js";

export async function render(container, projectId) {
  let message = "";
  let filter = "";

  async function draw() {
    const rows = await getAllPages(`/projects/${projectId}/locations?limit=500`);
    const shown = filter
      ? rows.filter((l) => `${l.code} ${l.name} ${l.city} ${l.region}`.toLowerCase().includes(filter.toLowerCase()))
      : rows;
    container.innerHTML = `
      <div class="row"><h1>Locations</h1><span class="muted">${rows.length} in the project</span></div>
      ${message}
      <div class="planner-grid" style="margin-bottom:1rem">
        <form class="card stack" id="import" style="gap:.5rem">
          <h2>Import a CSV</h2>
          <p class="muted" style="margin:0;font-size:.85rem">Columns: <code>code</code> and <code>name</code> required; also kind, address, postcode,
          city, country, latitude, longitude, geofence_radius_m, region, url, phone, tags (separated by ;), active.
          Existing codes are updated. One bad row refuses the whole file.</p>
          <input type="file" name="file" accept=".csv,text/csv" required>
          <div><button type="submit">Import</button></div>
        </form>
        <form class="card filters" id="filter"><label>Search <input name="q" value="${esc(filter)}" placeholder="code, name, city, region"></label></form>
      </div>
      <div class="card table-wrap"><table id="locations-table">
        <thead><tr><th>Code</th><th>Name</th><th>Kind</th><th>City</th><th>Region</th><th class="num">Lat, lon</th><th class="num">Geofence</th><th>Tags</th><th>Active</th></tr></thead>
        <tbody>${shown
          .map((l) => `<tr data-location="${l.id}"><td>${esc(l.code)}</td><td>${esc(l.name)}</td><td>${esc(l.kind)}</td><td>${esc(l.city)}</td><td>${esc(l.region)}</td>
            <td class="num">${l.latitude != null ? `${l.latitude.toFixed(5)}, ${l.longitude.toFixed(5)}` : "—"}</td><td class="num">${l.kind === "physical" ? `${l.geofence_radius_m} m` : "—"}</td>
            <td>${(l.tags || []).map((t) => `<span class="badge">${esc(t)}</span>`).join(" ")}</td><td>${l.active ? "yes" : `<span class="muted">no</span>`}</td></tr>`)
          .join("")}</tbody></table></div>`;
    container.querySelector("#import").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const data = new FormData();
      data.append("file", form.file.files[0]);
      try {
        const report = await upload(`/projects/${projectId}/locations/import`, data);
        message = notice("ok", `Imported ${report.imported} new location(s), updated ${report.updated}.`);
      } catch (error) {
        const rows = (error.problem?.errors || []).map((e) => `<li>${e.line ? `line ${e.line}, ` : ""}${esc(e.field)}: ${esc(e.message)}</li>`).join("");
        message = notice("error", `${esc(error.message)}${rows ? `<ul>${rows}</ul>` : ""}`);
      }
      await draw();
    });
    container.querySelector("#filter").addEventListener("input", (event) => {
      filter = event.target.value;
      draw().then(() => {
        const input = container.querySelector('#filter input[name="q"]');
        input.focus();
        input.setSelectionRange(filter.length, filter.length);
      });
    });
    container.querySelector("#filter").addEventListener("submit", (event) => event.preventDefault());
  }
  await draw();
}
