// The browser's way into /api/v1 for the console and the dashboard: a bearer token kept in
// localStorage, problem+json errors as ApiError, every page of a list.
const BASE = "/api/v1";
const KEY = "fieldwork.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function currentUser() {
  return session()?.user || null;
}

export function authHeader() {
  const token = session()?.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const data = await request("POST", "/auth/token", { body, auth: false });
  localStorage.setItem(KEY, JSON.stringify({ token: data.access_token, user: data.user }));
  return data.user;
}

export function logout() {
  localStorage.removeItem(KEY);
  window.dispatchEvent(new CustomEvent("fieldwork:logout"));
}

export async function request(method, path, { json, body, auth = true } = {}) {
  const headers = { Accept: "application/json", ...(auth ? authHeader() : {}) };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(BASE + path, { method, headers, body });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    if (response.status === 401 && auth) logout();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** A binary resource (e.g. a visit photo) as an object URL; the caller revokes it. */
export async function blobUrl(path) {
  const response = await fetch(BASE + path, { headers: authHeader() });
  if (!response.ok) throw new ApiError(response.status, null);
  return URL.createObjectURL(await response.blob());
}

/** A multipart upload (FormData); the browser sets the boundary. */
export const upload = (path, form) => request("POST", path, { body: form });

export const get = (path) => request("GET", path);
export const post = (path, json) => request("POST", path, { json });
export const put = (path, json) => request("PUT", path, { json });
export const patch = (path, json) => request("PATCH", path, { json });
export const del = (path) => request("DELETE", path);

/** Every page of a paginated list ({items, next_cursor}). */
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

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
