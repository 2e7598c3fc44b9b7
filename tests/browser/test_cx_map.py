"""The CX map, action plans and report pages in headless Chromium, on the generated project of
tests/cxmap/ (advice the moment of truth, queue and advice pain points by score, pay by emotion,
farewell the opportunity), seeded in two waves of 20 visits and served by a live server.

The pages' figures are compared with the API's answers for the same user and filters.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pypdf import PdfReader

from api.db import Database
from tests.browser.conftest import SCREENSHOTS, needs_chromium
from tests.conftest import LiveServer
from tests.cxmap.conftest import LATE_DONE_ON, QUEUE_FIXED_ON, STEPS, Seeded, seed_cx_project
from tests.helpers import PASSWORD, login

pytestmark = [needs_chromium, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1440, "height": 900}
REPORT_SECTIONS = {
    "cx-map": "CX map",
    "pyramid": "Customer pyramid",
    "emotion-curve": "Emotion curve",
    "location-ranking": "Location ranking",
    "open-actions": "Open actions",
}


@dataclass
class Site:
    url: str
    http: httpx.Client
    seeded: Seeded

    @property
    def project_id(self) -> int:
        return self.seeded.world.ids["Alpha"]

    def headers(self, username: str) -> dict[str, str]:
        return login(self.http, username)

    def get(self, path: str, username: str = "acme-viewer", **params: Any) -> Any:
        response = self.http.get(f"/api/v1{path}", params=params, headers=self.headers(username))
        assert response.status_code == 200, response.text
        return response.json()

    def create_plan(self, username: str = "mgr-a", **body: Any) -> dict[str, Any]:
        response = self.http.post(
            f"/api/v1/projects/{self.project_id}/action-plans",
            json=body,
            headers=self.headers(username),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def page_url(self, page: str, **params: Any) -> str:
        return f"/dashboard/{page}?{urlencode({'project': self.project_id, **params})}"


@pytest.fixture
def site(db: Database, live_server: LiveServer) -> Iterator[Site]:
    seeded = seed_cx_project(db, waves=True)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield Site(url=live_server.url, http=http, seeded=seeded)


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The session's Chromium (tests/browser/conftest.py): one Playwright per test session."""
    return browser


def open_page(chromium: Any, site: Site, path: str, viewport: dict[str, int] = DESKTOP) -> Any:
    phone = viewport["width"] < 600
    context = chromium.new_context(
        base_url=site.url,
        viewport=viewport,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path)
    return page


def sign_in(page: Any, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def ready(page: Any, loads: int = 1) -> None:
    page.wait_for_function(
        "n => document.body.dataset.state === 'ready' && Number(document.body.dataset.refreshes) >= n",
        arg=loads,
    )


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def api_steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["step_key"]: step for phase in document["phases"] for step in phase["steps"]}


def page_flags(page: Any) -> dict[str, set[str]]:
    cells = page.locator(".cx-flags[data-step]")
    return {
        cells.nth(i).get_attribute("data-step"): set(
            (cells.nth(i).get_attribute("data-flags") or "").split()
        )
        for i in range(cells.count())
    }


def api_flags(document: dict[str, Any]) -> dict[str, set[str]]:
    flags: dict[str, set[str]] = {}
    for key, step in api_steps(document).items():
        flags[key] = {
            name
            for name, on in (
                ("moment_of_truth", step["flags"]["moment_of_truth"] is not None),
                ("pain_point", step["flags"]["pain_point"]),
                ("opportunity", step["flags"]["opportunity"]),
            )
            if on
        }
    return flags


# ---------------------------------------------------------------------------------- CX map


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_cx_map_marks_the_moment_of_truth_pain_points_and_opportunity_the_api_flags(
    chromium: Any, site: Site, viewport: dict[str, int]
) -> None:
    site.http.put(
        f"/api/v1/projects/{site.project_id}/desired-journey",
        json={"step_targets": {"queue": 70, "advice": 80, "farewell": 90}},
        headers=site.headers("mgr-a"),
    ).raise_for_status()
    page = open_page(chromium, site, site.page_url("cx-map.html"), viewport)
    sign_in(page, "acme-viewer")
    ready(page)
    name = "phone" if viewport is PHONE else "desktop"
    shot(page, f"cx-map-{name}")

    document = site.get(f"/projects/{site.project_id}/cx-map")
    flags = page_flags(page)
    assert flags == api_flags(document)
    # The generated project's known answers, as tests/cxmap/ pins them on the API.
    assert {key for key, on in flags.items() if "moment_of_truth" in on} == {"advice"}
    assert {key for key, on in flags.items() if "pain_point" in on} == {"advice", "queue", "pay"}
    assert {key for key, on in flags.items() if "opportunity" in on} == {"farewell"}
    assert "Moment of truth #1" in page.locator(".cx-flags[data-step=advice]").inner_text()

    phases = page.locator(".cx-phase")
    assert phases.all_inner_texts() == [p["name"] for p in document["phases"]]
    steps = api_steps(document)
    for key in STEPS:
        cell = page.locator(f".cx-score[data-step={key}]")
        assert float(cell.get_attribute("data-score")) == pytest.approx(steps[key]["score"])
        assert (
            page.locator(f"[data-key=cx-score-{key}]").inner_text() == f"{steps[key]['score']:.1f}"
        )
        emotion = page.locator(f".cx-emotion[data-step={key}]")
        assert float(emotion.get_attribute("data-conscious")) == pytest.approx(
            steps[key]["conscious"]
        )
        assert float(emotion.get_attribute("data-implicit")) == pytest.approx(
            steps[key]["implicit"]
        )
    queue = page.locator(".cx-score[data-step=queue]")
    assert float(queue.get_attribute("data-desired")) == 70
    assert float(queue.get_attribute("data-gap")) == pytest.approx(steps["queue"]["gap"])
    # Both curves run through every step: a dot per value on each lane.
    assert page.locator("[data-lane=score] .dot.measured").count() == len(STEPS)
    assert page.locator("[data-lane=score] .dot.desired").count() == 3
    assert page.locator("[data-lane=emotion] .dot.conscious").count() == len(STEPS)
    assert page.locator("[data-lane=emotion] .dot.implicit").count() == len(STEPS)
    assert page.locator("[data-lane=emotion] polyline").count() == 2

    # The page never scrolls sideways; on a phone the map scrolls inside its box.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    if viewport is PHONE:
        scroll = page.locator(".cx-scroll")
        assert scroll.evaluate("el => el.scrollWidth > el.clientWidth")
    assert not page.errors
    page.context.close()


def test_cx_map_filters_follow_the_api_and_stay_in_the_url(chromium: Any, site: Site) -> None:
    page = open_page(chromium, site, site.page_url("cx-map.html"))
    sign_in(page, "mgr-a")
    ready(page)
    parent = site.seeded.personas["Busy parent"]
    page.select_option("#filter-persona", str(parent))
    ready(page, 2)
    assert f"persona={parent}" in page.url
    document = site.get(f"/projects/{site.project_id}/cx-map", "mgr-a", persona_id=parent)
    assert document["visits"] == 20
    score = page.locator(".cx-score[data-step=queue]").get_attribute("data-score")
    assert float(score) == pytest.approx(api_steps(document)["queue"]["score"])
    assert "20 approved visits" in page.locator("#visits-note").inner_text()

    wave = site.seeded.waves["Wave 2"]
    page.goto(site.page_url("cx-map.html", wave=wave))
    ready(page)
    assert page.locator("#filter-wave").input_value() == str(wave)
    document = site.get(f"/projects/{site.project_id}/cx-map", "mgr-a", wave_id=wave)
    assert page_flags(page) == api_flags(document)
    assert not page.errors
    page.context.close()


# ---------------------------------------------------------------------------------- action plans


def plans_in_api(site: Site, username: str = "mgr-a", **params: Any) -> list[dict[str, Any]]:
    return list(site.get(f"/projects/{site.project_id}/action-plans", username, **params)["items"])


def test_an_action_planned_from_a_pain_point_on_the_map_is_created_through_the_api(
    chromium: Any, site: Site
) -> None:
    page = open_page(chromium, site, site.page_url("cx-map.html"), PHONE)
    sign_in(page, "acme-viewer")  # the client owns the improvements and may plan them
    ready(page)
    page.locator(".cx-flags[data-step=queue] a.plan-action").click()
    page.wait_for_url("**/dashboard/actions.html?**")
    ready(page)
    assert "new=pain_point" in page.url and "steps=queue" in page.url
    form = page.locator("#plan-form")
    assert form.is_visible()
    assert page.locator("#plan-kind").input_value() == "pain_point"
    checked = page.locator("#plan-steps input:checked")
    assert [checked.nth(i).input_value() for i in range(checked.count())] == ["queue"]
    six_months = str(date.today() + timedelta(days=182))
    assert page.locator("#plan-recheck").input_value() == six_months
    page.fill("#plan-form [name=title]", "Second till at rush hour")
    page.fill("#plan-form [name=owner]", "Store manager")
    due = str(date.today() + timedelta(days=30))
    page.fill("#plan-form [name=due_on]", due)
    page.evaluate("document.activeElement.blur()")  # close the phone's date picker
    shot(page, "actions-new-phone")
    page.click("#plan-create")
    page.locator("#plan-saved", has_text="Created").wait_for()

    [plan] = plans_in_api(site)
    assert plan["title"] == "Second till at rush hour"
    assert (plan["source_kind"], plan["step_keys"]) == ("pain_point", ["queue"])
    assert (plan["owner"], plan["due_on"], plan["recheck_on"]) == ("Store manager", due, six_months)
    assert plan["baseline"]["steps"]["queue"]["pain_reasons"] == ["score"]
    row = page.locator(f"tr[data-plan-id='{plan['id']}']")
    row.wait_for()
    assert row.get_attribute("data-status") == "open"
    assert row.locator("[data-key=owner]").inner_text() == "Store manager"
    assert row.locator("[data-key=recheck-on]").inner_text().startswith(six_months)

    row.locator("select[data-act=status]").select_option("in_progress")
    page.wait_for_selector(f"tr[data-plan-id='{plan['id']}'][data-status=in_progress]")
    row.locator("button[data-act=done]").click()
    page.wait_for_selector(f"tr[data-plan-id='{plan['id']}'][data-status=done]")
    [done] = plans_in_api(site)
    assert (done["status"], done["completed_on"]) == ("done", str(date.today()))
    assert page.locator(
        f"tr[data-plan-id='{plan['id']}'] [data-key=completed-on]"
    ).inner_text() == str(date.today())
    assert not page.errors
    page.context.close()


def test_a_plan_past_its_recheck_date_is_listed_as_due_until_the_recheck_is_recorded(
    chromium: Any, site: Site
) -> None:
    yesterday = str(date.today() - timedelta(days=1))
    due = site.create_plan(
        title="Old action",
        source={"kind": "pain_point", "step_keys": ["pay"]},
        owner="Area lead",
        recheck_on=yesterday,
    )
    fresh = site.create_plan(title="New action", source={"kind": "manual", "step_keys": ["greet"]})
    assert [p["id"] for p in plans_in_api(site, due_for_recheck="true")] == [due["id"]]

    page = open_page(chromium, site, f"/dashboard/?project={site.project_id}")
    sign_in(page, "acme-viewer")
    panel = page.locator("#recheck-card")
    panel.locator(f"li[data-plan-id='{due['id']}']").wait_for()
    assert panel.locator("li").count() == 1
    assert "Old action" in panel.inner_text() and yesterday in panel.inner_text()
    shot(page, "dashboard-recheck-desktop", full_page=False)

    page.locator("#project-pages a[data-page='actions.html']").click()
    page.wait_for_url("**/dashboard/actions.html?**")
    ready(page)
    listed = page.locator("#due-recheck li")
    assert [listed.nth(i).get_attribute("data-plan-id") for i in range(listed.count())] == [
        str(due["id"])
    ]
    row = page.locator(f"tr[data-plan-id='{due['id']}']")
    assert row.get_attribute("data-due-for-recheck") == "true"
    fresh_row = page.locator(f"tr[data-plan-id='{fresh['id']}']")
    assert fresh_row.get_attribute("data-due-for-recheck") == "false"
    assert fresh_row.locator("button[data-act=rechecked]").count() == 0
    shot(page, "actions-desktop")

    row.locator("button[data-act=rechecked]").click()
    page.locator("#recheck-none").wait_for()
    assert plans_in_api(site, due_for_recheck="true") == []
    [rechecked] = [p for p in plans_in_api(site) if p["id"] == due["id"]]
    assert rechecked["rechecked_on"] == str(date.today())
    assert not page.errors
    page.context.close()


def test_impact_shows_before_and_after_scores_with_visits_and_the_too_few_visits_note(
    chromium: Any, site: Site
) -> None:
    fixed_on = QUEUE_FIXED_ON.isoformat()
    improved = site.create_plan(
        title="Queue", source={"kind": "pain_point", "step_keys": ["queue"]}
    )
    late = site.create_plan(title="Late", source={"kind": "manual", "step_keys": ["queue", "pay"]})
    for plan, on in ((improved, fixed_on), (late, LATE_DONE_ON.isoformat())):
        response = site.http.patch(
            f"/api/v1/action-plans/{plan['id']}",
            json={"status": "done", "completed_on": on},
            headers=site.headers("mgr-a"),
        )
        assert response.status_code == 200, response.text

    page = open_page(chromium, site, site.page_url("actions.html"))
    sign_in(page, "mgr-a")
    ready(page)
    for plan in (improved, late):
        page.locator(f"tr[data-plan-id='{plan['id']}'] button[data-act=impact]").click()
        table = page.locator(f".impact[data-plan-id='{plan['id']}']")
        table.wait_for()
        impact = site.get(f"/action-plans/{plan['id']}/impact", "mgr-a")
        for step in impact["steps"]:
            row = table.locator(f"tr[data-impact-step={step['step_key']}]")
            cell = lambda key, row=row: row.locator(f"[data-key={key}]").inner_text()  # noqa: E731
            assert cell("before-visits") == str(step["before"]["visits"])
            assert cell("after-visits") == str(step["after"]["visits"])
            assert cell("before-score") == f"{step['before']['mean_score']:.1f}"
            assert cell("after-score") == f"{step['after']['mean_score']:.1f}"
            assert (
                row.locator("[data-key=verdict]").get_attribute("data-verdict") == step["verdict"]
            )
            if step["note"]:
                assert cell("step-note") == step["note"]
    improved_row = page.locator(
        f".impact[data-plan-id='{improved['id']}'] tr[data-impact-step=queue]"
    )
    assert improved_row.locator("[data-key=before-visits]").inner_text() == "25"
    assert improved_row.locator("[data-key=after-visits]").inner_text() == "15"
    assert improved_row.locator("[data-key=verdict]").get_attribute("data-verdict") == "improved"
    late_row = page.locator(f".impact[data-plan-id='{late['id']}'] tr[data-impact-step=queue]")
    assert late_row.locator("[data-key=verdict]").get_attribute("data-verdict") == "too_few_visits"
    assert "Too few visits" in late_row.locator("[data-key=step-note]").inner_text()
    shot(page, "actions-impact-desktop")
    assert not page.errors
    page.context.close()


# ---------------------------------------------------------------------------------- report


def test_report_has_every_section_with_the_api_figures_and_prints_one_section_per_a4_page(
    chromium: Any, site: Site
) -> None:
    open_plan = site.create_plan(
        title="Second till at rush hour",
        source={"kind": "pain_point", "step_keys": ["queue"]},
        owner="Store manager",
    )
    closed = site.create_plan(
        title="Friendlier goodbye", source={"kind": "manual", "step_keys": ["farewell"]}
    )
    site.http.patch(
        f"/api/v1/action-plans/{closed['id']}",
        json={"status": "done"},
        headers=site.headers("mgr-a"),
    ).raise_for_status()
    wave = site.seeded.waves["Wave 2"]
    page = open_page(chromium, site, site.page_url("report.html", wave_id=wave))
    sign_in(page, "acme-viewer")
    ready(page)
    shot(page, "report-desktop")

    for section_id, title in REPORT_SECTIONS.items():
        assert page.locator(f"section#{section_id} > h2").inner_text() == title
    assert "Wave 2" in page.locator("#report-scope").inner_text()
    summary = site.get(f"/projects/{site.project_id}/results/summary", wave_id=wave)
    assert summary["visits"] == 20
    assert page.locator("[data-key=report-visits]").inner_text() == "20"
    assert page.locator("[data-key=report-score]").inner_text() == f"{summary['mean_score']:.1f}"

    document = site.get(f"/projects/{site.project_id}/cx-map", wave_id=wave)
    assert page_flags(page) == api_flags(document)
    steps = api_steps(document)
    for key in STEPS:
        score = page.locator(f"#cx-map .cx-score[data-step={key}]").get_attribute("data-score")
        assert float(score) == pytest.approx(steps[key]["score"])
        row = page.locator(f"#emotion-curve tr[data-step={key}]")
        assert row.locator("[data-key=emo-conscious]").inner_text() == signed(
            steps[key]["conscious"]
        )
        assert row.locator("[data-key=emo-implicit]").inner_text() == signed(steps[key]["implicit"])
    assert page.locator("#emotion-curve svg polyline").count() == 2
    for level in ("basis", "ease"):
        shown = page.locator(f"#pyramid [data-key=level-{level}]").text_content()
        assert shown == f"{summary['levels'][level]:.1f}"

    ranking = site.get(f"/projects/{site.project_id}/results/locations", wave_id=wave)["items"]
    rows = page.locator("#location-ranking tbody tr")
    assert rows.count() == len(ranking)
    for i, location in enumerate(ranking):
        assert rows.nth(i).get_attribute("data-location") == str(location["location_id"])
        assert (
            rows.nth(i).locator("[data-key=loc-score]").inner_text()
            == f"{location['mean_score']:.1f}"
        )
        assert rows.nth(i).locator("[data-key=loc-visits]").inner_text() == str(location["visits"])

    listed = page.locator("#open-actions tbody tr")
    assert [listed.nth(i).get_attribute("data-plan-id") for i in range(listed.count())] == [
        str(open_plan["id"])
    ]
    assert "1 done or dropped plan not listed" in page.locator("#open-actions").inner_text()
    assert "Save as PDF" in page.locator("#print-hint").inner_text()

    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#print-hint").is_visible()
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    texts = [pdf_page.extract_text() for pdf_page in pdf.pages]
    first_pages = []
    for title in REPORT_SECTIONS.values():
        found = [i for i, text in enumerate(texts) if title in text]
        assert found, f"{title!r} is not in the PDF"
        first_pages.append(found[0])
    # A page break before every section: each title opens a later page than the one before.
    assert first_pages == sorted(set(first_pages)) and len(first_pages) == len(REPORT_SECTIONS)
    assert "Alpha" in texts[0] and "Second till at rush hour" in texts[first_pages[-1]]
    width, height = pdf.pages[0].mediabox.width, pdf.pages[0].mediabox.height
    assert (float(width), float(height)) == pytest.approx((595, 842), abs=2)  # A4 in points
    assert not page.errors
    page.context.close()


def signed(value: float) -> str:
    text = f"{value:.2f}"
    return f"+{text}" if value > 0 else text
