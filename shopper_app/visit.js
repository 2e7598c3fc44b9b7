// The visit flow: quiz gate → GPS check-in → one screen per step (questions, gut reaction,
// conscious emotion) → review → submit. The state lives in IndexedDB after every change, so a
// closed browser resumes at the same step; every write goes through the outbox.
import * as api from "./api.js";
import * as db from "./db.js";
import * as outbox from "./outbox.js";
import { t, pick } from "./i18n.js";
import { h, render, toast, nowIso, formatDate } from "./ui.js";
import { loadBriefing } from "./briefing.js";
import { findAssignment } from "./screens.js";
import { questionWidget } from "./widgets.js";
import { consciousWidget, face } from "./emotion.js";
import { probeWidget } from "./probe.js";
import { downscale } from "./photo.js";

const APP_VERSION = "1";
const DEFAULT_EMOTIONS = { conscious: true, probes: [{ stimulus: "step", kind: "valence", deadline_ms: 1500 }] };
let watchId = null;
let lastFix = null;

// ---------------------------------------------------------------- location

const toFix = (p) => ({
  latitude: p.coords.latitude,
  longitude: p.coords.longitude,
  accuracy_m: Math.round(p.coords.accuracy * 10) / 10,
});

function currentPosition(timeout = 15000) {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) return reject(new Error("no geolocation"));
    navigator.geolocation.getCurrentPosition((p) => resolve(toFix(p)), reject, { enableHighAccuracy: true, timeout, maximumAge: 10000 });
  });
}

function watchPosition() {
  if (watchId !== null || !("geolocation" in navigator)) return;
  watchId = navigator.geolocation.watchPosition((p) => { lastFix = toFix(p); }, () => {}, { enableHighAccuracy: true, maximumAge: 30000 });
}

export function stopVisit() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
}

function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return Math.round(6371000 * 2 * Math.asin(Math.sqrt(x)));
}

// ---------------------------------------------------------------- state

/** JSON with sorted keys, to tell whether a step changed since it was queued. */
function signature(value) {
  if (Array.isArray(value)) return `[${value.map(signature).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${signature(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const isNa = (v) => v && typeof v === "object" && !Array.isArray(v) && v.na === true;
const save = (ctx) => db.put("visits", ctx.state);

function stepState(ctx, key) {
  const steps = ctx.state.steps;
  if (!steps[key]) steps[key] = { answers: {}, photos: {}, notes: "", probes: [], started_at: nowIso() };
  return steps[key];
}

function newState(assignmentId, data) {
  return {
    assignmentId,
    visitUuid: outbox.uuid(),
    journeyVersionId: data.journey_version_id,
    phase: "checkin",
    stepIndex: 0,
    steps: {},
    checkin: null,
  };
}

/** Rebuild the local state from the server's visit (a returned visit, or a new phone). */
async function stateFromServer(assignmentId, data, flat) {
  const visit = await api.get(`/assignments/${assignmentId}/visit`);
  const state = { ...newState(assignmentId, data), visitUuid: visit.client_uuid, returnComment: visit.return_comment, returnDeadline: visit.return_deadline };
  state.checkin = { at: visit.started_at, ...visit.checkin };
  const questionTypes = Object.fromEntries(flat.flatMap(({ step }) => step.questions.map((q) => [q.key, q.type])));
  for (const obs of visit.steps) {
    const answers = {};
    const photos = {};
    for (const [key, value] of Object.entries(obs.answers)) {
      if (questionTypes[key] === "photo" && Array.isArray(value)) photos[key] = value.map((uuid) => ({ uuid, thumb: null }));
      else answers[key] = value;
    }
    for (const [key, uuids] of Object.entries(obs.evidence || {})) photos[key] = uuids.map((uuid) => ({ uuid, thumb: null }));
    const s = { answers, photos, notes: obs.notes || "", probes: obs.probes || [], started_at: obs.started_at, ended_at: obs.ended_at, sentUuid: obs.client_uuid };
    if (obs.conscious) s.conscious = obs.conscious;
    s.sentSig = signature(stepContent(flat.find((f) => f.step.key === obs.step_key)?.step, s));
    state.steps[obs.step_key] = s;
  }
  const done = ["submitted", "approved", "rejected"].includes(visit.status);
  const firstOpen = flat.findIndex(({ step }) => !state.steps[step.key]);
  state.phase = done ? "done" : visit.status === "returned" || firstOpen < 0 ? "review" : "step";
  state.stepIndex = Math.max(0, firstOpen);
  return state;
}

// ---------------------------------------------------------------- entry

export async function visitScreen(assignmentId) {
  render(h("p.muted", t("loading")));
  let data;
  try {
    data = await loadBriefing(assignmentId);
  } catch (error) {
    render(h("section.card", h("p.error", error instanceof api.NetworkError ? t("needsConnection") : error.message),
      h("a.button.secondary", { href: "#/assignments" }, t("back"))));
    return;
  }
  if (!data.quiz_passed && data.briefing?.quiz) {
    render(h("section.card.gate#quiz-gate",
      h("h1", t("gate.title")), h("p", t("gate.text")),
      h("a.button.primary", { href: `#/briefing/${assignmentId}` }, t("gate.read"))));
    return;
  }
  const flat = data.journey.phases.flatMap((phase) => phase.steps.map((step) => ({ phase, step: { ...step, emotions: step.emotions || DEFAULT_EMOTIONS } })));
  flat.forEach((entry, index) => { entry.index = index; });
  const assignment = await findAssignment(assignmentId).catch(() => null);
  let state = await db.get("visits", assignmentId);
  const onServer = ["in_progress", "returned", "submitted"].includes(assignment?.status);
  const returnedAgain = assignment?.status === "returned" && state?.phase === "done";
  if ((!state && onServer) || returnedAgain) {
    state = await stateFromServer(assignmentId, data, flat).catch((error) => {
      if (!(error instanceof api.NetworkError)) console.warn(error);
      return state;
    });
  }
  if (!state && assignment?.status === "offered") {
    render(h("section.card", h("p", t("visit.acceptFirst")), h("a.button.secondary", { href: "#/assignments" }, t("back"))));
    return;
  }
  state = state || newState(assignmentId, data);
  const ctx = { assignmentId, assignment, data, flat, state };
  await save(ctx);
  watchPosition();
  show(ctx);
}

function show(ctx) {
  const screens = { checkin: checkinScreen, step: stepScreen, review: reviewScreen, done: doneScreen };
  screens[ctx.state.phase](ctx);
}

async function go(ctx, patch) {
  Object.assign(ctx.state, patch);
  await save(ctx);
  show(ctx);
}

// ---------------------------------------------------------------- check-in

function checkinScreen(ctx) {
  const loc = ctx.assignment?.location;
  const status = h("p", { role: "status" });
  const fallback = h("button.secondary", { type: "button", hidden: true, onclick: () => checkIn(null) }, t("checkin.withoutGps"));
  const button = h("button.primary.big#checkin", { type: "button", onclick: locate }, t("checkin.button"));

  async function locate() {
    button.disabled = true;
    status.textContent = t("checkin.locating");
    try {
      const fix = await currentPosition();
      await checkIn(fix);
    } catch (error) {
      status.textContent = t("checkin.noGps", { reason: error.message || "" });
      button.disabled = false;
      fallback.hidden = false;
    }
  }
  async function checkIn(fix) {
    const startedAt = nowIso();
    const body = {
      client_uuid: ctx.state.visitUuid,
      started_at: startedAt,
      ...(fix || {}),
      device: {
        user_agent: navigator.userAgent,
        platform: navigator.userAgentData?.platform || navigator.platform || "",
        app_version: APP_VERSION,
        language: navigator.language,
        screen: `${screen.width}x${screen.height}`,
      },
    };
    await outbox.enqueue({ kind: "start", assignmentId: ctx.assignmentId, clientUuid: ctx.state.visitUuid, body });
    if (fix && loc?.latitude != null) toast(t("checkin.distance", { m: metres(fix, loc) }));
    await go(ctx, { checkin: { at: startedAt, ...(fix || {}) }, phase: "step", stepIndex: 0 });
  }

  render(h("section.card.checkin",
    h("p.muted", ctx.assignment?.project_name || ""),
    h("h1", loc?.name || ctx.data.journey.name),
    loc ? h("p", [loc.address, loc.city].filter(Boolean).join(", ")) : null,
    ctx.assignment ? h("p.muted", `${formatDate(ctx.assignment.window_start)} – ${formatDate(ctx.assignment.window_end)}`) : null,
    h("p", t("checkin.explain")),
    button, status, fallback),
  h("p", h("a.button.secondary", { href: `#/briefing/${ctx.assignmentId}` }, t("briefing"))));
}

// ---------------------------------------------------------------- steps

function progressBar(ctx, index) {
  const { flat } = ctx;
  const phases = ctx.data.journey.phases;
  let offset = 0;
  const segments = phases.map((phase) => {
    const n = phase.steps.length;
    const done = Math.min(n, Math.max(0, index - offset));
    const current = index >= offset && index < offset + n;
    offset += n;
    return h("div.phase-seg", { style: `flex:${n}`, title: pick(phase, "name"), dataset: { current: String(current) } },
      h("div.fill", { style: `width:${(100 * done) / n}%` }));
  });
  const label = index < flat.length
    ? `${t("visit.step", { i: index + 1, n: flat.length })} · ${pick(flat[index].phase, "name")}`
    : t("review.title");
  return h("div.progress#progress", { dataset: { step: index + 1, total: flat.length }, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": flat.length, "aria-valuenow": index },
    h("div.bar", segments), h("p.progress-label", label));
}

function photoContext(ctx, step, s) {
  return {
    photos: (qkey) => s.photos[qkey] || [],
    addPhoto: async (qkey, file) => {
      const photo = await downscale(file);
      const uuid = outbox.uuid();
      await outbox.enqueue({ kind: "media", assignmentId: ctx.assignmentId, clientUuid: uuid, stepKey: step.key, questionKey: qkey, blob: photo.blob, filename: `${uuid}.jpg` });
      (s.photos[qkey] ||= []).push({ uuid, thumb: photo.thumb });
      await save(ctx);
      return { uuid, thumb: photo.thumb };
    },
    removePhoto: (qkey, uuid) => {
      s.photos[qkey] = (s.photos[qkey] || []).filter((p) => p.uuid !== uuid);
      // The step as last queued may still point at the photo; then it must still be uploaded,
      // unless that step is queued again without it (queueStep).
      if (s.sentSig?.includes(JSON.stringify(uuid))) (s.removedPhotos ||= []).push(uuid);
      else outbox.cancelMedia(ctx.assignmentId, uuid);
      save(ctx);
    },
  };
}

/** What the step records, without the write's own UUID and times. */
function stepContent(step, s) {
  const answers = {};
  const evidence = {};
  for (const q of step?.questions || []) {
    const value = s.answers[q.key];
    const photos = (s.photos[q.key] || []).map((p) => p.uuid);
    if (q.type === "photo") {
      if (isNa(value)) answers[q.key] = value;
      else if (photos.length) answers[q.key] = photos;
    } else {
      if (value !== undefined) answers[q.key] = value;
      if (photos.length) evidence[q.key] = photos;
    }
  }
  const content = { answers, notes: s.notes || "", probes: s.probes || [] };
  if (Object.keys(evidence).length) content.evidence = evidence;
  if (s.conscious?.valence !== undefined) content.conscious = s.conscious;
  return content;
}

/** Problems that keep the shopper on this step: {key, message}. */
function stepProblems(step, s) {
  const problems = [];
  for (const q of step.questions) {
    const value = s.answers[q.key];
    const photos = s.photos[q.key] || [];
    const na = isNa(value);
    const answered = q.type === "photo" ? na || photos.length > 0 : value !== undefined && value !== "" && !(Array.isArray(value) && !value.length);
    if (q.required !== false && !answered) problems.push({ key: q.key, message: t("v.required") });
    else if (q.type === "text" && q.min_length && typeof value === "string" && value.length < q.min_length) problems.push({ key: q.key, message: t("text.tooShort", { min: q.min_length }) });
    else if (q.type === "number" && typeof value === "number" && ((q.number?.min != null && value < q.number.min) || (q.number?.max != null && value > q.number.max))) {
      problems.push({ key: q.key, message: t("v.range", { min: q.number?.min ?? "…", max: q.number?.max ?? "…" }) });
    }
    if (q.evidence_required && q.type !== "photo" && !na && !photos.length) problems.push({ key: q.key, message: t("v.evidence") });
  }
  if (step.emotions.conscious && s.conscious?.valence === undefined) problems.push({ key: "conscious", message: t("v.emotion") });
  if (step.emotions.probes.length && (s.probes || []).length < step.emotions.probes.length) problems.push({ key: "probes", message: t("v.probe") });
  return problems;
}

async function queueStep(ctx, step, s) {
  const content = stepContent(step, s);
  const sig = signature(content);
  if (s.sentUuid && s.sentSig === sig) return;
  const clientUuid = outbox.uuid();
  s.ended_at = nowIso();
  const body = { client_uuid: clientUuid, started_at: s.started_at, ended_at: s.ended_at, ...(lastFix || {}), ...content };
  await outbox.enqueue({ kind: "step", assignmentId: ctx.assignmentId, clientUuid, stepKey: step.key, body });
  s.sentUuid = clientUuid;
  s.sentSig = sig;
  // The version that pointed at them is replaced (or already sent, and so were they).
  for (const uuid of s.removedPhotos || []) await outbox.cancelMedia(ctx.assignmentId, uuid);
  s.removedPhotos = [];
  await save(ctx);
}

function stepScreen(ctx) {
  const index = Math.min(ctx.state.stepIndex, ctx.flat.length - 1);
  const { step } = ctx.flat[index];
  const s = stepState(ctx, step.key);
  save(ctx);
  const briefingNote = ctx.data.briefing?.step_instructions?.[step.key];
  const photos = photoContext(ctx, step, s);
  const clearError = (key) => {
    const el = document.querySelector(`[data-question="${key}"] .field-error, [data-widget="${key}"] .field-error`);
    if (el) el.textContent = "";
  };

  const questions = step.questions.map((q) => questionWidget(q, q.type === "photo" && !isNa(s.answers[q.key]) ? undefined : s.answers[q.key], (value) => {
    if (q.type === "photo" && Array.isArray(value)) delete s.answers[q.key];
    else if (value === undefined) delete s.answers[q.key];
    else s.answers[q.key] = value;
    clearError(q.key);
    save(ctx);
  }, photos));
  for (const [i, q] of step.questions.entries()) {
    if (q.evidence_required && q.type !== "photo") {
      const evidence = questionWidget({ ...q, type: "photo", text: t("photo.evidence"), help: null, allow_na: false, required: false }, undefined, () => clearError(q.key), photos);
      evidence.classList.add("evidence");
      questions[i].append(evidence);
    }
  }

  const probes = step.emotions.probes.length
    ? probeWidget(step.emotions.probes, s.probes || [], () => ({ stepName: step.name, photo: Object.values(s.photos).flat().find((p) => p.thumb)?.thumb }), (records) => {
      s.probes = records;
      clearError("probes");
      save(ctx);
    })
    : null;
  probes?.append(h("p.error.field-error", { role: "alert" }));
  const conscious = step.emotions.conscious
    ? consciousWidget(step.key, s.conscious || {}, (value) => {
      if (value.valence === undefined) delete s.conscious;
      else s.conscious = value;
      clearError("conscious");
      save(ctx);
    })
    : null;
  conscious?.append(h("p.error.field-error", { role: "alert" }));

  async function next() {
    document.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
    const problems = stepProblems(step, s);
    if (problems.length) {
      for (const p of problems) {
        const el = document.querySelector(`[data-question="${p.key}"] > .field-error, [data-widget="${p.key}"] > .field-error`);
        if (el) el.textContent = p.message;
      }
      const first = document.querySelector(`[data-question="${problems[0].key}"], [data-widget="${problems[0].key}"]`);
      first?.scrollIntoView({ block: "center" });
      toast(t("v.fix", { n: problems.length }));
      return;
    }
    await queueStep(ctx, step, s);
    const last = index === ctx.flat.length - 1;
    await go(ctx, ctx.state.returnToReview || last ? { phase: "review", returnToReview: false } : { stepIndex: index + 1 });
  }
  async function back() {
    // A step sent before and changed since goes out again, as long as it is complete.
    if (s.sentUuid && !stepProblems(step, s).length) await queueStep(ctx, step, s);
    if (index === 0) location.hash = "#/assignments";
    else await go(ctx, { stepIndex: index - 1 });
  }

  render(progressBar(ctx, index),
    h("section.step", { dataset: { step: step.key } },
      h("h1", pick(step, "name")),
      step.instructions ? h("p.instructions", step.instructions) : null,
      briefingNote ? h("p.instructions.briefing-note", "ℹ ", briefingNote) : null,
      questions,
      probes,
      conscious,
      h("label.notes", t("notes"), h("textarea", { name: "notes", rows: 2, oninput: (e) => { s.notes = e.target.value; save(ctx); } }, s.notes || ""))),
    h("div.stepnav",
      h("button.secondary", { type: "button", onclick: back }, "‹ ", t("back")),
      h("button.primary#next", { type: "button", onclick: next }, index === ctx.flat.length - 1 || ctx.state.returnToReview ? t("review.go") : t("next"), " ›")));
}

// ---------------------------------------------------------------- review and submit

function summarise(q, s) {
  const value = s.answers[q.key];
  const photos = s.photos[q.key] || [];
  if (isNa(value)) return t("na");
  if (q.type === "photo") return photos.length ? t("photo.count", { n: photos.length }) : "—";
  if (value === undefined) return "—";
  if (q.type === "yes_no") return t(value);
  if (q.type === "single_choice") return pick(q.options.find((o) => o.key === value) || { label: value }, "label");
  if (q.type === "multi_choice") return value.map((k) => pick(q.options.find((o) => o.key === k) || { label: k }, "label")).join(", ") || "—";
  return String(value) + (photos.length ? ` + ${t("photo.count", { n: photos.length })}` : "");
}

function reviewScreen(ctx) {
  let problems = 0;
  const items = ctx.flat.map(({ step, phase }, index) => {
    const s = ctx.state.steps[step.key];
    const issues = s ? stepProblems(step, s) : [{ message: t("review.notVisited") }];
    const unsent = s && !s.sentUuid;
    problems += issues.length + (unsent ? 1 : 0);
    return h("li.card.review-step", { dataset: { step: step.key, ok: String(!issues.length && !unsent) } },
      h("div.row", h("strong", `${index + 1}. ${pick(step, "name")}`),
        h("button.secondary.small", { type: "button", onclick: () => go(ctx, { phase: "step", stepIndex: index, returnToReview: true }) }, t("edit"))),
      h("div.muted", pick(phase, "name")),
      s ? h("dl.answers", step.questions.map((q) => [h("dt", pick(q, "text")), h("dd", summarise(q, s))])) : null,
      s?.conscious ? h("p.emotion-summary", face(s.conscious.valence, { size: 28 }), ` ${t(`valence.${s.conscious.valence}`)}`, s.conscious.emotion ? ` · ${t(`emo.${s.conscious.emotion}`)}` : "") : null,
      s?.probes?.length ? h("p.muted", t("probe.title"), ": ", s.probes.map((p) => (p.timed_out ? t("probe.timeout") : t("probe.ms", { ms: p.latency_ms }))).join(" · ")) : null,
      issues.length ? h("ul.error", issues.map((i) => h("li", i.message))) : null);
  });
  async function submit() {
    if (problems) {
      toast(t("review.incomplete"));
      return;
    }
    // What the shopper just reviewed is what the server gets: a step edited and left without
    // "Next" (Back, or Edit from this screen) goes out again before the submission.
    for (const { step } of ctx.flat) await queueStep(ctx, step, ctx.state.steps[step.key]);
    const clientUuid = outbox.uuid();
    const body = { client_uuid: clientUuid, ended_at: nowIso(), ...(lastFix || {}) };
    await outbox.enqueue({ kind: "submit", assignmentId: ctx.assignmentId, clientUuid, body });
    await go(ctx, { phase: "done", submittedAt: body.ended_at, returnComment: null, returnDeadline: null });
  }
  render(progressBar(ctx, ctx.flat.length),
    h("h1", t("review.title")),
    ctx.state.returnComment
      ? h("p.banner", t("review.returned"), " ", h("strong", ctx.state.returnComment),
          ctx.state.returnDeadline ? h("span.deadline", ` ${t("review.deadline")} ${formatDate(ctx.state.returnDeadline)}.`) : null)
      : null,
    h("ol.list", items),
    h("div.stepnav",
      h("button.secondary", { type: "button", onclick: () => go(ctx, { phase: "step", stepIndex: ctx.flat.length - 1 }) }, "‹ ", t("back")),
      h("button.primary#submit", { type: "button", onclick: submit, "aria-disabled": problems ? "true" : null }, t("review.submit"))));
}

async function doneScreen(ctx) {
  const status = h("p#visit-sync", { role: "status" });
  const update = async () => {
    if (!status.isConnected) {
      outbox.events.removeEventListener("change", update);
      return;
    }
    const ops = await outbox.pendingFor(ctx.assignmentId);
    const failed = ops.filter((op) => op.state === "failed").length;
    status.dataset.pending = String(ops.length);
    status.textContent = failed ? t("done.failed", { n: failed }) : ops.length ? t("done.waiting", { n: ops.length }) : t("done.sent");
  };
  render(h("section.card.done",
    h("h1", "✓ ", t("done.title")),
    ctx.state.submittedAt ? h("p.muted", formatDate(ctx.state.submittedAt)) : null,
    status,
    h("a.button.primary", { href: "#/assignments" }, t("done.back")),
    h("a.button.secondary", { href: "#/sync" }, t("sync.title"))));
  outbox.events.addEventListener("change", update);
  await update();
}
