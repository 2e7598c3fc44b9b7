// Webhooks of a project: create one (its signing secret is shown once), list, delete, and the
// delivery log of each (status, attempts, last answer or error, next attempt).
// Routes: POST/GET /projects/{id}/webhooks, DELETE /webhooks/{id}, GET /webhooks/{id}/deliveries.
import { del, get, getAllPages, post } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText } from "../util.js";

const EVENTS = ["visit.approved", "visit.revoked"];

export async function render(container, projectId) {
  let message = "";
  let shown = null; // the webhook whose delivery log is open

  async function deliveriesTable(webhookId) {
    const page = await get(`/webhooks/${webhookId}/deliveries?limit=50`);
    return `<h2 style="margin-top:1.5rem">Deliveries of webhook #${webhookId} <span class="muted">(newest first, last 50)</span></h2>
      <div class="card table-wrap"><table id="deliveries-table" data-webhook="${webhookId}">
        <thead><tr><th>#</th><th>Event</th><th>Visit</th><th>Status</th><th class="num">Attempts</th><th>Last code / error</th>
          <th>Next attempt</th><th>Created</th><th>Delivered</th></tr></thead>
        <tbody>${page.items
          .map((d) => `<tr data-delivery="${d.id}" data-status="${d.status}"><td>${d.id}</td><td>${esc(d.event)}</td>
            <td>${d.visit_id ? `<a href="#/visits/${d.visit_id}">#${d.visit_id}</a>` : "—"}</td>
            <td><span class="badge ${d.status === "delivered" ? "ok" : d.status === "failed" ? "bad" : "warn"}">${esc(d.status)}</span></td>
            <td class="num">${d.attempts}</td><td>${d.last_status_code ?? ""} ${esc(d.last_error || "")}</td>
            <td>${fmtDateTime(d.next_attempt_at)}</td><td>${fmtDateTime(d.created_at)}</td><td>${fmtDateTime(d.delivered_at)}</td></tr>`)
          .join("") || `<tr><td colspan="9" class="muted">Nothing sent yet.</td></tr>`}</tbody></table></div>`;
  }

  async function draw() {
    const hooks = await getAllPages(`/projects/${projectId}/webhooks?limit=200`);
    if (shown && !hooks.some((h) => h.id === shown)) shown = null;
    const log = shown ? await deliveriesTable(shown) : "";
    container.innerHTML = `
      <div class="row"><h1>Webhooks</h1><span class="muted">${hooks.length} webhook(s)</span></div>
      <p class="muted">Each event is POSTed to the URL, signed with HMAC-SHA256 of the webhook's secret, and retried with
      back-off until the receiver answers 2xx.</p>
      ${message}
      <form class="card stack" id="create-webhook" style="gap:.5rem;margin-bottom:1rem">
        <h2>New webhook</h2>
        <label>URL <input name="url" type="url" required maxlength="2000" placeholder="https://example.com/fieldwork" style="width:100%;max-width:40rem"></label>
        <fieldset class="row"><legend>Events</legend>${EVENTS.map(
          (e) => `<label><input type="checkbox" name="events" value="${e}" checked> ${e}</label>`,
        ).join("")}</fieldset>
        <label>Description <input name="description" maxlength="500" style="width:100%;max-width:40rem"></label>
        <div><button type="submit">Create webhook</button></div>
      </form>
      <div class="card table-wrap"><table id="webhooks-table">
        <thead><tr><th>#</th><th>URL</th><th>Events</th><th>Description</th><th>Created</th><th></th></tr></thead>
        <tbody>${hooks
          .map((h) => `<tr data-webhook="${h.id}"><td>${h.id}</td><td><code>${esc(h.url)}</code></td><td>${h.events.map(esc).join(", ")}</td>
            <td>${esc(h.description)}</td><td>${fmtDateTime(h.created_at)}</td>
            <td class="row"><button class="secondary small" data-log="${h.id}">Deliveries</button>
              <button class="danger small" data-delete="${h.id}">Delete</button></td></tr>`)
          .join("") || `<tr><td colspan="6" class="muted">No webhooks yet.</td></tr>`}</tbody></table></div>
      ${log}`;

    container.querySelector("#create-webhook").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = {
        url: form.url.value.trim(),
        events: [...form.querySelectorAll("input[name=events]:checked")].map((i) => i.value),
        description: form.description.value.trim(),
      };
      try {
        const created = await post(`/projects/${projectId}/webhooks`, body);
        shown = created.id;
        message = `<section class="card stack" id="new-webhook" data-webhook="${created.id}" style="gap:.4rem;margin-bottom:1rem">
          <strong>Webhook #${created.id} created. Copy its signing secret now: it is not shown again.</strong>
          <div class="key-once" id="webhook-secret">${esc(created.secret)}</div></section>`;
      } catch (error) {
        message = notice("error", esc(problemText(error)));
      }
      await draw();
    });
    for (const button of container.querySelectorAll("button[data-log]")) {
      button.addEventListener("click", () => {
        shown = Number(button.dataset.log);
        message = "";
        draw();
      });
    }
    for (const button of container.querySelectorAll("button[data-delete]")) {
      button.addEventListener("click", async () => {
        if (!confirm("Delete this webhook and its delivery log?")) return;
        try {
          await del(`/webhooks/${button.dataset.delete}`);
          message = notice("ok", "Webhook deleted.");
        } catch (error) {
          message = notice("error", esc(problemText(error)));
        }
        await draw();
      });
    }
  }
  await draw();
  // Deliveries follow approvals: the log refreshes with the project's live events.
  return { refresh: () => (message.includes("webhook-secret") ? null : draw()) };
}
