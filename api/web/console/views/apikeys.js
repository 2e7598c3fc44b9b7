// API keys of a client: create one (the key is shown once), list them, revoke one.
// Routes: POST/GET /clients/{id}/api-keys, POST /api-keys/{id}/revoke.
import { getAllPages, post } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText } from "../util.js";

const CLIENT_KEY = "fieldwork.console.client";

export async function render(container) {
  const clients = await getAllPages("/clients?limit=200");
  let clientId = Number(localStorage.getItem(CLIENT_KEY)) || clients[0]?.id || null;
  if (!clients.some((c) => c.id === clientId)) clientId = clients[0]?.id || null;
  let message = "";

  async function draw() {
    let keys = [];
    let failure = "";
    if (clientId) {
      try {
        keys = await getAllPages(`/clients/${clientId}/api-keys`);
      } catch (error) {
        failure = notice("error", `The keys could not be listed: ${esc(problemText(error))}`);
      }
    }
    container.innerHTML = `
      <h1>API keys</h1>
      <p class="muted">Keys let a client's own systems read the approved results of that client's projects. A key is shown
      once, when it is created; only its prefix is kept visible.</p>
      ${message}${failure}
      <div class="planner-grid" style="margin-bottom:1rem">
        <form class="card filters" id="client-pick"><label>Client <select name="client">
          ${clients.map((c) => `<option value="${c.id}"${c.id === clientId ? " selected" : ""}>${esc(c.name)}</option>`).join("")}
        </select></label></form>
        <form class="card stack" id="create-key" style="gap:.5rem">
          <h2>New key</h2>
          <label>Name <input name="name" required maxlength="100" placeholder="e.g. BI export"></label>
          <label>Requests per minute (optional) <input name="rate" type="number" min="1" max="100000"></label>
          <div><button type="submit"${clientId ? "" : " disabled"}>Create key</button></div>
        </form>
      </div>
      <div class="card table-wrap"><table id="keys-table">
        <thead><tr><th>Name</th><th>Prefix</th><th class="num">Requests/min</th><th>Created</th><th>Last used</th><th>Status</th><th></th></tr></thead>
        <tbody>${keys
          .map((k) => `<tr data-key="${k.id}" data-revoked="${k.revoked_at ? "true" : "false"}">
            <td>${esc(k.name)}</td><td><code>${esc(k.prefix)}…</code></td><td class="num">${k.rate_limit_per_minute ?? "—"}</td><td>${fmtDateTime(k.created_at)}</td>
            <td>${k.last_used_at ? fmtDateTime(k.last_used_at) : `<span class="muted">never</span>`}</td>
            <td>${k.revoked_at ? `<span class="badge bad">revoked ${fmtDateTime(k.revoked_at)}</span>` : `<span class="badge ok">active</span>`}</td>
            <td>${k.revoked_at ? "" : `<button class="danger small" data-revoke="${k.id}">Revoke</button>`}</td></tr>`)
          .join("") || `<tr><td colspan="7" class="muted">No keys yet.</td></tr>`}</tbody></table></div>`;

    container.querySelector("#client-pick").addEventListener("change", (event) => {
      clientId = Number(event.target.value);
      localStorage.setItem(CLIENT_KEY, String(clientId));
      message = "";
      draw();
    });
    container.querySelector("#create-key").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = { name: form.name.value.trim() };
      if (form.rate.value) body.rate_limit_per_minute = Number(form.rate.value);
      try {
        const created = await post(`/clients/${clientId}/api-keys`, body);
        message = `<section class="card stack" id="new-key" style="gap:.4rem;margin-bottom:1rem">
          <strong>Key “${esc(created.name)}” created. Copy it now: it is not shown again.</strong>
          <div class="key-once" id="key-value">${esc(created.key)}</div>
          <div><button type="button" class="secondary small" id="copy-key">Copy</button></div></section>`;
      } catch (error) {
        message = notice("error", esc(problemText(error)));
      }
      await draw();
      container.querySelector("#copy-key")?.addEventListener("click", () => {
        navigator.clipboard?.writeText(container.querySelector("#key-value").textContent);
      });
    });
    for (const button of container.querySelectorAll("button[data-revoke]")) {
      button.addEventListener("click", async () => {
        if (!confirm("Revoke this key? Systems using it stop working at once.")) return;
        try {
          await post(`/api-keys/${button.dataset.revoke}/revoke`);
          message = notice("ok", "Key revoked.");
        } catch (error) {
          message = notice("error", esc(problemText(error)));
        }
        await draw();
      });
    }
  }
  await draw();
}
