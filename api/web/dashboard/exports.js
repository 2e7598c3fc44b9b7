// The dashboard's export buttons: the approved visits matching the current filters as CSV or
// Excel, one row per visit (wide) or per answer (long). The export needs the bearer header, so
// the file is fetched, turned into an object URL and saved under the server's file name.
import { ApiError, authHeader } from "/web/common/api.js";
import { apiQuery } from "./pages.js";

function fileName(response, fallback) {
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match ? decodeURIComponent(match[1]) : fallback;
}

async function download(projectId, format, layout, filters, status) {
  const path = `/api/v1/projects/${projectId}/exports/visits.${format}${apiQuery({ ...filters, persona: "" }, { layout })}`;
  status.textContent = "Preparing the export…";
  try {
    const response = await fetch(path, { headers: authHeader() });
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      throw new ApiError(response.status, problem);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName(response, `visits-${layout}.${format}`);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = "";
  } catch (error) {
    status.textContent = error instanceof ApiError ? `Export failed: ${error.message}` : "The server could not be reached.";
  }
}

/** Fills `box` with the export controls; `filters()` gives the dashboard's filters at click time. */
export function exportButtons(box, projectId, filters) {
  if (!box) return;
  box.innerHTML = `<span class="small muted">Export approved visits</span>
    <select id="export-layout" aria-label="Export layout">
      <option value="wide">one row per visit</option><option value="long">one row per answer</option>
    </select>
    <button type="button" class="secondary small" data-export="csv" id="export-csv">CSV</button>
    <button type="button" class="secondary small" data-export="xlsx" id="export-xlsx">Excel</button>
    <span class="small error" id="export-status" role="status"></span>`;
  box.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-export]");
    if (!button) return;
    const layout = box.querySelector("#export-layout").value;
    download(projectId, button.dataset.export, layout, filters(), box.querySelector("#export-status"));
  });
}
