// The project's review queue (worst QC outcome first), with filters and bulk approval of clean visits.
import { get, post, query } from "/web/common/api.js";
import { esc, fmtDateTime, fmtWait, notice, problemText, severityBadge } from "../util.js";

export async function render(container, projectId) {
  const filters = { severity: "", sort: "severity" };
  let cursor = null;
  let items = [];
  let message = "";

  async function load(more = false) {
    const page = await get(
      `/projects/${projectId}/review-queue${query({ ...filters, limit: 50, cursor: more ? cursor : null })}`,
    );
    items = more ? items.concat(page.items) : page.items;
    cursor = page.next_cursor;
    draw();
  }

  function draw() {
    container.innerHTML = `
      <div class="row"><h1>Review queue</h1><span class="muted" id="queue-count">${items.length}${cursor ? "+" : ""} waiting</span></div>
      ${message}
      <form class="filters card" id="queue-filters">
        <label>Worst QC flag <select name="severity">
          ${["", "fail", "warn", "info"].map((s) => `<option value="${s}"${s === filters.severity ? " selected" : ""}>${s || "any"}</option>`).join("")}
        </select></label>
        <label>Order <select name="sort">
          <option value="severity"${filters.sort === "severity" ? " selected" : ""}>worst QC first</option>
          <option value="oldest"${filters.sort === "oldest" ? " selected" : ""}>longest waiting first</option>
        </select></label>
        <span class="spacer" style="flex:1"></span>
        <button type="button" class="secondary" id="approve-clean">Approve all clean visits…</button>
      </form>
      <div class="card table-wrap" style="margin-top:1rem">
        ${items.length ? `<table id="queue">
          <thead><tr><th>Visit</th><th>QC</th><th>Location</th><th>Shopper</th><th>Submitted</th><th class="num">Waiting</th><th class="num">Flags (fail/warn/info)</th><th class="num">Returns</th><th></th></tr></thead>
          <tbody>${items.map(row).join("")}</tbody></table>` : `<p class="muted" id="queue-empty">Nothing to review.</p>`}
        ${cursor ? `<button class="secondary" id="more">More</button>` : ""}
      </div>`;
    const form = container.querySelector("#queue-filters");
    form.addEventListener("change", () => {
      filters.severity = form.severity.value;
      filters.sort = form.sort.value;
      load();
    });
    container.querySelector("#more")?.addEventListener("click", () => load(true));
    container.querySelector("#approve-clean").addEventListener("click", approveClean);
    for (const tr of container.querySelectorAll("tr[data-visit]")) {
      tr.addEventListener("click", (event) => {
        if (event.target.closest("a")) return;
        location.hash = `/visits/${tr.dataset.visit}`;
      });
    }
  }

  async function approveClean() {
    try {
      const preview = await post(`/projects/${projectId}/review-queue/approve`, { dry_run: true });
      if (!preview.count) {
        message = notice("", "No clean visit (without warn or fail flags) is waiting.");
        return draw();
      }
      if (!confirm(`Approve ${preview.count} clean visit(s)?`)) return;
      const done = await post(`/projects/${projectId}/review-queue/approve`, { comment: "Clean QC" });
      message = notice("ok", `${done.count} visit(s) approved.`);
      await load();
    } catch (error) {
      message = notice("error", esc(problemText(error)));
      draw();
    }
  }

  await load();
  return {
    refresh: () => load(),
  };
}

function row(item) {
  const c = item.flag_counts;
  return `<tr class="clickable" data-visit="${item.visit_id}" data-severity="${esc(item.worst_severity || "clean")}">
    <td><a href="#/visits/${item.visit_id}">#${item.visit_id}</a></td>
    <td>${severityBadge(item.worst_severity)}</td>
    <td>${esc(item.location.name)} <span class="muted">${esc(item.location.code)}</span><div class="muted" style="font-size:.8rem">${esc(item.location.region)}</div></td>
    <td>${esc(item.shopper_name)}</td>
    <td>${fmtDateTime(item.submitted_at)}</td>
    <td class="num">${fmtWait(item.waited_seconds)}</td>
    <td class="num">${c.fail} / ${c.warn} / ${c.info}</td>
    <td class="num">${item.returns ? `<span class="badge warn">${item.returns}</span>` : "0"}</td>
    <td><a href="#/visits/${item.visit_id}">Review</a></td>
  </tr>`;
}
