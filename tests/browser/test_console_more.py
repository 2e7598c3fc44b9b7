"""The console's appeals, desired journey, webhooks and outside-data screens in headless Chromium,
and the issue's key flow: an approval made with the console's buttons reaches an open client
dashboard (another browser context, signed in as the client) without a reload.

The world is the results tests' project (tests/results/conftest.py via the dashboard fixture of
tests/browser/test_dashboard.py): four approved visits and one submitted visit waiting for review.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.config import Settings
from tests.browser.conftest import SCREENSHOTS, needs_chromium
from tests.browser.test_dashboard import DESKTOP, Dashboard, dashboard, kpi, ready
from tests.browser.test_dashboard import sign_in as dashboard_sign_in
from tests.helpers import PASSWORD, login

pytestmark = [pytest.mark.browser, needs_chromium]

__all__ = ["dashboard"]  # the fixture, imported for pytest


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The default test settings with a quick webhook loop (polls every 0.3 s, retries after 0.1 s)
    that may reach the test's receiver on 127.0.0.1."""
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-" + "x" * 32,
        expiry_interval_seconds=0,
        webhook_allow_private=True,
        webhook_retry_base_seconds=0.1,
        webhook_max_attempts=3,
        webhook_poll_seconds=0.3,
        webhook_timeout_seconds=2,
    )


def new_page(browser: Any, dashboard: Dashboard) -> Page:
    context = browser.new_context(
        base_url=dashboard.url, viewport=DESKTOP, locale="en-GB", timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    return page


@pytest.fixture
def desk(browser: Any, dashboard: Dashboard) -> Iterator[Page]:
    """The console signed in as mgr-a, the manager of project Alpha."""
    page = new_page(browser, dashboard)
    page.goto("/console/")
    page.get_by_label("User name").fill("mgr-a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header.top")).to_be_visible()
    # The overview has drawn: a later hash route is not overwritten by its late rendering.
    expect(page.locator(".project-card").first).to_be_visible()
    yield page
    errors = page.errors  # type: ignore[attr-defined]
    page.context.close()
    assert not errors, f"uncaught errors in the console: {errors}"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def api(dashboard: Dashboard, method: str, path: str, user: str = "mgr-a", **kw: Any) -> Any:
    http = dashboard.results.client
    response = http.request(method, f"/api/v1{path}", headers=login(http, user), **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def approve_in_console(desk: Page, visit_id: int) -> None:
    desk.goto(f"/console/#/visits/{visit_id}")
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute(
        "data-status", "submitted"
    )
    desk.get_by_role("button", name="Approve").click()
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute("data-status", "approved")


def test_an_approval_in_the_console_changes_the_open_client_dashboard_within_two_seconds(
    browser: Any, dashboard: Dashboard, desk: Page
) -> None:
    board = new_page(browser, dashboard)
    board.goto(dashboard.page_url())
    dashboard_sign_in(board, "acme-viewer")
    ready(board)
    board.locator("#live[data-status=open]").wait_for()
    board.evaluate("window.__sameDocument = true")
    before = dashboard.api("summary")
    assert kpi(board, "visits") == (str(before["visits"]), str(before["visits"]))

    desk.goto(f"/console/#/visits/{dashboard.pending}")
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute(
        "data-status", "submitted"
    )
    desk.get_by_role("button", name="Approve").click()
    clicked = time.monotonic()
    board.wait_for_function(
        "n => document.querySelector('[data-key=kpi-visits]')?.dataset.value === String(n)",
        arg=before["visits"] + 1,
        timeout=2_000,
    )
    elapsed = time.monotonic() - clicked
    print(f"dashboard updated {elapsed:.2f} s after the Approve click")
    assert elapsed < 2.0
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute("data-status", "approved")
    after = dashboard.api("summary")
    assert after["visits"] == before["visits"] + 1
    assert float(kpi(board, "score")[1]) == after["mean_score"]
    assert board.evaluate("window.__sameDocument") is True  # no reload happened
    shot(board, "console-more-dashboard-after-approval")
    errors = board.errors  # type: ignore[attr-defined]
    board.context.close()
    assert not errors


def test_a_manager_upholds_an_appeal_with_void_and_the_visit_leaves_the_results(
    dashboard: Dashboard, desk: Page
) -> None:
    pid = dashboard.project_id
    approved = api(dashboard, "GET", f"/projects/{pid}/appealable-visits", user="acme-viewer")
    visit_id = approved["items"][0]["visit_id"]
    reason = "The shopper visited on a closed Sunday; this visit cannot be right."
    appeal = api(
        dashboard,
        "POST",
        f"/visits/{visit_id}/appeals",
        user="acme-viewer",
        json={"reason": reason},
    )
    before = dashboard.api("summary")

    desk.goto(f"/console/#/projects/{pid}/appeals")
    row = desk.locator(f'#appeals-table tr[data-appeal="{appeal["id"]}"]')
    expect(row).to_contain_text(reason)
    expect(row.locator(f'a[href="#/visits/{visit_id}"]')).to_be_visible()
    expect(
        desk.locator('#appeal-stats tr[data-total="true"] td[data-rate="appeal"]')
    ).not_to_have_text("—")
    row.get_by_role("button", name="Decide").click()
    form = desk.locator("#decide")
    form.get_by_label("Uphold — void the visit").check()
    form.get_by_label("Comment").fill("Confirmed: the shop was closed that day.")
    shot(desk, "console-more-appeal-decision")
    form.get_by_role("button", name="Record decision").click()
    expect(desk.locator(".notice.ok")).to_contain_text(f"Appeal #{appeal['id']} upheld (void)")
    expect(desk.locator(f'#appeals-table tr[data-appeal="{appeal["id"]}"]')).to_have_count(0)

    decided = api(dashboard, "GET", f"/appeals/{appeal['id']}")
    assert (decided["status"], decided["action"]) == ("upheld", "void")
    after = dashboard.api("summary")
    assert after["visits"] == before["visits"] - 1
    expect(desk.locator('#appeal-stats tr[data-total="true"] td[data-rate="upheld"]')).to_have_text(
        "100%"
    )
    shot(desk, "console-more-appeals")


def test_a_desired_journey_edit_saves_version_n_plus_one_with_the_new_target(
    dashboard: Dashboard, desk: Page
) -> None:
    pid = dashboard.project_id
    current = api(dashboard, "GET", f"/projects/{pid}/desired-journey")
    n = current["version"]
    desk.goto(f"/console/#/projects/{pid}/targets")
    expect(desk.locator("#dj-version")).to_have_attribute("data-version", str(n))
    step = desk.locator("#step-targets tbody tr[data-step]").first
    key = step.get_attribute("data-step")
    step.locator("input").fill("91.5")
    desk.get_by_label("Emotion").fill("70")
    desk.get_by_label("Note (why this version)").fill("Raised after the spring wave")
    desk.get_by_role("button", name=f"Save as version {n + 1}").click()
    expect(desk.locator("#dj-version")).to_have_attribute("data-version", str(n + 1))
    expect(desk.locator(f'#dj-versions tr[data-version="{n + 1}"]')).to_contain_text(
        "Raised after the spring wave"
    )

    saved = api(dashboard, "GET", f"/projects/{pid}/desired-journey")
    assert saved["version"] == n + 1
    assert saved["step_targets"][key] == 91.5
    assert saved["level_targets"]["emotion"] == 70
    assert saved["note"] == "Raised after the spring wave"
    versions = api(dashboard, "GET", f"/projects/{pid}/desired-journey/versions")["items"]
    assert versions[-1]["version"] == n + 1

    desk.get_by_role("button", name="New persona").click()
    desk.get_by_label("Name").fill("Young family")
    desk.get_by_label("Traits").fill('{"household": "family"}')
    desk.get_by_role("button", name="Save persona").click()
    expect(desk.locator("#personas-table")).to_contain_text("Young family")
    personas = api(dashboard, "GET", f"/projects/{pid}/personas")["items"]
    assert [(p["name"], p["traits"]) for p in personas] == [
        ("Young family", {"household": "family"})
    ]
    shot(desk, "console-more-targets")


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                state.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    yield state
    state.server.shutdown()
    state.server.server_close()


def test_a_webhook_created_in_the_console_shows_its_delivery_after_an_approval(
    dashboard: Dashboard, desk: Page, receiver: Receiver
) -> None:
    pid = dashboard.project_id
    desk.goto(f"/console/#/projects/{pid}/webhooks")
    desk.get_by_label("URL").fill(receiver.url)
    desk.get_by_label("visit.revoked").uncheck()
    desk.get_by_label("Description").fill("BI pipeline")
    desk.get_by_role("button", name="Create webhook").click()
    secret = desk.locator("#webhook-secret")
    expect(secret).not_to_be_empty()
    webhook_id = int(desk.locator("#new-webhook").get_attribute("data-webhook") or 0)
    hooks = api(dashboard, "GET", f"/projects/{pid}/webhooks")["items"]
    assert [(h["id"], h["url"], h["events"]) for h in hooks] == [
        (webhook_id, receiver.url, ["visit.approved"])
    ]
    assert "secret" not in hooks[0]
    expect(desk.locator("#deliveries-table")).to_contain_text("Nothing sent yet.")

    approve_in_console(desk, dashboard.pending)
    deadline = time.monotonic() + 10
    while not receiver.bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.bodies, "the receiver got no POST"

    desk.goto(f"/console/#/projects/{pid}/webhooks")
    row = desk.locator('#deliveries-table tr[data-status="delivered"]')
    for _ in range(40):  # the delivery row is marked delivered just after the POST is answered
        desk.locator(f'button[data-log="{webhook_id}"]').click()
        if row.count():
            break
        time.sleep(0.25)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("visit.approved")
    expect(row.locator(f'a[href="#/visits/{dashboard.pending}"]')).to_be_visible()
    expect(row).to_contain_text("204")
    shot(desk, "console-more-webhooks")

    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator(f'button[data-delete="{webhook_id}"]').click()
    expect(desk.locator("#webhooks-table")).to_contain_text("No webhooks yet.")
    assert api(dashboard, "GET", f"/projects/{pid}/webhooks")["items"] == []


def test_a_manager_upholds_an_appeal_by_amending_one_answer_of_a_step(
    dashboard: Dashboard, desk: Page
) -> None:
    pid = dashboard.project_id
    approved = api(dashboard, "GET", f"/projects/{pid}/appealable-visits", user="acme-viewer")
    visit_id = approved["items"][0]["visit_id"]
    appeal = api(
        dashboard,
        "POST",
        f"/visits/{visit_id}/appeals",
        user="acme-viewer",
        json={"reason": "We were greeted at once; the camera footage shows it."},
    )
    review = api(dashboard, "GET", f"/visits/{visit_id}/review")
    entry = next(s for s in review["visit"]["steps"] if s["step_key"] == "entry")
    assert entry["answers"]["greeted"] == "yes"

    desk.goto(f"/console/#/projects/{pid}/appeals")
    desk.locator(f'button[data-decide="{appeal["id"]}"]').click()
    form = desk.locator("#decide")
    expect(form.locator("#amend")).to_be_hidden()
    form.get_by_label("Uphold — amend answers").check()
    expect(form.locator("#amend")).to_be_visible()
    form.get_by_label("Step").select_option("entry")
    answers = form.get_by_label("Corrected answers")
    expect(answers).to_have_value(re.compile(r'"greeted": "yes"'))
    answers.fill('{"greeted": "no"}')
    form.get_by_label("Comment").fill("Corrected: the greeting came late.")
    form.get_by_role("button", name="Record decision").click()
    expect(desk.locator(".notice.ok")).to_contain_text(f"Appeal #{appeal['id']} upheld (amend)")

    decided = api(dashboard, "GET", f"/appeals/{appeal['id']}")
    assert (decided["status"], decided["action"]) == ("upheld", "amend")
    assert decided["amendments"]["entry"]["greeted"] == "no"
    assert decided["score_after"] is not None
    review = api(dashboard, "GET", f"/visits/{visit_id}/review")
    entry = next(s for s in review["visit"]["steps"] if s["step_key"] == "entry")
    assert entry["answers"]["greeted"] == "no"


def test_outside_data_is_imported_on_the_locations_screen_and_bad_lines_are_named(
    dashboard: Dashboard, desk: Page, tmp_path: Path
) -> None:
    pid = dashboard.project_id
    bad = tmp_path / "bad.csv"
    bad.write_text("location_code,metric,value,period\nALP-0,sales,120,2026-Q3\nNOPE,sales,abc,\n")
    desk.goto(f"/console/#/projects/{pid}/locations")
    desk.get_by_label("Outside data CSV").set_input_files(str(bad))
    desk.get_by_role("button", name="Upload figures").click()
    error = desk.locator(".notice.error")
    expect(error.locator('li[data-line="3"]').first).to_contain_text("line 3, location_code")
    expect(error).to_contain_text("value")
    assert api(dashboard, "GET", f"/projects/{pid}/outside-data")["items"] == []
    shot(desk, "console-more-outside-data-errors")

    good = tmp_path / "good.csv"
    good.write_text(
        "location_code,metric,value,period\nALP-0,sales,120,2026-Q3\nALP-1,sales,80,2026-Q3\n"
    )
    desk.get_by_label("Outside data CSV").set_input_files(str(good))
    desk.get_by_role("button", name="Upload figures").click()
    expect(desk.locator(".notice.ok")).to_contain_text("2 new figure(s), 0 replaced (sales)")
    figures = api(dashboard, "GET", f"/projects/{pid}/outside-data")["items"]
    assert sorted((f["location_code"], f["value"]) for f in figures) == [
        ("ALP-0", 120),
        ("ALP-1", 80),
    ]
