// The outbox: every visit write is queued in IndexedDB first and sent in order, with retry and
// exponential backoff, by itself whenever the phone is online. Each write carries its client UUID
// so that a resend after a lost response is stored once by the server.
//
// Operations: start (check-in), step (one step observation), media (a photo blob), submit.
// Each run of queued operations of one assignment goes out in queue order, in one request to the
// whole-visit batch endpoint (multipart when it carries photos), up to the caps below: a visit
// walked offline is sent at once when the phone is back online, an online visit write by write.
import * as api from "./api.js";
import * as db from "./db.js";

// Per request, as the server takes them by default; a photo larger than the byte cap goes as the
// only one.
const RUN_MAX_OPS = 200;
const RUN_MAX_PHOTOS = 10;
const RUN_MAX_PHOTO_BYTES = 8 * 1024 * 1024;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60000;
const TICK_MS = 15000;
const READ_MARGIN_MS = 10000; // reading the answer after the request's timeout

export const events = new EventTarget();
// Lowered for this page when the server refuses a whole run as too large (its upload limit is
// below the caps above): fewer photos a run, down to one photo alone, so that the rest of a run
// is never refused for a photo.
let runMaxPhotos = RUN_MAX_PHOTOS;
let photosAlone = false;
let draining = false;
let timer = null;
let lastError = "";

/**
 * A version 7 UUID (RFC 9562): the time in milliseconds, then random bits. The server keeps a
 * unique index of every write's client_uuid; time-ordered ones land at its end instead of on
 * random pages, so a visit's writes touch a few pages of it, not one each.
 */
export function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
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
      if (old.kind === "step" && old.assignmentId === op.assignmentId && old.stepKey === op.stepKey && !sending(old)) {
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
  const dropped = (await db.update("outbox", op.seq, (current) => (current && !sending(current) ? null : undefined))) === null;
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
      if (op.notBefore) await keep(op, { notBefore: 0 });
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
      const outcome = await sendRun(queue);
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

/**
 * Whether an operation is being sent: claimed by a request that may still be running (until its
 * timeout). A page closed mid-request leaves the claim behind; once that request would have timed
 * out, the operation is an ordinary queued write again (it can be cancelled or replaced), and it
 * is sent with the next run.
 */
function sending(op) {
  return (op.inFlightUntil || 0) > Date.now();
}

/** Sends the run at the head of the queue; resolves to "next" or "stop" (draining). */
async function sendRun(queue) {
  const run = nextRun(queue);
  // Each photo gets the time its own upload had, so a slow link still gets a run through.
  const timeoutMs = api.TIMEOUT_MS * Math.max(1, run.filter((op) => op.kind === "media").length);
  const ops = await claim(run, Date.now() + timeoutMs + READ_MARGIN_MS);
  if (!ops.length) return "next";
  const { assignmentId } = ops[0];
  let response;
  try {
    response = await post(assignmentId, ops, timeoutMs);
  } catch (error) {
    for (const op of ops) await keep(op, { inFlightUntil: 0 });
    // Too large as a whole: the same writes again, in smaller requests.
    if (error instanceof api.ApiError && error.status === 413 && smaller(ops)) return "next";
    return handleError(ops, error);
  }
  let transient = null;
  for (const result of response.results) {
    const op = ops[result.index];
    const error = result.status < 300 ? null : new api.ApiError(result.status, result.problem);
    if (!error) {
      await db.del("outbox", op.seq);
    } else if (error.permanent && !transient) {
      await fail(op, result.problem);
    } else {
      // A refusal after a transient failure may follow from it (the steps of a check-in that
      // did not go through), so it is sent again after that one rather than marked failed.
      transient = transient || { op, error };
      await keep(op, { inFlightUntil: 0 });
    }
  }
  lastError = "";
  await notify();
  if (transient) return handleError([transient.op], transient.error);
  return "next";
}

/**
 * After a run was refused as too large: fewer photos in each run from now on, down to a photo
 * alone. False when this run cannot be made smaller (a photo alone: it is refused).
 */
function smaller(ops) {
  const photos = ops.filter((op) => op.kind === "media").length;
  if (photos > 1) {
    runMaxPhotos = Math.max(1, Math.min(runMaxPhotos, Math.floor(photos / 2)));
    return true;
  }
  if (photos === 1 && ops.length > 1 && !photosAlone) {
    runMaxPhotos = 1;
    photosAlone = true;
    return true;
  }
  return false;
}

/** The operations at the head of the queue that go out together: one assignment's, in order. */
function nextRun(queue) {
  const head = queue[0];
  const run = [];
  let photos = 0;
  let bytes = 0;
  for (const op of queue) {
    if (op.assignmentId !== head.assignmentId || run.length === RUN_MAX_OPS) break;
    if (photosAlone && run.length && (op.kind === "media" || run[0].kind === "media")) break;
    if (op.kind === "media") {
      const size = op.blob?.size || 0;
      if (photos && (photos === runMaxPhotos || bytes + size > RUN_MAX_PHOTO_BYTES)) break;
      photos += 1;
      bytes += size;
    }
    run.push(op);
  }
  return run;
}

/**
 * Marks each operation in flight in one transaction with reading it, so a photo removed at this
 * moment is either cancelled (and left out) or found in flight (and sent). Resolves to the
 * operations still queued: a cancelled photo or a replaced step is left out.
 */
async function claim(run, until) {
  const claimed = [];
  for (const op of run) {
    const current = await keep(op, { inFlightUntil: until });
    if (current) claimed.push(current);
  }
  return claimed;
}

/** One whole-visit batch request: JSON, or multipart with a part per photo when there are any. */
// Only each result's status and problem are read: the server leaves out the bodies (RFC 7240).
const MINIMAL = "return=minimal";

function post(assignmentId, ops, timeoutMs) {
  const path = `/assignments/${assignmentId}/visit/batch`;
  const operations = { operations: ops.map(operation) };
  const photos = ops.filter((op) => op.kind === "media");
  if (!photos.length) return api.request("POST", path, { json: operations, timeoutMs, prefer: MINIMAL });
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  for (const op of photos) form.append(part(op), op.blob, op.filename || "photo.jpg");
  return api.upload(path, form, timeoutMs, MINIMAL);
}

const part = (op) => `photo-${op.seq}`;

function operation(op) {
  if (op.kind === "step") return { op: "step", step_key: op.stepKey, body: op.body };
  if (op.kind === "media") {
    const body = { client_uuid: op.clientUuid, step_key: op.stepKey, question_key: op.questionKey || null };
    return { op: "media", file: part(op), body };
  }
  return { op: op.kind, body: op.body }; // start, submit
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
  await keep(op, { inFlightUntil: 0, state: "failed", problem: problem || null });
  return "next";
}

/** Updates a queued operation unless it is gone: a photo may be removed while its upload fails. */
function keep(op, changes) {
  return db.update("outbox", op.seq, (current) => (current ? { ...current, ...changes } : undefined));
}
