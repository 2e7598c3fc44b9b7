"""The CX map, appeals and action plans pages follow approvals live, like the dashboard: a visit
approved (or revoked) through POST /visits/{id}/review while a page is open changes what it shows
within seconds, without a reload, and signing out closes the page's event stream. The appeals page
also follows appeals filed and decided by other users (appeal.changed).

Visits are seeded as in tests/results/conftest.py: two approved, one submitted and waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.db import Database
from tests.browser.conftest import desktop_page, needs_chromium
from tests.browser.test_dashboard import sign_in
from tests.conftest import LiveServer
from tests.helpers import login
from tests.results.conftest import API, Answers, Results, build_results

pytestmark = needs_chromium

LIVE_TIMEOUT_MS = 5_000


@dataclass
class Site:
    results: Results
    app: FastAPI
    pending: int  # submitted, waiting for a decision

    @property
    def project_id(self) -> int:
        return self.results.project_id

    def as_viewer(self, path: str) -> Any:
        response = self.results.client.get(
            f"{API}{path}", headers=login(self.results.client, "acme-viewer")
        )
        assert response.status_code == 200, response.text
        return response.json()

    def review(self, action: str) -> None:
        body = {"action": action}
        if action == "revoke":
            body["comment"] = "approved by mistake"
        response = self.results.client.post(
            f"{API}/visits/{self.pending}/review", json=body, headers=self.results.manager
        )
        assert response.status_code == 200, response.text

    @property
    def streams(self) -> int:
        return int(self.app.state.events.subscriber_count)


@pytest.fixture
def site(db: Database, app: FastAPI, live_server: LiveServer) -> Iterator[Site]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        results = build_results(http, db)
        results.approved_visit(Answers(), location="Alpha/loc0")
        results.approved_visit(Answers(friendly=3, entry_valence=1), location="Alpha/loc1")
        pending = results.submitted_visit(
            Answers(greeted="no", friendly=1, entry_valence=-3, entry_probe=-1),
            location="Alpha/loc2",
        )
        yield Site(results=results, app=app, pending=pending)


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    with desktop_page(browser, live_server.url, reduced_motion="reduce") as page:
        yield page


def open_live(page: Any, path: str, username: str = "acme-viewer") -> None:
    """Opens a dashboard page and waits until its figures and its stream are up."""
    page.goto(path)
    sign_in(page, username)
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.locator("#live[data-status=open]").wait_for()
    page.evaluate("window.__sameDocument = true")


def wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent.trim() === text",
        arg=[selector, text],
        timeout=LIVE_TIMEOUT_MS,
    )


def test_cx_map_shows_an_approval_and_a_revocation_without_a_reload(page: Any, site: Site) -> None:
    open_live(page, f"/dashboard/cx-map.html?project={site.project_id}")
    entry = "[data-key=cx-score-entry]"
    before = site.as_viewer(f"/projects/{site.project_id}/cx-map")
    assert before["visits"] == 2
    assert page.inner_text("#visits-note").startswith("2 approved visits")
    assert page.inner_text(entry) == f"{steps(before)['entry']['score']:.1f}"
    assert site.streams == 1

    site.review("approve")
    after = site.as_viewer(f"/projects/{site.project_id}/cx-map")
    assert after["visits"] == 3
    assert steps(after)["entry"]["score"] != steps(before)["entry"]["score"]
    page.wait_for_function(
        "() => document.querySelector('#visits-note').textContent.startsWith('3 approved visits')",
        timeout=LIVE_TIMEOUT_MS,
    )
    assert page.inner_text(entry) == f"{steps(after)['entry']['score']:.1f}"
    # What changed is marked; what did not (the desired target) is not.
    assert page.locator(f"{entry}.changed").count() == 1
    assert page.locator("[data-key=cx-visits].changed").count() == 1
    assert page.locator("[data-key=cx-desired-entry].changed").count() == 0
    assert page.evaluate("window.__sameDocument") is True

    site.review("revoke")
    page.wait_for_function(
        "() => document.querySelector('#visits-note').textContent.startsWith('2 approved visits')",
        timeout=LIVE_TIMEOUT_MS,
    )
    assert page.inner_text(entry) == f"{steps(before)['entry']['score']:.1f}"
    assert page.evaluate("window.__sameDocument") is True

    # Signing out closes the page's stream (the server sees its subscriber go).
    page.click("#sign-out")
    page.locator("#login-form").wait_for()
    page.wait_for_function("document.getElementById('live').hidden")
    for _ in range(LIVE_TIMEOUT_MS // 100):
        if site.streams == 0:
            break
        page.wait_for_timeout(100)
    assert site.streams == 0


def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["step_key"]: step for phase in document["phases"] for step in phase["steps"]}


def test_appeals_page_lists_a_visit_approved_while_it_is_open_and_drops_it_when_revoked(
    page: Any, site: Site
) -> None:
    open_live(page, f"/dashboard/appeals.html?project={site.project_id}")
    rows = page.locator("#appealable-table tbody tr")
    assert rows.count() == 2
    pending_row = page.locator(f"#appealable-table tr[data-visit='{site.pending}']")
    assert pending_row.count() == 0

    site.review("approve")
    pending_row.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert rows.count() == 3
    appealable = site.as_viewer(f"/projects/{site.project_id}/appealable-visits")["items"]
    assert site.pending in {visit["visit_id"] for visit in appealable}
    assert "changed" in (pending_row.get_attribute("class") or "")
    pending_row.locator(f"button[data-appeal='{site.pending}']").wait_for()
    assert page.evaluate("window.__sameDocument") is True

    site.review("revoke")
    pending_row.wait_for(state="detached", timeout=LIVE_TIMEOUT_MS)
    assert rows.count() == 2
    assert page.evaluate("window.__sameDocument") is True


def test_appeals_page_shows_another_users_filing_and_dismissal_without_a_reload(
    page: Any, site: Site
) -> None:
    http, project_id = site.results.client, site.project_id
    open_live(page, f"/dashboard/appeals.html?project={project_id}", username="mgr-a")
    assert page.locator("#appeals-empty").is_visible()
    visit_id = site.as_viewer(f"/projects/{project_id}/appealable-visits")["items"][0]["visit_id"]

    # The client's user files through the API: the appeal and the visit's open-appeal badge show.
    filed = http.post(
        f"{API}/visits/{visit_id}/appeals",
        json={"reason": "The shop was closed for a holiday."},
        headers=login(http, "acme-viewer"),
    )
    assert filed.status_code == 201, filed.text
    appeal_id = filed.json()["id"]
    row = page.locator(f"#appeals-table tr[data-appeal-id='{appeal_id}']")
    row.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert row.get_attribute("data-status") == "open"
    assert "The shop was closed for a holiday." in row.inner_text()
    assert "changed" in (row.get_attribute("class") or "")
    visit_row = page.locator(f"#appealable-table tr[data-visit='{visit_id}']")
    assert f"Appeal #{appeal_id} open" in visit_row.inner_text()
    assert page.evaluate("window.__sameDocument") is True

    # Another manager of the project dismisses it through the API: the open page follows.
    added = http.post(
        f"{API}/projects/{project_id}/members",
        json={"user_id": site.results.world.ids["mgr-b"]},
        headers=login(http, "admin"),
    )
    assert added.status_code == 201, added.text
    decided = http.post(
        f"{API}/appeals/{appeal_id}/decision",
        json={"outcome": "dismissed", "comment": "The photos show the shop open."},
        headers=login(http, "mgr-b"),
    )
    assert decided.status_code == 200, decided.text
    page.locator(
        f"#appeals-table tr[data-appeal-id='{appeal_id}'][data-status=dismissed]"
    ).wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "The photos show the shop open." in row.inner_text()
    assert "Appeal #" not in visit_row.inner_text()  # open to a new appeal again
    assert page.evaluate("window.__sameDocument") is True


def test_an_open_impact_table_follows_approvals(page: Any, site: Site) -> None:
    manager = site.results.manager
    http = site.results.client
    created = http.post(
        f"{API}/projects/{site.project_id}/action-plans",
        json={"title": "Greet at the door", "source": {"kind": "manual", "step_keys": ["entry"]}},
        headers=manager,
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    done = http.patch(f"{API}/action-plans/{plan_id}", json={"status": "done"}, headers=manager)
    assert done.status_code == 200, done.text

    open_live(page, f"/dashboard/actions.html?project={site.project_id}")
    page.click(f"tr[data-plan-id='{plan_id}'] button[data-act=impact]")
    impact = page.locator(f"tr.impact-row[data-for='{plan_id}'] [data-impact-step=entry]")
    impact.wait_for()

    def shown() -> tuple[str, str]:
        return (
            impact.locator("[data-key=before-visits]").inner_text(),
            impact.locator("[data-key=after-visits]").inner_text(),
        )

    def api_sides() -> tuple[str, str]:
        figures = site.as_viewer(f"/action-plans/{plan_id}/impact")["steps"][0]
        return str(figures["before"]["visits"]), str(figures["after"]["visits"])

    first = api_sides()
    assert shown() == first
    assert sum(map(int, first)) == 2

    site.review("approve")
    second = api_sides()
    assert sum(map(int, second)) == 3
    page.wait_for_function(
        """([id, before, after]) => {
            const row = document.querySelector(`tr.impact-row[data-for="${id}"] [data-impact-step=entry]`);
            return row?.querySelector("[data-key=before-visits]").textContent === before
              && row.querySelector("[data-key=after-visits]").textContent === after;
        }""",
        arg=[plan_id, *second],
        timeout=LIVE_TIMEOUT_MS,
    )
    # The impact row stays open and the side that grew is marked.
    grown = "after-visits" if second[1] != first[1] else "before-visits"
    assert impact.locator(f"[data-key={grown}].changed").count() == 1
    assert page.evaluate("window.__sameDocument") is True
