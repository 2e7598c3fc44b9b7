// The project's locations, a CSV import (POST /projects/{id}/locations/import, all rows or none),
// and an import of outside figures per location (POST /projects/{id}/outside-data, all rows or none).
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
        <form class="card stack" id="outside-import" style="gap:.5rem">
          <h2>Import outside data</h2>
          <p class="muted" style="margin:0;font-size:.85rem">Figures per location from other sources (sales, NPS, footfall). Columns:
          <code>location_code</code>, <code>metric</code>, <code>value</code>, optional <code>period</code>. A figure of the same
          location, metric and period is replaced. One bad row refuses the whole file.</p>
          <input type="file" name="file" accept=".csv,text/csv" required aria-label="Outside data CSV">
          <div><button type="submit">Upload figures</button></div>
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
        message = importError(error);
      }
      await draw();
    });
    container.querySelector("#outside-import").addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData();
      data.append("file", event.target.file.files[0]);
      try {
        const report = await upload(`/projects/${projectId}/outside-data`, data);
        message = notice(
          "ok",
          `Outside data import #${report.import_id}: ${report.imported} new figure(s), ${report.replaced} replaced (${report.metrics.map(esc).join(", ")}).`,
        );
      } catch (error) {
        message = importError(error);
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

/** An import's refusal with its line-numbered errors. */
function importError(error) {
  const rows = (error.problem?.errors || [])
    .map((e) => `<li data-line="${e.line ?? ""}">${e.line ? `line ${e.line}, ` : ""}${e.field ? `${esc(e.field)}: ` : ""}${esc(e.message)}</li>`)
    .join("");
  return notice("error", `${esc(error.message)}${rows ? `<ul>${rows}</ul>` : ""}`);
}
