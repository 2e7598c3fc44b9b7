// Bulk assignment planner: wave, locations, shoppers and days make rows; a dry run shows the caps'
// verdict per row (the rule that refused it), then the allowed rows are created in one request.
import { get, getAllPages, post } from "/web/common/api.js";
import { esc, fmtDate, notice, problemText } from "../util.js";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export async function render(container, projectId) {
  const [waves, locations, shoppers] = await Promise.all([
    get(`/projects/${projectId}/waves`),
    getAllPages(`/projects/${projectId}/locations?limit=500`),
    getAllPages(`/projects/${projectId}/shopper-load?limit=500`),
  ]);
  const active = locations.filter((l) => l.active);
  const tomorrow = new Date(Date.now() + 86400000);
  const plan = { rows: [], verdicts: null, checked: false, message: "" };

  container.innerHTML = `
    <h1>Bulk assignment planner</h1>
    <form id="planner" class="stack">
      <div class="planner-grid">
        <section class="card stack" style="gap:.6rem"><h2>Wave and days</h2>
          <label>Wave <select name="wave">
            <option value="">No wave</option>
            ${waves.map((w) => `<option value="${w.id}" data-from="${w.starts_on}" data-to="${w.ends_on}">${esc(w.name)} (${fmtDate(w.starts_on)} – ${fmtDate(w.ends_on)})</option>`).join("")}
          </select></label>
          <div class="row">
            <label>From <input type="date" name="from" value="${isoDay(tomorrow)}" required></label>
            <label>To <input type="date" name="to" value="${isoDay(tomorrow)}" required></label>
          </div>
          <fieldset class="row" style="border:0;padding:0;margin:0"><legend class="muted" style="font-size:.85rem">Weekdays</legend>
            ${WEEKDAYS.map((d, i) => `<label class="check"><input type="checkbox" name="weekday" value="${(i + 1) % 7}"${i < 6 ? " checked" : ""}> ${d}</label>`).join("")}
          </fieldset>
          <div class="row">
            <label>Visit window from <input type="time" name="start" value="09:00"></label>
            <label>Window length (hours) <input type="number" name="hours" value="10" min="1" max="720" style="width:6rem"></label>
          </div>
          <label>Visits per location <input type="number" name="per_location" value="1" min="1" max="50" style="width:6rem"></label>
        </section>
        <section class="card stack" style="gap:.6rem"><h2>Locations <span class="muted" style="font-weight:normal" id="loc-count"></span></h2>
          <label class="check"><input type="checkbox" id="all-locations"> all ${active.length} active locations</label>
          <div class="checklist" id="locations">${active
            .map((l) => `<label><input type="checkbox" name="location" value="${l.id}"> ${esc(l.code)} — ${esc(l.name)} <span class="muted">${esc(l.region)}</span></label>`)
            .join("") || `<p class="muted">No active locations.</p>`}</div>
        </section>
        <section class="card stack" style="gap:.6rem"><h2>Shoppers</h2>
          <p class="muted" style="margin:0;font-size:.85rem">Rows get the chosen shoppers in turn; none chosen puts the visits on the job board.</p>
          <div class="checklist" id="shoppers">${shoppers
            .map((s) => `<label><input type="checkbox" name="shopper" value="${s.shopper_id}"> ${esc(s.name)} <span class="muted">${esc(s.region)} · open ${s.open_assignments}/${s.max_open}${s.qualified ? "" : " · not qualified"}${s.rating != null ? ` · rating ${s.rating}` : ""}</span></label>`)
            .join("") || `<p class="muted">No shoppers.</p>`}</div>
        </section>
      </div>
      <div class="row"><button type="submit" id="make-rows">Make rows</button><span class="muted" id="row-hint"></span></div>
    </form>
    <section class="card" id="plan" style="margin-top:1rem" hidden></section>`;

  const form = container.querySelector("#planner");
  const planBox = container.querySelector("#plan");
  form.wave.addEventListener("change", () => {
    const option = form.wave.selectedOptions[0];
    if (!option.dataset.from) return;
    const from = option.dataset.from < isoDay(tomorrow) ? isoDay(tomorrow) : option.dataset.from;
    form.from.value = from;
    form.to.value = option.dataset.to;
  });
  container.querySelector("#all-locations").addEventListener("change", (event) => {
    for (const box of form.querySelectorAll('input[name="location"]')) box.checked = event.target.checked;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    makeRows();
  });

  function days() {
    const weekdays = new Set([...form.querySelectorAll('input[name="weekday"]:checked')].map((b) => Number(b.value)));
    const out = [];
    const end = new Date(`${form.to.value}T00:00`);
    for (let d = new Date(`${form.from.value}T00:00`); d <= end && out.length < 366; d.setDate(d.getDate() + 1)) {
      if (weekdays.has(d.getDay())) out.push(isoDay(d));
    }
    return out;
  }

  function makeRows() {
    const picked = [...form.querySelectorAll('input[name="location"]:checked')].map((b) => Number(b.value));
    const people = [...form.querySelectorAll('input[name="shopper"]:checked')].map((b) => Number(b.value));
    const dayList = days();
    const per = Math.max(1, Number(form.per_location.value) || 1);
    const hint = container.querySelector("#row-hint");
    if (!picked.length || !dayList.length) {
      hint.textContent = !picked.length ? "Pick at least one location." : "No day in the range falls on a chosen weekday.";
      return;
    }
    hint.textContent = "";
    plan.rows = [];
    let n = 0;
    for (const locationId of picked) {
      for (let k = 0; k < per; k += 1, n += 1) {
        plan.rows.push({
          location_id: locationId,
          day: dayList[n % dayList.length],
          shopper_id: people.length ? people[n % people.length] : null,
        });
      }
    }
    plan.verdicts = null;
    plan.message = "";
    drawPlan();
  }

  function items(rows) {
    const [hh, mm] = form.start.value.split(":").map(Number);
    const hours = Math.max(1, Number(form.hours.value) || 10);
    const wave = form.wave.value ? Number(form.wave.value) : null;
    return rows.map((r) => {
      const start = new Date(`${r.day}T00:00`);
      start.setHours(hh || 0, mm || 0);
      return {
        location_id: r.location_id,
        shopper_id: r.shopper_id,
        wave_id: wave,
        window_start: start.toISOString(),
        window_end: new Date(start.getTime() + hours * 3600000).toISOString(),
      };
    });
  }

  function drawPlan() {
    planBox.hidden = false;
    const v = plan.verdicts;
    const okCount = v ? v.filter((r) => r.ok && !r.assignment_id).length : 0;
    const refused = v ? v.filter((r) => !r.ok).length : 0;
    const locName = new Map(active.map((l) => [l.id, `${l.code} — ${l.name}`]));
    planBox.innerHTML = `
      <div class="row"><h2 style="margin:0">${plan.rows.length} row(s)</h2>
        ${v ? `<span id="plan-summary"><span class="badge ok">${v.filter((r) => r.ok).length} ok</span> <span class="badge ${refused ? "bad" : ""}">${refused} refused</span></span>` : ""}
        <span class="spacer" style="flex:1"></span>
        <button type="button" class="secondary" id="dry-run">Check against the caps</button>
        <button type="button" id="create" ${plan.checked && okCount ? "" : "disabled"}>Create ${okCount || ""} allowed row(s)</button></div>
      ${plan.message}
      <div class="table-wrap"><table id="plan-rows"><thead><tr><th>#</th><th>Location</th><th>Day</th><th>Shopper</th><th>Verdict</th></tr></thead>
      <tbody>${plan.rows
        .map((r, i) => {
          const verdict = v?.[i];
          const state = !verdict ? "" : verdict.assignment_id ? "created" : verdict.ok ? "ok" : "refused";
          return `<tr data-row="${i}" data-verdict="${state}"${verdict?.rule ? ` data-rule="${esc(verdict.rule)}"` : ""}>
            <td>${i + 1}</td><td>${esc(locName.get(r.location_id) || r.location_id)}</td><td>${fmtDate(r.day)}</td>
            <td><select data-shopper="${i}" aria-label="Shopper of row ${i + 1}" ${verdict?.assignment_id ? "disabled" : ""}>
              <option value="">job board</option>
              ${shoppers.map((s) => `<option value="${s.shopper_id}"${s.shopper_id === r.shopper_id ? " selected" : ""}>${esc(s.name)}</option>`).join("")}
            </select></td>
            <td class="verdict">${verdictText(verdict)}</td></tr>`;
        })
        .join("")}</tbody></table></div>`;
    for (const select of planBox.querySelectorAll("select[data-shopper]")) {
      select.addEventListener("change", () => {
        plan.rows[Number(select.dataset.shopper)].shopper_id = select.value ? Number(select.value) : null;
        plan.checked = false;
        plan.verdicts = null;
        drawPlan();
      });
    }
    planBox.querySelector("#dry-run").addEventListener("click", dryRun);
    planBox.querySelector("#create").addEventListener("click", create);
  }

  async function dryRun() {
    const pending = plan.rows.map((r, i) => [r, i]).filter(([, i]) => !plan.verdicts?.[i]?.assignment_id);
    try {
      const result = await post(`/projects/${projectId}/assignments/bulk`, {
        items: items(pending.map(([r]) => r)),
        dry_run: true,
        all_or_nothing: false,
      });
      const verdicts = plan.verdicts ? [...plan.verdicts] : plan.rows.map(() => null);
      result.rows.forEach((row, k) => (verdicts[pending[k][1]] = row));
      plan.verdicts = verdicts;
      plan.checked = true;
      plan.message = "";
    } catch (error) {
      plan.message = notice("error", esc(problemText(error)));
    }
    drawPlan();
  }

  async function create() {
    const allowed = plan.rows.map((r, i) => [r, i]).filter(([, i]) => plan.verdicts?.[i]?.ok && !plan.verdicts[i].assignment_id);
    try {
      const result = await post(`/projects/${projectId}/assignments/bulk`, {
        items: items(allowed.map(([r]) => r)),
        dry_run: false,
        all_or_nothing: false,
      });
      result.rows.forEach((row, k) => (plan.verdicts[allowed[k][1]] = row));
      plan.checked = false;
      plan.message = notice("ok", `${result.created} assignment(s) created${result.refused ? `, ${result.refused} refused meanwhile` : ""}.`);
    } catch (error) {
      plan.message = notice("error", esc(problemText(error)));
    }
    drawPlan();
  }
}

function verdictText(verdict) {
  if (!verdict) return `<span class="muted">not checked</span>`;
  if (verdict.assignment_id) return `<span class="badge ok">created</span> <span data-assignment="${verdict.assignment_id}">#${verdict.assignment_id}</span>`;
  if (verdict.ok) return `<span class="badge ok">ok</span>`;
  return `<span class="badge bad">refused</span> <code class="rule">${esc(verdict.rule)}</code> <span class="muted">${esc(verdict.detail || "")}</span>`;
}
