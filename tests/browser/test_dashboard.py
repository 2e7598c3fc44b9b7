"""The client dashboard in headless Chromium: its figures are the results API's, its charts draw,
its filters live in the URL, a client of another client is refused, and it follows approvals live.

Visits are submitted through the live server's API and approved the way the review workflow does
it (tests/results/conftest.py); the live test approves through POST /visits/{id}/review.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from api.db import Database
from tests.browser.conftest import SCREENSHOTS, needs_chromium
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, login
from tests.results.conftest import Answers, Results, build_results

pytestmark = needs_chromium

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1440, "height": 900}
CHARTS = ("trend", "phases", "emotion")


@dataclass
class Dashboard:
    url: str
    results: Results
    pending: int  # a submitted visit of wave Autumn at the web shop, not yet approved

    @property
    def project_id(self) -> int:
        return self.results.project_id

    def api(self, endpoint: str, **params: Any) -> Any:
        """A results endpoint as acme-viewer sees it."""
        return self.results.get(endpoint, headers=self.viewer, **params)

    @property
    def viewer(self) -> dict[str, str]:
        return login(self.results.client, "acme-viewer")

    def page_url(self, **filters: str) -> str:
        return f"/dashboard/?{urlencode({'project': self.project_id, **filters})}"


@pytest.fixture
def dashboard(db: Database, live_server: LiveServer) -> Iterator[Dashboard]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        results = build_results(http, db)
        results.approved_visit(Answers(), wave="Spring")
        results.approved_visit(
            Answers(quick="no", friendly=3, entry_valence=1, entry_probe=-1),
            wave="Spring",
            location="Alpha/loc1",
        )
        results.approved_visit(
            Answers(greeted="no", friendly=2, till_valence=-1), wave="Autumn", location="Alpha/loc2"
        )
        results.approved_visit(
            Answers(price_ok="no", till_valence=-3, till_probe=-1),
            wave="Autumn",
            location="Alpha/web",
        )
        pending = results.submitted_visit(
            Answers(friendly=4, entry_valence=2), wave="Autumn", location="Alpha/web"
        )
        yield Dashboard(url=live_server.url, results=results, pending=pending)


def open_page(browser: Any, dashboard: Dashboard, viewport: dict[str, int], **filters: str) -> Any:
    context = browser.new_context(
        base_url=dashboard.url,
        viewport=viewport,
        device_scale_factor=2 if viewport["width"] < 600 else 1,
        is_mobile=viewport["width"] < 600,
        has_touch=viewport["width"] < 600,
        reduced_motion="reduce",  # charts draw at once, so screenshots and pixels are final
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(dashboard.page_url(**filters))
    return page


def sign_in(page: Any, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def ready(page: Any, refreshes: int = 1) -> None:
    page.wait_for_function(
        "n => document.body.dataset.state === 'ready' && Number(document.body.dataset.refreshes) >= n",
        arg=refreshes,
    )


def kpi(page: Any, name: str) -> tuple[str, str]:
    element = page.locator(f"[data-key=kpi-{name}]")
    return element.inner_text(), element.get_attribute("data-value")


def assert_kpis_match(page: Any, summary: dict[str, Any]) -> None:
    text, value = kpi(page, "score")
    assert float(value) == summary["mean_score"]
    assert text == f"{summary['mean_score']:.1f}"
    text, value = kpi(page, "pass-rate")
    assert float(value) == summary["pass_rate"]
    assert text == f"{summary['pass_rate'] * 100:.0f}%"
    text, value = kpi(page, "visits")
    assert int(value) == summary["visits"] and text == str(summary["visits"])
    assert kpi(page, "focus")[1] == (summary["levels"]["focus"] or "")


def painted_pixels(page: Any, name: str) -> int:
    """Non-transparent pixels on a chart's canvas (0 when it is missing or blank)."""
    return int(
        page.evaluate(
            """name => {
              const canvas = document.querySelector(`#${name}-chart`);
              if (!canvas || !canvas.width || !canvas.height) return 0;
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              let painted = 0;
              for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted += 1;
              return painted;
            }""",
            name,
        )
    )


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_shows_the_results_api_figures_and_draws_its_charts(
    browser: Any, dashboard: Dashboard, viewport: dict[str, int]
) -> None:
    page = open_page(browser, dashboard, viewport)
    sign_in(page, "acme-viewer")
    ready(page)
    page.wait_for_timeout(400)  # the charts' short entry animation
    shot(page, f"dashboard-{'phone' if viewport is PHONE else 'desktop'}")

    summary = dashboard.api("summary")
    assert summary["visits"] == 4
    assert_kpis_match(page, summary)
    for chart in CHARTS:
        assert page.locator(f"#{chart}-chart").is_visible()
        assert painted_pixels(page, chart) > 500, f"the {chart} chart drew nothing"
    focus = summary["levels"]["focus"]
    if focus:
        assert page.locator(f"#pyramid g.level.focus[data-level={focus}]").count() == 1
    ranking = dashboard.api("locations")["items"]
    rows = page.locator("#locations tbody tr")
    assert rows.count() == len(ranking)
    for i, location in enumerate(ranking):
        assert rows.nth(i).get_attribute("data-location") == str(location["location_id"])
    assert page.locator("#regions tbody tr").count() == len(dashboard.api("regions"))
    assert page.locator("#gaps tbody tr").count() == len(dashboard.api("gaps"))
    # Nothing but the tables may be wider than a phone: the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert not page.errors
    page.context.close()


def test_filters_change_the_figures_and_stay_in_the_url(browser: Any, dashboard: Dashboard) -> None:
    page = open_page(browser, dashboard, DESKTOP)
    sign_in(page, "acme-viewer")
    ready(page)
    everything = dashboard.api("summary")

    page.select_option("#filter-wave", str(dashboard.results.world.ids["Spring"]))
    ready(page, 2)
    spring = dashboard.api("summary", wave_id=dashboard.results.world.ids["Spring"])
    assert spring["visits"] == 2 and spring["mean_score"] != everything["mean_score"]
    assert_kpis_match(page, spring)
    assert f"wave={dashboard.results.world.ids['Spring']}" in page.url

    page.select_option("#filter-wave", "")
    page.select_option("#filter-channel", "online")
    ready(page, 4)
    online = dashboard.api("summary", channel="online")
    assert online["visits"] == 1
    assert_kpis_match(page, online)

    # A reload (or a shared link) restores the filtered view.
    page.goto(dashboard.page_url(region="north"))
    ready(page)
    assert page.locator("#filter-region").input_value() == "north"
    assert_kpis_match(page, dashboard.api("summary", region="north"))
    assert not page.errors
    page.context.close()


def test_a_client_user_of_another_client_cannot_open_the_project(
    browser: Any, dashboard: Dashboard
) -> None:
    page = open_page(browser, dashboard, PHONE)
    sign_in(page, "bolt-viewer")
    error = page.locator("#dashboard-error")
    error.wait_for()
    assert "not shared with you" in error.inner_text()
    assert page.locator("[data-key=kpi-score]").count() == 0
    page.context.close()


def test_an_approval_and_a_revocation_while_the_page_is_open_update_the_figures_without_a_reload(
    browser: Any, dashboard: Dashboard
) -> None:
    page = open_page(browser, dashboard, DESKTOP)
    sign_in(page, "acme-viewer")
    ready(page)
    page.locator("#live[data-status=open]").wait_for()
    page.evaluate("window.__sameDocument = true")
    before = dashboard.api("summary")
    assert kpi(page, "visits")[0] == "4"

    approved = dashboard.results.client.post(
        f"/api/v1/visits/{dashboard.pending}/review",
        json={"action": "approve"},
        headers=dashboard.results.manager,
    )
    assert approved.status_code == 200, approved.text
    after = dashboard.api("summary")
    assert after["visits"] == before["visits"] + 1

    page.wait_for_function(
        "() => document.querySelector('[data-key=kpi-visits]').textContent === '5'", timeout=2_000
    )
    assert_kpis_match(page, after)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.locator("[data-key=kpi-visits].changed").count() == 1

    revoked = dashboard.results.client.post(
        f"/api/v1/visits/{dashboard.pending}/review",
        json={"action": "revoke", "comment": "approved by mistake"},
        headers=dashboard.results.manager,
    )
    assert revoked.status_code == 200, revoked.text
    page.wait_for_function(
        "() => document.querySelector('[data-key=kpi-visits]').textContent === '4'", timeout=2_000
    )
    assert_kpis_match(page, before)
    assert page.evaluate("window.__sameDocument") is True
    assert not page.errors
    page.context.close()


def test_the_picker_lists_the_clients_projects_and_a_project_without_approved_visits_says_so(
    browser: Any, dashboard: Dashboard
) -> None:
    page = open_page(browser, dashboard, PHONE)
    page.goto("/dashboard/")
    sign_in(page, "bolt-viewer")
    links = page.locator(".project-list a")
    links.first.wait_for()
    assert links.all_inner_texts() == ["Beta"]  # Bolt's project only, not Acme's Alpha
    links.first.click()
    ready(page)
    assert f"project={dashboard.results.world.ids['Beta']}" in page.url
    notice = page.locator("#empty-notice")
    assert notice.is_visible() and "No approved visits yet" in notice.inner_text()
    assert kpi(page, "visits")[0] == "0"
    assert kpi(page, "score")[0] == "—"
    for chart in CHARTS:
        assert page.locator(f"#{chart}-empty").is_visible()
    assert not page.errors
    page.context.close()
