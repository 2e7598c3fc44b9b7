"""The client's appeals, outside data and export pages of the dashboard in headless Chromium.

A client user disputes a visit in the UI and the appeal is in the API (and the API's refusals
show as it words them); the outside data page shows the correlation the API computes after
figures are imported through the API; the CSV export button downloads exactly the approved
visits. Visits are seeded as in tests/results/conftest.py; the correlation project is the one of
tests/outside_data/test_outside_data.py (r = 0.913252, rho = 0.9, n = 5).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import openpyxl
import pytest

from api.db import Database
from api.locations.models import LocationCreate
from api.locations.service import create_location
from api.projects.models import Project
from tests.appeals.test_appeals import backdate_approval
from tests.browser.conftest import SCREENSHOTS, desktop_page, needs_chromium
from tests.browser.test_dashboard import sign_in
from tests.conftest import LiveServer
from tests.helpers import login
from tests.outside_data.test_outside_data import NPS, VISITS, upload
from tests.results.conftest import API, Answers, Results, build_results

pytestmark = needs_chromium


@pytest.fixture
def results(db: Database, live_server: LiveServer) -> Iterator[Results]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield build_results(http, db)


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    with desktop_page(browser, live_server.url, reduced_motion="reduce") as page:
        yield page


def ready(page: Any) -> None:
    page.wait_for_function("document.body.dataset.state === 'ready'")


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def appeals_of(results: Results, viewer: dict[str, str]) -> list[dict[str, Any]]:
    response = results.client.get(f"{API}/projects/{results.project_id}/appeals", headers=viewer)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_client_files_an_appeal_and_sees_the_apis_refusals(results: Results, page: Any) -> None:
    first = results.approved_visit(Answers(), location="Alpha/loc0")
    second = results.approved_visit(Answers(friendly=1), location="Alpha/loc1")
    third = results.approved_visit(Answers(quick="no"), location="Alpha/loc2")
    viewer = login(results.client, "acme-viewer")
    page.goto(f"/dashboard/appeals.html?project={results.project_id}")
    sign_in(page, "acme-viewer")
    ready(page)
    rows = page.locator("#appealable-table tbody tr")
    assert sorted(
        int(v) for v in rows.evaluate_all("rs => rs.map(r => r.dataset.visit)")
    ) == sorted([first, second, third])
    assert page.locator("#appeals-empty").is_visible()

    page.click(f"button[data-appeal='{first}']")
    page.click("#appeal-form button[type=submit]")  # no reason: refused in the page
    assert "what is wrong" in page.inner_text("#appeal-error")
    page.fill("#appeal-form textarea[name=reason]", "The shop was closed for a holiday.")
    page.click("#appeal-form button[type=submit]")
    page.wait_for_selector("#appeals-table tr[data-status=open]")
    assert page.locator("#appeal-form").is_hidden()
    assert page.inner_text("#appeal-done").startswith("Appeal #")
    filed = appeals_of(results, viewer)
    assert [(a["visit_id"], a["status"], a["reason"]) for a in filed] == [
        (first, "open", "The shop was closed for a holiday.")
    ]
    assert page.locator(f"#appeals-table tr[data-appeal-id='{filed[0]['id']}']").is_visible()
    # The filed visit now shows its open appeal instead of a button.
    assert page.locator(f"button[data-appeal='{first}']").count() == 0
    shot(page, "dashboard-appeals-client")

    # Refusals are the API's own words: the window closed, or an appeal is already open.
    # The window closes while the form is open: the live re-read that the filing above set off
    # may land after the backdating at any time and then drops the visit's button, not the form.
    page.click(f"button[data-appeal='{second}']")
    backdate_approval(results, second, days=15)
    page.fill("#appeal-form textarea[name=reason]", "Too late?")
    page.click("#appeal-form button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#appeal-error').textContent.includes('within 14 day')"
    )
    page.click(f"button[data-appeal='{third}']")
    page.fill("#appeal-form textarea[name=reason]", "Twice.")
    # Meanwhile the same visit is appealed elsewhere (another tab, the API).
    elsewhere = results.client.post(
        f"{API}/visits/{third}/appeals", json={"reason": "Filed elsewhere."}, headers=viewer
    )
    assert elsewhere.status_code == 201, elsewhere.text
    # The page follows appeal.changed: the visit stops offering an appeal, the open form stays.
    page.wait_for_selector(f"button[data-appeal='{third}']", state="detached")
    assert page.input_value("#appeal-form textarea[name=reason]") == "Twice."
    page.click("#appeal-form button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#appeal-error').textContent.includes('has an open appeal')"
    )
    assert len(appeals_of(results, viewer)) == 2


def test_managers_see_the_appeals_read_only(results: Results, page: Any) -> None:
    visit = results.approved_visit(Answers(), location="Alpha/loc0")
    viewer = login(results.client, "acme-viewer")
    filed = results.client.post(
        f"{API}/visits/{visit}/appeals", json={"reason": "Wrong."}, headers=viewer
    )
    assert filed.status_code == 201, filed.text
    decided = results.client.post(
        f"{API}/appeals/{filed.json()['id']}/decision",
        json={"outcome": "dismissed", "comment": "The photos show the shop open."},
        headers=results.manager,
    )
    assert decided.status_code == 200, decided.text
    page.goto(f"/dashboard/appeals.html?project={results.project_id}")
    sign_in(page, "mgr-a")
    ready(page)
    assert page.locator("#read-only-note").is_visible()
    assert page.locator("button[data-appeal]").count() == 0
    row = page.locator("#appeals-table tr[data-status=dismissed]")
    assert "The photos show the shop open." in row.inner_text()
    shot(page, "dashboard-appeals-manager")


def painted(page: Any) -> int:
    return int(
        page.evaluate(
            """() => {
              const canvas = document.querySelector('#outside-chart');
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              let painted = 0;
              for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted += 1;
              return painted;
            }"""
        )
    )


def test_outside_data_page_shows_the_apis_correlation(results: Results, page: Any) -> None:
    with results.db.session() as session:
        project = session.get(Project, results.project_id)
        assert project is not None
        for index in (3, 4):
            location = create_location(
                session,
                project=project,
                data=LocationCreate(
                    code=f"ALP-{index}", name=f"Shop {index}", latitude=52.1, longitude=4.1
                ),
            )
            results.world.ids[f"Alpha/loc{index}"] = location.id or 0
    for location, answers in VISITS.items():
        results.approved_visit(answers, location=location)
    url = f"/dashboard/outside.html?project={results.project_id}"
    page.goto(url)
    sign_in(page, "acme-viewer")
    ready(page)
    assert page.locator("#outside-empty").is_visible()  # nothing imported yet

    assert upload(results, NPS).status_code == 201
    api = results.client.get(
        f"{API}/projects/{results.project_id}/outside-data/correlation",
        params={"metric": "NPS"},
        headers=login(results.client, "acme-viewer"),
    ).json()
    assert (api["n"], round(api["pearson"], 6), round(api["spearman"], 6)) == (5, 0.913252, 0.9)
    page.reload()
    ready(page)
    assert float(page.get_attribute("#pearson", "data-value")) == api["pearson"]
    assert float(page.get_attribute("#spearman", "data-value")) == api["spearman"]
    assert page.inner_text("#pearson") == "+0.91"
    assert page.inner_text("#n") == "5"
    assert page.locator("#pairs-table tbody tr").count() == len(api["locations"]) == 6
    assert page.locator("#note").is_hidden()
    assert painted(page) > 500
    shot(page, "dashboard-outside-data")

    # The results filters reach the API: one location leaves n = 1 and the API's note.
    page.select_option("#filter-location", str(results.world.ids["Alpha/loc0"]))
    page.wait_for_function("document.querySelector('#n').textContent === '1'")
    ready(page)
    assert "at least 5" in page.inner_text("#note")
    assert page.locator("#filter-persona").is_hidden()  # the correlation has no persona filter
    assert f"location={results.world.ids['Alpha/loc0']}" in page.url


def csv_rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(io.StringIO(handle.read())))


def test_csv_export_button_downloads_the_approved_visits(results: Results, page: Any) -> None:
    approved = [
        results.approved_visit(Answers(), wave="Spring"),
        results.approved_visit(Answers(friendly=2), wave="Spring", location="Alpha/loc1"),
        results.approved_visit(Answers(quick="no"), wave="Autumn", location="Alpha/loc2"),
    ]
    results.submitted_visit(Answers(), wave="Autumn")  # not approved: not exported
    page.goto(f"/dashboard/?project={results.project_id}")
    sign_in(page, "acme-viewer")
    page.wait_for_selector("#export-csv")
    summary = results.get("summary", headers=login(results.client, "acme-viewer"))
    assert summary["visits"] == 3
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = csv_rows(download.path())
    assert len(rows) == summary["visits"]
    assert sorted(int(row["visit_id"]) for row in rows) == sorted(approved)

    # With the wave filter, long layout: only that wave's visits, one row per answer.
    page.select_option("#filter-wave", str(results.world.ids["Spring"]))
    page.select_option("#export-layout", "long")
    with page.expect_download() as info:
        page.click("#export-csv")
    rows = csv_rows(info.value.path())
    assert {int(row["visit_id"]) for row in rows} == set(approved[:2])
    assert "long" in info.value.suggested_filename
    shot(page, "dashboard-export")

    # Excel, wide, same wave: a workbook with a header row and one row per visit.
    page.select_option("#export-layout", "wide")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as handle:  # the saved file has no extension
        sheet = openpyxl.load_workbook(io.BytesIO(handle.read()), read_only=True).worksheets[0]
        table = list(sheet.iter_rows(values_only=True))
    assert table[0][0] == "visit_id"
    assert sorted(int(row[0]) for row in table[1:]) == sorted(approved[:2])
