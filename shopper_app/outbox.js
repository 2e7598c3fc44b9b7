// The outbox: every visit write is queued in IndexedDB first and sent in order, with retry and
// exponential backoff, by itself whenever the phone is online. Each write carries its client UUID
// so that a resend after a lost response is stored once by the server.
//
// Operations: start (check-in), step (one step observation), media (a photo blob), submit.
// Runs of step/submit operations of one visit go out in one request to the batch endpoint.
import * as api from "./api.js";
import * as db from "./db.js";

const BATCH_MAX = 200;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60000;
const TICK_MS = 15000;

export const events = new EventTarget();
let draining = false;
let timer = null;
let lastError = "";

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Queue a write. `op`: {kind, assignmentId, clientUuid, stepKey?, questionKey?, body?, blob?}. */
export async function enqueue(op) {
  const user = api.currentUser()?.username || "";
  if (op.kind === "step") {
    // A newer version of a step replaces the one still waiting: only the last one matters.
    for (const old of await pending()) {
      if (old.kind === "step" && old.assignmentId === op.assignmentId && old.stepKey === op.stepKey && !old.inFlight) {
        await db.del("outbox", old.seq);
      }
    }
  }
  await db.add("outbox", { ...op, user, state: "pending", attempts: 0, notBefore: 0, createdAt: Date.now() });
  await notify();
  drainSoon();
}

export async function all() {
  return (await db.getAll("outbox")).sort((a, b) => a.seq - b.seq);
}

async function pending() {
  return (await all()).filter((op) => op.state === "pending");
}

export async function counts() {
  const ops = await all();
  const mine = ops.filter((op) => op.user === (api.currentUser()?.username || ""));
  return {
    pending: mine.filter((op) => op.state === "pending").length,
    failed: mine.filter((op) => op.state === "failed").length,
    draining,
    lastError,
  };
}

/** Pending operations of one visit (for the visit screens). */
export async function pendingFor(assignmentId) {
  return (await all()).filter((op) => op.assignmentId === assignmentId);
}

/**
 * Drops the queued upload of a photo the shopper removed, unless it is being sent: that one goes
 * out, and the server keeps a photo nothing points at, which does not hold up submission.
 * Resolves to whether an upload was dropped.
 */
export async function cancelMedia(assignmentId, clientUuid) {
  const op = (await all()).find((o) => o.kind === "media" && o.assignmentId === assignmentId && o.clientUuid === clientUuid);
  if (!op) return false;
  const dropped = (await db.update("outbox", op.seq, (current) => (current && !current.inFlight ? null : undefined))) === null;
  if (dropped) await notify();
  return dropped;
}

export async function retry(seq) {
  const op = await db.get("outbox", seq);
  if (op) await db.put("outbox", { ...op, state: "pending", attempts: 0, notBefore: 0, problem: null });
  await notify();
  drainSoon();
}

export async function discard(seq) {
  await db.del("outbox", seq);
  await notify();
}

async function notify() {
  events.dispatchEvent(new CustomEvent("change", { detail: await counts() }));
}

export function drainSoon() {
  setTimeout(drain, 0);
}

/** Start sending by itself: when the phone comes online, and on a timer. */
export function start() {
  window.addEventListener("online", async () => {
    for (const op of await pending()) {
      if (op.notBefore) await db.put("outbox", { ...op, notBefore: 0 });
    }
    drain();
  });
  window.addEventListener("offline", notify);
  setInterval(drain, TICK_MS);
  drain();
}

export async function drain() {
  if (draining) return;
  draining = true;
  await notify();
  try {
    for (;;) {
      if (!navigator.onLine || !api.currentUser()) break;
      const user = api.currentUser().username;
      const queue = (await pending()).filter((op) => op.user === user);
      if (!queue.length) break;
      const head = queue[0];
      const wait = head.notBefore - Date.now();
      if (wait > 0) {
        schedule(wait);
        break;
      }
      const outcome = await sendHead(queue);
      if (outcome === "stop") break;
    }
  } finally {
    draining = false;
    await notify();
  }
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(drain, ms);
}

async function sendHead(queue) {
  const head = queue[0];
  let ops = [head];
  try {
    if (head.kind === "start") {
      await sendStart(head);
    } else {
      const visitId = await visitIdFor(head.assignmentId, queue);
      if (visitId === undefined) return fail(head, { title: "The visit was never checked in on the server." });
      if (head.kind === "media") {
        if (!(await sendMedia(head, visitId))) return "next"; // cancelled just now
      } else {
        ops = batchRun(queue);
        return await sendBatch(ops, visitId);
      }
    }
    await db.del("outbox", head.seq);
    lastError = "";
    await notify();
    return "next";
  } catch (error) {
    return handleError(ops, error);
  }
}

async function handleError(ops, error) {
  if (error instanceof api.ApiError && error.status === 401) {
    lastError = "auth";
    return "stop";
  }
  if (error instanceof api.ApiError && error.permanent) {
    for (const op of ops) await fail(op, error.problem);
    return "next";
  }
  const head = ops[0];
  const attempts = head.attempts + 1;
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)) * (0.75 + Math.random() / 2);
  lastError = error.message;
  await keep(head, { attempts, notBefore: Date.now() + delay });
  schedule(delay);
  return "stop";
}

async function fail(op, problem) {
  await keep(op, { inFlight: false, state: "failed", problem: problem || null });
  return "next";
}

/** Updates a queued operation unless it is gone: a photo may be removed while its upload fails. */
function keep(op, changes) {
  return db.update("outbox", op.seq, (current) => (current ? { ...current, ...changes } : undefined));
}

function batchRun(queue) {
  const head = queue[0];
  const run = [];
  for (const op of queue) {
    if (op.assignmentId !== head.assignmentId || !["step", "submit"].includes(op.kind)) break;
    run.push(op);
    if (run.length === BATCH_MAX) break;
  }
  return run;
}

// The server's visit id is kept apart from the visit screen's state, which that screen rewrites.
export const visitIdKey = (assignmentId) => `visit-id:${assignmentId}`;

async function visitIdFor(assignmentId, queue) {
  const visitId = await db.kv.get(visitIdKey(assignmentId));
  if (visitId) return visitId;
  const startWaiting = queue.some((op) => op.kind === "start" && op.assignmentId === assignmentId);
  if (startWaiting) return null; // never reached: the start op is ahead in the queue
  return undefined;
}

async function sendStart(op) {
  const visit = await api.post(`/assignments/${op.assignmentId}/visit`, op.body);
  await db.kv.set(visitIdKey(op.assignmentId), visit.id);
}

/** Uploads a photo; false when it was cancelled before it could be claimed for sending. */
async function sendMedia(op, visitId) {
  // Claimed in one transaction with the check, so a removal at this moment either cancels the
  // upload or finds it in flight and leaves it.
  if (!(await keep(op, { inFlight: true }))) return false;
  const form = new FormData();
  form.append("file", op.blob, op.filename || "photo.jpg");
  form.append("client_uuid", op.clientUuid);
  form.append("step_key", op.stepKey);
  if (op.questionKey) form.append("question_key", op.questionKey);
  try {
    await api.upload(`/visits/${visitId}/media`, form);
  } catch (error) {
    await keep(op, { inFlight: false });
    throw error;
  }
  return true;
}

async function sendBatch(ops, visitId) {
  for (const op of ops) await db.put("outbox", { ...op, inFlight: true });
  const operations = ops.map((op) =>
    op.kind === "step" ? { op: "step", step_key: op.stepKey, body: op.body } : { op: "submit", body: op.body });
  let response;
  try {
    response = await api.post(`/visits/${visitId}/batch`, { operations });
  } catch (error) {
    for (const op of ops) await db.put("outbox", { ...op, inFlight: false });
    return handleError(ops, error);
  }
  let transient = null;
  for (const result of response.results) {
    const op = ops[result.index];
    if (result.status < 300) {
      await db.del("outbox", op.seq);
    } else if (new api.ApiError(result.status, result.problem).permanent) {
      await fail({ ...op, inFlight: false }, result.problem);
    } else {
      transient = transient || { op, error: new api.ApiError(result.status, result.problem) };
      await db.put("outbox", { ...op, inFlight: false });
    }
  }
  lastError = "";
  await notify();
  if (transient) return handleError([transient.op], transient.error);
  return "next";
}
