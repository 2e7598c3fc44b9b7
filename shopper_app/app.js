// Entry point: service worker, session, sync status bar and the hash router.
import * as api from "./api.js";
import * as outbox from "./outbox.js";
import { t } from "./i18n.js";
import { render, h, toast } from "./ui.js";
import { loginScreen, assignmentsScreen, boardScreen, syncScreen } from "./screens.js";
import { briefingScreen } from "./briefing.js";
import { visitScreen, stopVisit } from "./visit.js";
import * as db from "./db.js";

const routes = [
  [/^#\/login$/, () => loginScreen(), false],
  [/^#\/assignments$/, () => assignmentsScreen(), true],
  [/^#\/board$/, () => boardScreen(), true],
  [/^#\/sync$/, () => syncScreen(), true],
  [/^#\/briefing\/(\d+)$/, (id) => briefingScreen(Number(id)), true],
  [/^#\/visit\/(\d+)$/, (id) => visitScreen(Number(id)), true],
];

async function route() {
  stopVisit();
  const hash = location.hash || "#/assignments";
  for (const [pattern, screen, needsLogin] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (needsLogin && !api.currentUser()) {
      location.replace("#/login");
      return;
    }
    try {
      await screen(...match.slice(1));
    } catch (error) {
      console.error(error);
      render(h("section.card", h("h1", t("error")), h("p", error.message)));
    }
    document.getElementById("view").focus({ preventScroll: true });
    return;
  }
  location.replace("#/assignments");
}

async function showSync(detail) {
  const button = document.getElementById("sync");
  const counts = detail || (await outbox.counts());
  const online = navigator.onLine;
  let text;
  if (counts.failed) text = t("sync.failed", { n: counts.failed });
  else if (counts.pending) text = t(online ? "sync.sending" : "sync.waiting", { n: counts.pending });
  else text = t("sync.allSent");
  button.querySelector(".sync-text").textContent = `${online ? t("online") : t("offline")} · ${text}`;
  button.dataset.state = counts.failed ? "failed" : !online ? "offline" : counts.pending ? "pending" : "online";
  button.dataset.pending = String(counts.pending);
  button.title = counts.lastError || "";
}

async function main() {
  document.documentElement.lang = t.lang;
  document.querySelector(".brand").textContent = t("app");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((error) => console.warn("service worker", error));
  }
  await api.loadSession();
  outbox.events.addEventListener("change", (event) => showSync(event.detail));
  window.addEventListener("online", () => showSync());
  window.addEventListener("offline", () => showSync());
  window.addEventListener("fieldwork:unauthorized", () => {
    // Never pull the shopper out of a visit: the outbox keeps its items until they log in again.
    if (location.hash.startsWith("#/visit/")) toast(t("login.again"), 6000);
    else if (location.hash !== "#/login") location.hash = "#/login";
  });
  document.getElementById("sync").addEventListener("click", () => {
    outbox.drain();
    location.hash = "#/sync";
  });
  window.addEventListener("hashchange", route);
  await showSync();
  outbox.start();
  if (!location.hash && api.currentUser()) {
    // Reopened from the home screen: go straight back to a visit that is under way.
    const open = (await db.getAll("visits")).find((v) => v.phase !== "done");
    if (open) history.replaceState(null, "", `#/visit/${open.assignmentId}`);
  }
  await route();
}

main();
