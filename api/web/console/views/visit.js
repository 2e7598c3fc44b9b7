// One visit under review: every step's answers, photos and emotions, the QC flags, a map of the
// check-in against the shop, and the decision (approve / return with a deadline / reject).
import { blobUrl, get, post } from "/web/common/api.js";
import { esc, fmtDateTime, notice, problemText, severityBadge, statusBadge } from "../util.js";
import { checkinMap } from "./map.js";

const ANTICIPATION_MS = 150; // scoring.ANTICIPATION_MS: faster answers are excluded from the index

export async function render(container, visitId, ctx) {
  const urls = [];
  let message = "";

  async function draw() {
    const review = await get(`/visits/${visitId}/review`);
    ctx.setProject(review.project_id);
    const visit = review.visit;
    const [version, location, project] = await Promise.all([
      get(`/journey-versions/${visit.journey_version_id}`).catch(() => null),
      get(`/projects/${review.project_id}/locations/${review.location.id}`).catch(() => review.location),
      get(`/projects/${review.project_id}`),
    ]);
    const steps = orderedSteps(version?.definition, visit.steps);
    const points = visit.steps
      .filter((s) => s.latitude != null)
      .map((s) => ({ latitude: s.latitude, longitude: s.longitude, label: `Step ${s.step_key}` }));
    if (visit.checkout?.latitude != null) points.push({ ...visit.checkout, label: "Check-out" });

    container.innerHTML = `
      <p class="links"><a href="#/projects/${review.project_id}/review">← Review queue</a></p>
      <div class="row"><h1>Visit #${visit.id} — ${esc(review.location.name)}</h1>
        <span id="visit-status">${statusBadge(visit.status)}</span> ${severityBadge(review.worst_severity)}</div>
      ${message}
      <div class="visit-layout">
        <div class="stack">
          <section class="card row" id="visit-facts">
            <span>Shopper <strong>${esc(review.shopper.name)}</strong>
              <span class="muted">rating ${review.shopper.rating ?? "—"}, ${review.shopper.approved_visits} approved</span></span>
            <span>Location <strong>${esc(review.location.code)}</strong> ${esc(review.location.city)} <span class="muted">${esc(review.location.region)}</span></span>
            <span>Started ${fmtDateTime(visit.started_at)}</span>
            <span>Submitted ${fmtDateTime(visit.submitted_at)}</span>
            ${visit.missing_media.length ? `<span class="error">${visit.missing_media.length} photo(s) not uploaded</span>` : ""}
          </section>
          ${steps.map((s) => stepCard(s, visit, review.current_flags)).join("")}
        </div>
        <aside>
          <section class="card" id="map"><h2>Check-in</h2>${checkinMap({
            shop: location,
            checkin: visit.checkin,
            points,
          })}</section>
          <section class="card" id="flags"><h2>QC flags ${review.qc_runs.length ? `<span class="muted" style="font-weight:normal">run ${review.qc_runs[0].run} of ${review.qc_runs.length}</span>` : ""}</h2>
            ${flagList(review.current_flags)}</section>
          <section class="card decision" id="decision">${decision(visit, review, project)}</section>
          <section class="card"><h2>History</h2>${history(review.reviews)}</section>
        </aside>
      </div>`;
    bindDecision(review);
    loadPhotos();
  }

  function loadPhotos() {
    for (const img of container.querySelectorAll("img[data-media]")) {
      blobUrl(`/media/${img.dataset.media}`)
        .then((url) => {
          urls.push(url);
          img.src = url;
          img.closest("a")?.setAttribute("href", url);
        })
        .catch(() => img.replaceWith(Object.assign(document.createElement("span"), { className: "error", textContent: "photo unavailable" })));
    }
  }

  function bindDecision(review) {
    const form = container.querySelector("#decision form");
    if (!form) return;
    form.addEventListener("submit", (event) => event.preventDefault());
    for (const button of form.querySelectorAll("button[data-action]")) {
      button.addEventListener("click", async () => {
        const action = button.dataset.action;
        const comment = form.comment.value.trim();
        const error = form.querySelector(".form-error");
        error.textContent = "";
        if ((action === "return" || action === "reject" || action === "revoke") && !comment) {
          error.textContent = `Say why in the comment before you ${action === "return" ? "return" : action} the visit.`;
          form.comment.focus();
          return;
        }
        const body = { action, comment };
        if (action === "return" && form.resubmit_by?.value) {
          body.resubmit_by = new Date(form.resubmit_by.value).toISOString();
        }
        for (const b of form.querySelectorAll("button")) b.disabled = true;
        try {
          const done = await post(`/visits/${visitId}/review`, body);
          const words = { approve: "approved", return: "returned to the shopper", reject: "rejected", revoke: "approval revoked" };
          message = notice("ok", `Visit ${words[action]}${done.resubmit_by ? `; resubmit before ${fmtDateTime(done.resubmit_by)}` : ""}. <a href="#/projects/${review.project_id}/review">Back to the queue</a>`);
          await draw();
        } catch (e) {
          error.textContent = problemText(e);
          for (const b of form.querySelectorAll("button")) b.disabled = false;
        }
      });
    }
  }

  await draw();
  return {
    // Only this visit's events matter, and they must not wipe a comment being written.
    refresh(event) {
      if (Number(event?.data?.visit_id) !== visitId) return;
      const comment = container.querySelector('#decision textarea[name="comment"]');
      if (comment && (comment.value || document.activeElement === comment)) return;
      draw();
    },
    stop: () => urls.forEach((url) => URL.revokeObjectURL(url)),
  };
}

/** The journey's steps in order, each with its observation (steps not in the journey come last). */
function orderedSteps(definition, observations) {
  const byKey = new Map(observations.map((o) => [o.step_key, o]));
  const out = [];
  for (const phase of definition?.phases || []) {
    for (const step of phase.steps) {
      out.push({ phase, step, obs: byKey.get(step.key) || null });
      byKey.delete(step.key);
    }
  }
  for (const obs of byKey.values()) out.push({ phase: null, step: { key: obs.step_key, name: obs.step_key, questions: [] }, obs });
  return out;
}

function stepCard({ phase, step, obs }, visit, flags) {
  const mine = flags.filter((f) => f.step_key === step.key);
  const tone = mine.some((f) => f.severity === "fail") ? "failed" : mine.some((f) => f.severity === "warn") ? "flagged" : "";
  const media = visit.media.filter((m) => m.step_key === step.key);
  if (!obs) {
    return `<section class="card step-card ${tone}" data-step="${esc(step.key)}"><h2>${esc(step.name)}</h2><p class="muted">Not recorded.</p>${mine.length ? flagList(mine) : ""}</section>`;
  }
  const shown = new Set();
  const answers = (step.questions || []).map((q) => {
    const uuids = [...(Array.isArray(obs.answers[q.key]) && q.type === "photo" ? obs.answers[q.key] : []), ...(obs.evidence[q.key] || [])];
    uuids.forEach((u) => shown.add(u));
    return `<dt>${esc(q.text)}</dt><dd data-question="${esc(q.key)}">${answerText(q, obs.answers[q.key])}${photos(uuids)}</dd>`;
  });
  const unknown = Object.keys(obs.answers).filter((k) => !(step.questions || []).some((q) => q.key === k));
  for (const key of unknown) answers.push(`<dt>${esc(key)}</dt><dd data-question="${esc(key)}">${esc(JSON.stringify(obs.answers[key]))}</dd>`);
  const rest = media.filter((m) => !shown.has(m.client_uuid)).map((m) => m.client_uuid);
  const seconds = obs.started_at && obs.ended_at ? Math.round((new Date(obs.ended_at) - new Date(obs.started_at)) / 1000) : null;
  return `<section class="card step-card ${tone}" data-step="${esc(step.key)}">
    <div class="row"><h2 style="margin:0">${esc(step.name)}</h2>
      ${phase ? `<span class="muted">${esc(phase.name)}</span>` : ""}
      ${step.touchpoint ? `<span class="badge">${esc(step.touchpoint)}</span>` : ""}
      <span class="muted">${seconds != null ? `${seconds} s` : ""}${obs.revision > 1 ? ` · revision ${obs.revision}` : ""}</span></div>
    <dl class="answers" style="margin-top:.6rem">${answers.join("")}</dl>
    ${obs.notes ? `<p><strong>Notes:</strong> ${esc(obs.notes)}</p>` : ""}
    ${rest.length ? `<div><span class="muted">Other photos</span>${photos(rest)}</div>` : ""}
    ${emotions(obs)}
    ${mine.length ? `<h3>Flags</h3>${flagList(mine)}` : ""}
  </section>`;
}

function answerText(question, answer) {
  if (answer === undefined || answer === null || answer === "") return `<span class="muted">not answered</span>`;
  if (typeof answer === "object" && !Array.isArray(answer) && answer.na) return `<span class="badge">N/A</span>`;
  const label = (key) => (question.options || []).find((o) => o.key === key)?.label ?? key;
  switch (question.type) {
    case "yes_no":
      return answer === "yes" ? "Yes" : answer === "no" ? "No" : esc(answer);
    case "single_choice":
      return esc(label(answer));
    case "multi_choice":
      return Array.isArray(answer) && answer.length ? answer.map((k) => esc(label(k))).join(", ") : `<span class="muted">none</span>`;
    case "photo":
      return `${Array.isArray(answer) ? answer.length : 0} photo(s)`;
    case "scale": {
      const max = question.scale?.max;
      return `<strong>${esc(answer)}</strong>${max != null ? ` / ${max}` : ""}`;
    }
    default:
      return esc(typeof answer === "object" ? JSON.stringify(answer) : answer);
  }
}

function photos(uuids) {
  if (!uuids.length) return "";
  return `<div class="photos">${uuids
    .map((u) => `<a target="_blank" rel="noopener"><img data-media="${esc(u)}" alt="Photo ${esc(u.slice(0, 8))}"></a>`)
    .join("")}</div>`;
}

function emotions(obs) {
  const c = obs.conscious;
  const parts = [];
  if (c) {
    const valence = c.valence > 0 ? `+${c.valence}` : `${c.valence}`;
    parts.push(`<span data-emotion="conscious">Conscious: valence <strong>${valence}</strong>${c.arousal ? `, arousal ${c.arousal}/5` : ""}${c.emotion ? `, ${esc(c.emotion)}${c.intensity ? ` (${c.intensity}/5)` : ""}` : ""}${c.note ? ` — “${esc(c.note)}”` : ""}</span>`);
  }
  for (const p of obs.probes || []) {
    const excluded = p.choice === null || p.choice === undefined ? "timeout" : p.latency_ms < ANTICIPATION_MS ? "too fast" : p.latency_ms > p.deadline_ms ? "late" : "";
    parts.push(`<span class="probe${excluded ? " excluded" : ""}" data-emotion="probe">Gut reaction (${esc(p.kind)}, ${esc(p.stimulus)}): <strong>${esc(p.choice ?? "—")}</strong> in ${p.latency_ms} ms of ${p.deadline_ms}${excluded ? ` <em>(${excluded}, excluded)</em>` : ""}</span>`);
  }
  return parts.length ? `<div class="emotions">${parts.join("")}</div>` : "";
}

function flagList(flags) {
  if (!flags.length) return `<p class="muted" data-flags="0">No flags.</p>`;
  return `<ul class="flags" data-flags="${flags.length}">${flags
    .map((f) => `<li data-rule="${esc(f.rule)}">${severityBadge(f.severity)}<span><strong>${esc(f.rule)}</strong>${f.step_key ? ` <span class="muted">${esc(f.step_key)}${f.question_key ? ` / ${esc(f.question_key)}` : ""}</span>` : ""}<br>${esc(f.message)}</span></li>`)
    .join("")}</ul>`;
}

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function decision(visit, review, project) {
  if (visit.status === "submitted") {
    const hours = project.qc?.return_deadline_hours ?? 48;
    const deadline = new Date(Date.now() + hours * 3600 * 1000);
    return `<h2>Decision</h2><form class="stack" style="gap:.6rem">
      <label>Comment (required to return or reject; the shopper sees it on a return)
        <textarea name="comment" maxlength="4000"></textarea></label>
      <label>Resubmit before (for a return)
        <input type="datetime-local" name="resubmit_by" value="${localInput(deadline)}"></label>
      <p class="form-error error" role="alert"></p>
      <div class="actions">
        <button type="button" data-action="approve">Approve</button>
        <button type="button" class="secondary" data-action="return">Return to shopper</button>
        <button type="button" class="danger" data-action="reject">Reject</button>
      </div></form>`;
  }
  if (visit.status === "approved") {
    return `<h2>Decision</h2><p>Approved: the visit feeds the results.</p><form class="stack" style="gap:.6rem">
      <label>Comment <textarea name="comment" maxlength="4000"></textarea></label>
      <p class="form-error error" role="alert"></p>
      <div class="actions"><button type="button" class="danger" data-action="revoke">Revoke approval</button></div></form>`;
  }
  if (visit.status === "returned") {
    return `<h2>Decision</h2><p>Returned to the shopper${review.resubmit_by ? `; resubmit before <strong>${fmtDateTime(review.resubmit_by)}</strong>` : ""}.</p>
      <p class="muted">It comes back to the queue when the shopper sends it again.</p>`;
  }
  return `<h2>Decision</h2><p>This visit is ${esc(visit.status.replace("_", " "))}; nothing to decide.</p>`;
}

function history(reviews) {
  if (!reviews.length) return `<p class="muted">No decision yet.</p>`;
  return `<ol class="history">${reviews
    .map((r) => `<li data-action="${esc(r.action)}"><strong>${esc(r.action.replace("_", " "))}</strong> ${fmtDateTime(r.created_at)}${r.comment ? ` — ${esc(r.comment)}` : ""}${r.resubmit_by ? ` <span class="muted">(until ${fmtDateTime(r.resubmit_by)})</span>` : ""}</li>`)
    .join("")}</ol>`;
}
