// HTTP calls to /api/v1 with the bearer token; problem+json errors become ApiError.
import { kv } from "./db.js";

const BASE = "/api/v1";
export const TIMEOUT_MS = 30000;
let session = null; // {token, user}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  /** A refusal that sending again will not change (a 4xx other than timeout/rate limit). */
  get permanent() {
    return this.status >= 400 && this.status < 500 && ![401, 408, 425, 429].includes(this.status);
  }
}

/** The network could not be reached (offline, DNS, reset, timeout). */
export class NetworkError extends Error {}

export async function loadSession() {
  session = (await kv.get("session")) || null;
  return session;
}

export function currentUser() {
  return session?.user || null;
}

export async function logout() {
  session = null;
  await kv.del("session");
}

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const data = await request("POST", "/auth/token", { body, auth: false });
  session = { token: data.access_token, user: data.user };
  await kv.set("session", session);
  return session.user;
}

export async function request(method, path, { json, body, auth = true, timeoutMs = TIMEOUT_MS, prefer } = {}) {
  const headers = { Accept: "application/json" };
  if (prefer) headers.Prefer = prefer;
  if (auth && session) headers.Authorization = `Bearer ${session.token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, body, signal: controller.signal });
  } catch (error) {
    throw new NetworkError(error.message);
  } finally {
    clearTimeout(timer);
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    if (response.status === 401 && auth) window.dispatchEvent(new CustomEvent("fieldwork:unauthorized"));
    throw new ApiError(response.status, data);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, json) => request("POST", path, { json });
export const put = (path, json) => request("PUT", path, { json });
export const upload = (path, formData, timeoutMs, prefer) => request("POST", path, { body: formData, timeoutMs, prefer });

/** Every page of a paginated list. */
export async function getAllPages(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(path + (cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
