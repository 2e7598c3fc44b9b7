// Shoppers with their quality rating and their load in this project against its caps.
import { getAllPages } from "/web/common/api.js";
import { esc } from "../util.js";

export async function render(container, projectId) {
  async function draw() {
    const rows = await getAllPages(`/projects/${projectId}/shopper-load?limit=500`);
    const period = rows[0]?.period || "";
    container.innerHTML = `
      <div class="row"><h1>Shoppers</h1><span class="muted">${rows.length} shoppers · cap period: ${esc(period)}</span></div>
      <div class="card table-wrap"><table id="shoppers-table">
        <thead><tr><th>Shopper</th><th>Region</th><th>Qualified</th><th class="num">Rating</th><th class="num">Approved visits</th>
          <th>Open assignments</th><th>This period</th><th></th></tr></thead>
        <tbody>${rows
          .map((s) => `<tr data-shopper="${s.shopper_id}">
            <td>${esc(s.name)} <span class="muted">${esc(s.username)}</span>${s.is_active ? "" : ` <span class="badge bad">disabled</span>`}</td>
            <td>${esc(s.region)}</td>
            <td>${s.qualified ? `<span class="badge ok">yes</span>` : `<span class="badge">no</span>`}</td>
            <td class="num">${s.rating != null ? s.rating.toFixed(1) : "—"}</td>
            <td class="num">${s.approved_visits}</td>
            <td data-load="open">${s.open_assignments} / ${s.max_open}${meter(s.open_assignments, s.max_open)}</td>
            <td data-load="period">${s.visits_in_period} / ${s.max_per_period}${meter(s.visits_in_period, s.max_per_period)}</td>
            <td>${s.at_cap ? `<span class="badge bad">at cap</span>` : ""}</td></tr>`)
          .join("")}</tbody></table></div>`;
  }
  await draw();
  return { refresh: draw };
}

function meter(value, max) {
  const share = Math.min(1, max ? value / max : 0);
  return `<span class="meter${share >= 1 ? " full" : ""}"><span style="width:${share * 100}%"></span></span>`;
}
