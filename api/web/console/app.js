// The manager console: hash routes → one view module per screen, the signed-in shell, and live
// updates of the current project (a view's refresh() runs when the project's events arrive).
import { currentUser, getAllPages, logout } from "/web/common/api.js";
import { subscribe } from "/web/common/events.js";
import { esc, requireUser } from "/web/common/login.js";

const ROUTES = [
  [/^\/$/, "overview"],
  [/^\/projects\/(\d+)$/, "project"],
  [/^\/projects\/(\d+)\/review$/, "queue"],
  [/^\/projects\/(\d+)\/planner$/, "planner"],
  [/^\/projects\/(\d+)\/locations$/, "locations"],
  [/^\/projects\/(\d+)\/shoppers$/, "shoppers"],
  [/^\/projects\/(\d+)\/journeys$/, "journeys"],
  [/^\/projects\/(\d+)\/appeals$/, "appeals"],
  [/^\/projects\/(\d+)\/targets$/, "targets"],
  [/^\/projects\/(\d+)\/webhooks$/, "webhooks"],
  [/^\/visits\/(\d+)$/, "visit"],
  [/^\/api-keys$/, "apikeys"],
];
const NAV = [
  ["project", "Progress", (p) => `#/projects/${p}`],
  ["queue", "Review", (p) => `#/projects/${p}/review`],
  ["planner", "Planner", (p) => `#/projects/${p}/planner`],
  ["locations", "Locations", (p) => `#/projects/${p}/locations`],
  ["shoppers", "Shoppers", (p) => `#/projects/${p}/shoppers`],
  ["journeys", "Journeys", (p) => `#/projects/${p}/journeys`],
  ["targets", "Targets", (p) => `#/projects/${p}/targets`],
  ["appeals", "Appeals", (p) => `#/projects/${p}/appeals`],
  ["webhooks", "Webhooks", (p) => `#/projects/${p}/webhooks`],
];
const PROJECT_KEY = "fieldwork.console.project";
const view = document.getElementById("view");
const top = document.getElementById("top");
const picker = document.getElementById("project-picker");
const live = document.getElementById("live");

const state = { user: null, projects: [], projectId: null, current: null, stream: null, timer: null };

function match(path) {
  for (const [pattern, name] of ROUTES) {
    const found = path.match(pattern);
    if (found) return { name, id: found[1] ? Number(found[1]) : null };
  }
  return null;
}

/** Makes `id` the console's current project: the picker, the nav and the live stream follow. */
function setProject(id) {
  if (!id) return;
  picker.value = String(id);
  if (id === state.projectId) return;
  state.projectId = id;
  localStorage.setItem(PROJECT_KEY, String(id));
  renderNav();
  state.stream?.stop();
  live.dataset.state = "closed";
  live.textContent = "offline";
  state.stream = subscribe(id, onEvent, {
    onStatus(status) {
      live.dataset.state = status;
      live.textContent = status === "open" ? "live" : "offline";
    },
  });
}

function onEvent(event) {
  // Several events often arrive together (a submission, its QC run): refresh once after them.
  clearTimeout(state.timer);
  state.timer = setTimeout(() => state.current?.refresh?.(event), 300);
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  const p = state.projectId;
  const current = active || match(location.hash.slice(1) || "/")?.name;
  const items = p ? NAV.map(([name, label, href]) => [name, label, href(p)]) : [];
  items.unshift(["overview", "Overview", "#/"]);
  items.push(["apikeys", "API keys", "#/api-keys"]);
  nav.innerHTML = items
    .map(
      ([name, label, href]) =>
        `<a href="${href}" data-nav="${name}"${name === current ? ' aria-current="page"' : ""}>${esc(label)}</a>`,
    )
    .join("");
}

async function route() {
  const path = location.hash.slice(1) || "/";
  const found = match(path);
  state.current?.stop?.();
  state.current = null;
  if (!found) {
    view.innerHTML = `<p class="notice error">No such page: ${esc(path)}. <a href="#/">Overview</a></p>`;
    return;
  }
  if (found.id && found.name !== "visit") setProject(found.id);
  renderNav(found.name);
  // Each screen draws into a container of its own: a screen still loading when the user moves on
  // finishes into its detached container instead of over the next screen.
  const screen = document.createElement("div");
  screen.className = "screen";
  screen.innerHTML = `<p class="muted">Loading…</p>`;
  view.replaceChildren(screen);
  view.dataset.view = found.name;
  const ctx = { user: state.user, projects: state.projects, setProject, projectId: () => state.projectId };
  try {
    const module = await import(`/console/views/${found.name}.js`);
    const handle = await module.render(screen, found.id, ctx);
    if (screen.isConnected) state.current = handle || null;
    else handle?.stop?.();
  } catch (error) {
    screen.innerHTML = `<p class="notice error" role="alert">${esc(error.message || error)}</p>`;
  }
}

async function start() {
  top.hidden = true;
  state.user = null;
  const user = await requireUser(view, ["admin", "manager"], { title: "Fieldwork console" });
  state.projects = await getAllPages("/projects?limit=200");
  state.user = user;
  top.hidden = false;
  document.getElementById("who").textContent = user.full_name || user.username;
  picker.innerHTML =
    `<option value="">—</option>` +
    state.projects.map((p) => `<option value="${p.id}">${esc(p.name)}</option>`).join("");
  const remembered = Number(localStorage.getItem(PROJECT_KEY));
  const first = state.projects.find((p) => p.id === remembered) || state.projects[0];
  if (first) setProject(first.id);
  await route();
}

picker.addEventListener("change", () => {
  const id = Number(picker.value);
  if (!id) return;
  const here = match(location.hash.slice(1) || "/");
  const same = NAV.find(([name]) => name === here?.name);
  location.hash = (same ? same[2] : NAV[0][2])(id).slice(1);
});
document.getElementById("logout").addEventListener("click", () => logout());
window.addEventListener("fieldwork:logout", () => {
  state.stream?.stop();
  state.stream = null;
  state.projectId = null;
  start();
});
window.addEventListener("hashchange", () => {
  if (state.user && currentUser()) route();
});

start();
