// The client dashboard: sign in, pick a project, then its approved results with filters kept in
// the URL (?project=&wave=&region=&location=&channel=) and live updates over SSE.
import { currentUser, getAllPages, logout } from "/web/common/api.js";
import { esc, requireUser } from "/web/common/login.js";
import { Dashboard } from "./dashboard.js";

const ROLES = ["client", "manager", "admin"];
const main = document.getElementById("main");
let dashboard = null;

function readUrl() {
  const params = new URLSearchParams(location.search);
  const pick = (name) => params.get(name) || "";
  return {
    project: pick("project"),
    filters: { wave: pick("wave"), region: pick("region"), location: pick("location"), channel: pick("channel") },
  };
}

async function picker() {
  document.getElementById("project-name").textContent = "";
  document.title = "Fieldwork dashboard";
  main.innerHTML = `<section class="card picker"><h1>Projects</h1><p class="muted">Loading…</p></section>`;
  const section = main.querySelector(".picker");
  try {
    const projects = await getAllPages("/projects?limit=100");
    if (!projects.length) {
      section.innerHTML = `<h1>Projects</h1><p class="empty">No projects are shared with you yet.</p>`;
      return;
    }
    section.innerHTML = `<h1>Projects</h1><ul class="project-list">${projects
      .map(
        (p) => `<li><a href="?project=${p.id}" data-project="${p.id}">${esc(p.name)}</a>
          <span class="badge">${esc(p.status)}</span>
          ${p.description ? `<p class="muted">${esc(p.description)}</p>` : ""}</li>`,
      )
      .join("")}</ul>`;
  } catch (error) {
    section.innerHTML = `<h1>Projects</h1><p class="error" role="alert">${esc(error.message)}</p>`;
  }
}

async function route() {
  const { project, filters } = readUrl();
  if (dashboard && dashboard.projectId !== project) {
    dashboard.close();
    dashboard = null;
  }
  if (!project) return picker();
  if (dashboard) return dashboard.setFilters(filters);
  dashboard = new Dashboard(main, project, filters);
  return dashboard.open();
}

function showUser(user) {
  document.getElementById("who").textContent = user ? user.full_name || user.username : "";
  document.getElementById("sign-out").hidden = !user;
}

async function start() {
  showUser(null);
  const user = await requireUser(main, ROLES, { title: "Fieldwork dashboard" });
  showUser(user);
  await route();
}

document.getElementById("sign-out").addEventListener("click", () => logout());
window.addEventListener("fieldwork:logout", () => {
  dashboard?.close();
  dashboard = null;
  start();
});
window.addEventListener("popstate", () => {
  if (currentUser()) route();
});
main.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-project]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  history.pushState(null, "", `?project=${link.dataset.project}`);
  route();
});

start();
