// The dashboard's small "due for re-check" panel and its links to the project's other pages.
import { esc } from "/web/common/login.js";
import { pageUrl, projectNav, readUrl } from "./pages.js";
import { fetchPlans, recheckList } from "./plans.js";

/** Fills `card` with the project's action plans whose re-check date passed; hides it when none. */
export async function recheckPanel(card, projectId) {
  if (!card) return;
  let due;
  try {
    due = await fetchPlans(projectId, "&due_for_recheck=true");
  } catch {
    card.hidden = true; // the panel is an extra: the dashboard stands without it
    return;
  }
  card.hidden = !due.length;
  card.querySelector("#recheck-panel").innerHTML = `${recheckList(due, projectId)}
    <p class="small"><a href="${esc(pageUrl("actions.html", projectId))}">All action plans</a></p>`;
}

/** Links to the CX map, action plans and report pages that carry the dashboard's current filters. */
export function projectPages(box, projectId) {
  if (!box) return;
  box.innerHTML = projectNav(projectId, {}, "");
  // The dashboard changes its filters in place; read them from the address when a link is used.
  box.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-page]");
    if (!link) return;
    const { filters } = readUrl();
    const page = link.dataset.page === "dashboard" ? "" : link.dataset.page;
    link.href = pageUrl(page, projectId, page ? filters : { ...filters, persona: "" });
  });
}
