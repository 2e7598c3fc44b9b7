// What the CX map, action plans and report pages share: sign-in and the header, the project and
// filters in the address (?project=&wave=&region=&location=&channel=&persona=), the filter form,
// links between the pages, and who may write action plans.
import { ApiError, get, getAllPages, logout, query } from "/web/common/api.js";
import { esc, requireUser } from "/web/common/login.js";
import * as fmt from "./format.js";

export const ROLES = ["client", "manager", "admin"];
export const FILTERS = ["wave", "region", "location", "channel", "persona"];

/** The project id and the filters in the address; the report also takes wave_id. */
export function readUrl() {
  const params = new URLSearchParams(location.search);
  const pick = (name) => params.get(name) || "";
  const filters = Object.fromEntries(FILTERS.map((name) => [name, pick(name)]));
  filters.wave = filters.wave || pick("wave_id");
  return { project: pick("project"), filters, params };
}

/** The results API's query string (also the CX map's and the impact's) for the filters. */
export function apiQuery(filters, extra = {}) {
  return query({
    wave_id: filters.wave,
    region: filters.region,
    location_id: filters.location,
    channel: filters.channel,
    persona_id: filters.persona,
    ...extra,
  });
}

/** Address of a dashboard page for a project with its filters (empty ones left out). */
export function pageUrl(page, projectId, filters = {}, extra = {}) {
  const params = new URLSearchParams({ project: projectId });
  for (const [name, value] of Object.entries({ ...filters, ...extra })) if (value) params.set(name, value);
  return `/dashboard/${page}?${params}`;
}

const PAGES = [
  ["", "Dashboard"],
  ["cx-map.html", "CX map"],
  ["actions.html", "Action plans"],
  ["report.html", "Report"],
  ["outside.html", "Outside data"],
  ["appeals.html", "Appeals"],
];

/** Links to the project's pages, keeping the filters; `current` is marked. */
export function projectNav(projectId, filters, current) {
  const links = PAGES.map(([page, label]) => {
    // The dashboard itself has no persona filter.
    const kept = page ? filters : { ...filters, persona: "" };
    const here = page === current ? ` aria-current="page"` : "";
    return `<a href="${esc(pageUrl(page, projectId, kept))}" data-page="${page || "dashboard"}"${here}>${label}</a>`;
  });
  return `<nav class="project-nav" aria-label="Project pages">${links.join("")}</nav>`;
}

/**
 * Action plans are written by the project's managers, admins and its client's users
 * (docs/cx-map.md); the API decides, this only hides controls that would be refused.
 */
export function mayWriteActions(user) {
  return ["admin", "manager", "client"].includes(user?.role);
}

export function problemText(error) {
  if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
    return "This project does not exist or is not shared with you.";
  }
  return error instanceof ApiError ? error.message : "The server could not be reached.";
}

/** Signs in (again after a sign-out), shows the user in the header, then runs `render(user)`. */
export function startPage(main, title, render) {
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  signOut?.addEventListener("click", () => logout());
  const run = async () => {
    who.textContent = "";
    if (signOut) signOut.hidden = true;
    const user = await requireUser(main, ROLES, { title });
    who.textContent = user.full_name || user.username;
    if (signOut) signOut.hidden = false;
    await render(user);
  };
  window.addEventListener("fieldwork:logout", run);
  return run();
}

/** Waves, locations and personas of a project: what the filter form offers. */
export async function filterChoices(projectId) {
  const [waves, locations, personas] = await Promise.all([
    get(`/projects/${projectId}/waves`),
    getAllPages(`/projects/${projectId}/locations?limit=500`),
    getAllPages(`/projects/${projectId}/personas?limit=500`),
  ]);
  return { waves, locations, personas };
}

function options(pairs, all, selected) {
  const rows = [["", all], ...pairs];
  return rows
    .map(([value, label]) => `<option value="${esc(value)}"${value === selected ? " selected" : ""}>${esc(label)}</option>`)
    .join("");
}

/** The filter form's markup for the current filters. */
export function filterForm(choices, filters) {
  const regions = [...new Set(choices.locations.map((l) => l.region).filter(Boolean))].sort();
  const shown = choices.locations.filter(
    (l) => (!filters.region || l.region === filters.region) && (!filters.channel || l.kind === filters.channel),
  );
  return `<form class="filters card" id="filters" aria-label="Filters">
    <label>Wave <select name="wave" id="filter-wave">${options(
      choices.waves.map((w) => [String(w.id), w.name]),
      "All waves",
      filters.wave,
    )}</select></label>
    <label>Region <select name="region" id="filter-region">${options(
      regions.map((r) => [r, r]),
      "All regions",
      filters.region,
    )}</select></label>
    <label>Location <select name="location" id="filter-location">${options(
      shown.map((l) => [String(l.id), `${l.code} · ${l.name}`]),
      "All locations",
      filters.location,
    )}</select></label>
    <label>Channel <select name="channel" id="filter-channel">${options(
      Object.entries(fmt.CHANNELS),
      "All channels",
      filters.channel,
    )}</select></label>
    <label>Persona <select name="persona" id="filter-persona">${options(
      choices.personas.map((p) => [String(p.id), p.name]),
      "All personas",
      filters.persona,
    )}</select></label>
    <button type="button" class="secondary" id="clear-filters">Clear filters</button>
  </form>`;
}

/** Calls `onChange(filters)` when the form changes or is cleared. */
export function watchFilters(form, onChange) {
  const read = () => Object.fromEntries(FILTERS.map((name) => [name, form[name].value]));
  form.addEventListener("change", () => onChange(read()));
  form.querySelector("#clear-filters").addEventListener("click", () =>
    onChange(Object.fromEntries(FILTERS.map((name) => [name, ""]))),
  );
}

/** ISO date (yyyy-mm-dd) of a Date in local time. */
export function isoDay(day) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return isoDay(new Date(y, m - 1, d + days));
}

/** A date as the API gives it (yyyy-mm-dd), or "—". */
export function day(value) {
  return value || fmt.DASH;
}
