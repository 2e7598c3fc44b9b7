// Login, my assignments, job board and the outbox (sync) screen.
import * as api from "./api.js";
import * as db from "./db.js";
import * as outbox from "./outbox.js";
import { t } from "./i18n.js";
import { h, render, toast, formatDate } from "./ui.js";

export function loginScreen() {
  const error = h("p.error", { role: "alert" });
  const form = h("form.card", { onsubmit: submit },
    h("h1", t("login.title")),
    h("label", t("login.username"), h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none" })),
    h("label", t("login.password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error,
    h("button.primary", { type: "submit" }, t("login.submit")));
  async function submit(event) {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    try {
      const user = await api.login(data.get("username").trim(), data.get("password"));
      if (user.role !== "shopper") toast(t("login.notShopper"));
      outbox.drain();
      location.hash = "#/assignments";
    } catch (err) {
      error.textContent = err instanceof api.NetworkError ? t("needsConnection") : t("login.failed");
    }
  }
  render(form);
}

function nav(active) {
  const link = (hash, label) => h("a.tab", { href: hash, "aria-current": active === hash ? "page" : null }, label);
  return h("nav.tabs", link("#/assignments", t("nav.mine")), link("#/board", t("nav.board")));
}

/** Fetch fresh data when online, fall back to the last copy kept in IndexedDB. */
async function cached(key, load) {
  try {
    const data = await load();
    await db.kv.set(key, data);
    return { data, stale: false };
  } catch (error) {
    if (!(error instanceof api.NetworkError)) throw error;
    return { data: (await db.kv.get(key)) || [], stale: true };
  }
}

export async function findAssignment(id) {
  for (const key of ["assignments", "board"]) {
    const hit = ((await db.kv.get(key)) || []).find((a) => a.id === id);
    if (hit) return hit;
  }
  const fresh = await api.get(`/assignments/${id}`);
  return fresh;
}

function place(a) {
  const loc = a.location;
  return [loc.address, loc.city].filter(Boolean).join(", ");
}

function assignmentCard(a, actions) {
  return h("li.card.assignment", { dataset: { id: a.id, status: a.status } },
    h("div.row",
      h("strong", a.location.name),
      h("span.badge", { dataset: { status: a.status } }, t(`status.${a.status}`))),
    h("div.muted", a.project_name),
    place(a) ? h("div", place(a)) : null,
    h("div.muted", `${formatDate(a.window_start)} – ${formatDate(a.window_end)}`),
    a.notes ? h("p.note", a.notes) : null,
    h("div.actions", actions));
}

export async function assignmentsScreen() {
  render(nav("#/assignments"), h("p.muted", t("loading")));
  const { data: items, stale } = await cached("assignments", () => api.getAllPages("/me/assignments?scope=active"));
  const local = Object.fromEntries((await db.getAll("visits")).map((v) => [v.assignmentId, v]));
  const now = new Date();
  const endOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const returned = items.filter((a) => a.status === "returned");
  const today = items.filter((a) => a.status !== "returned" && new Date(a.window_start) < endOfToday);
  const upcoming = items.filter((a) => a.status !== "returned" && new Date(a.window_start) >= endOfToday);

  const actionsFor = (a) => {
    if (a.status === "offered") {
      return [
        h("button.primary", { onclick: () => act(a, "accept") }, t("accept")),
        h("button.secondary", { onclick: () => act(a, "decline") }, t("decline")),
      ];
    }
    const state = local[a.id];
    const label = a.status === "returned" ? t("correct") : state?.phase === "done" ? t("visit.view") : state ? t("resume") : t("open");
    const target = state || a.status === "in_progress" || a.status === "returned" ? `#/visit/${a.id}` : `#/briefing/${a.id}`;
    return [h("a.button.primary", { href: target }, label), h("a.button.secondary", { href: `#/briefing/${a.id}` }, t("briefing"))];
  };
  const section = (title, list, id) => h("section", { id },
    h("h2", title, " ", h("span.count", String(list.length))),
    list.length ? h("ul.list", list.map((a) => assignmentCard(a, actionsFor(a)))) : h("p.muted", t("none")));

  render(nav("#/assignments"),
    stale ? h("p.banner", t("offlineCopy")) : null,
    returned.length ? section(t("returned"), returned, "returned") : null,
    section(t("today"), today, "today"),
    section(t("upcoming"), upcoming, "upcoming"),
    h("p", h("button.link", { onclick: logout }, t("logout"))));
}

async function act(a, action) {
  try {
    if (action === "decline" && !confirm(t("decline.confirm"))) return;
    await api.post(`/assignments/${a.id}/${action}`);
    toast(t(`${action}.done`));
  } catch (error) {
    toast(error instanceof api.NetworkError ? t("needsConnection") : error.message, 6000);
  }
  await assignmentsScreen();
}

async function logout() {
  const { pending } = await outbox.counts();
  if (pending && !confirm(t("logout.pending", { n: pending }))) return;
  await api.logout();
  location.hash = "#/login";
}

export async function boardScreen() {
  render(nav("#/board"), h("p.muted", t("loading")));
  const { data: items, stale } = await cached("board", () => api.getAllPages("/job-board"));
  const claim = async (a) => {
    try {
      await api.post(`/assignments/${a.id}/claim`);
      toast(t("claim.done"));
      location.hash = "#/assignments";
    } catch (error) {
      toast(error instanceof api.NetworkError ? t("needsConnection") : error.message, 6000);
    }
  };
  render(nav("#/board"),
    stale ? h("p.banner", t("offlineCopy")) : null,
    h("h2", t("nav.board")),
    items.length
      ? h("ul.list", items.map((a) => assignmentCard(a, [h("button.primary", { onclick: () => claim(a) }, t("claim"))])))
      : h("p.muted", t("board.empty")));
}

export async function syncScreen() {
  const ops = (await outbox.all()).filter((op) => op.user === api.currentUser()?.username);
  const counts = await outbox.counts();
  const row = (op) => h("li.card", { dataset: { state: op.state } },
    h("div.row", h("strong", t(`op.${op.kind}`)), h("span.badge", { dataset: { status: op.state } }, t(`op.${op.state}`))),
    op.stepKey ? h("div.muted", op.stepKey) : null,
    op.problem ? h("p.error", op.problem.detail || op.problem.title || "") : null,
    op.state === "failed"
      ? h("div.actions",
        h("button.secondary", { onclick: async () => { await outbox.retry(op.seq); syncScreen(); } }, t("retry")),
        h("button.secondary", { onclick: async () => { if (confirm(t("discard.confirm"))) { await outbox.discard(op.seq); syncScreen(); } } }, t("discard")))
      : null);
  render(h("h1", t("sync.title")),
    h("p", navigator.onLine ? t("online") : t("offline"), " · ", t("sync.waiting", { n: counts.pending })),
    h("button.primary", { onclick: async () => { await outbox.drain(); syncScreen(); } }, t("sync.now")),
    ops.length ? h("ul.list", ops.map(row)) : h("p.muted", t("sync.allSent")),
    h("p", h("a.button.secondary", { href: "#/assignments" }, t("back"))));
}
