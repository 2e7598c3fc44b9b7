// Live pages: follow a project's server-sent events and re-read the page's figures shortly after
// the last relevant one, with the header's "Live" badge; and briefly mark what a refresh changed.
import { subscribe } from "/web/common/events.js";

/** What changes a client's figures: an approval, its revocation, re-materialised results. */
export const RESULT_EVENTS = ["visit.approved", "visit.revoked", "results.changed"];
export const DEBOUNCE_MS = 250;
const MARK_MS = 2500;

/**
 * Calls `refresh()` DEBOUNCE_MS after the last event whose type is in `types` (a burst of approvals
 * costs one refresh), and once after a reconnect: the server replays missed events only while it
 * still keeps them. The stream stops when the page is left (pagehide) and resumes, with a refresh,
 * if the browser brings the page back from its back/forward cache; signing out stops it for good.
 * Returns {stop}.
 */
export function follow(projectId, refresh, { types = RESULT_EVENTS } = {}) {
  const wanted = new Set(types);
  let stream = null;
  let timer = null;
  let stopped = false;

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!stopped) refresh();
    }, DEBOUNCE_MS);
  };
  const start = () => {
    let wasOpen = false;
    setBadge("connecting");
    stream = subscribe(
      projectId,
      (event) => {
        const type = (event.data && event.data.type) || event.type;
        if (wanted.has(type)) schedule();
      },
      {
        onStatus: (status) => {
          if (stopped || !stream) return;
          setBadge(status);
          if (status === "open" && wasOpen) schedule();
          if (status === "open") wasOpen = true;
        },
      },
    );
  };
  const pause = () => {
    stream?.stop();
    stream = null;
    clearTimeout(timer);
  };
  const onHide = () => pause();
  const onShow = (event) => {
    if (!event.persisted || stream) return;
    start();
    schedule();
  };
  const stop = () => {
    stopped = true;
    pause();
    setBadge(null);
    window.removeEventListener("pagehide", onHide);
    window.removeEventListener("pageshow", onShow);
    window.removeEventListener("fieldwork:logout", stop);
  };

  window.addEventListener("pagehide", onHide);
  window.addEventListener("pageshow", onShow);
  window.addEventListener("fieldwork:logout", stop);
  start();
  return { stop };
}

/** The header's badge (#live): Live, Reconnecting…, Connecting…, or hidden for null. */
export function setBadge(status) {
  const badge = document.getElementById("live");
  if (!badge) return;
  if (!status) {
    badge.hidden = true;
    return;
  }
  badge.hidden = false;
  badge.dataset.status = status;
  badge.textContent = { open: "Live", closed: "Reconnecting…", connecting: "Connecting…" }[status] || status;
  badge.title =
    status === "open" ? "Figures update by themselves when visits are approved" : "Live updates are paused";
}

/** [id, element] for each [data-key] element under `root`; a repeated key gets its occurrence. */
function keyed(root) {
  const seen = new Map();
  return [...root.querySelectorAll("[data-key]")].map((el) => {
    const n = (seen.get(el.dataset.key) || 0) + 1;
    seen.set(el.dataset.key, n);
    return [n > 1 ? `${el.dataset.key}#${n}` : el.dataset.key, el];
  });
}

/** The text of every [data-key] element under `root`, to compare after a refresh. */
export function snapshot(root) {
  return new Map(keyed(root).map(([id, el]) => [id, el.textContent]));
}

/** Highlights for 2.5 s each [data-key] element that is new or whose text differs from `before`,
 * and the `extra` elements (e.g. a chart's card). */
export function markChanges(root, before, extra = []) {
  const marked = keyed(root)
    .filter(([id, el]) => before.get(id) !== el.textContent)
    .map(([, el]) => el);
  marked.push(...extra.filter(Boolean));
  for (const el of marked) {
    el.classList.remove("changed");
    // Restart the highlight animation when two updates come close together.
    void el.getBoundingClientRect();
    el.classList.add("changed");
  }
  setTimeout(() => marked.forEach((el) => el.classList.remove("changed")), MARK_MS);
}
