"""The manager console in a real Chromium at desktop size: progress, review, map, planner."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.projects.models import ProjectMember
from tests.browser import flows
from tests.browser.conftest import Field, desktop_page, needs_chromium, shot
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.browser, needs_chromium]

TABLET = {"width": 820, "height": 1180}
SHOP = (52.0, 4.0)  # Alpha/loc0
CHECKIN = (52.0009, 4.0012, 25.0)  # about 125 m from the shop, ± 25 m


@pytest.fixture
def desk(browser: Any, field: Field) -> Iterator[Page]:
    with desktop_page(
        browser, field.url, timeout_ms=10_000, locale="en-GB", timezone_id="UTC"
    ) as page:
        yield page


def now_iso(minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def step(answers: dict[str, Any], probes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "client_uuid": str(uuid.uuid4()),
        "started_at": now_iso(-10),
        "ended_at": now_iso(-9),
        "answers": answers,
        "conscious": {"valence": 2, "arousal": 3, "emotion": "joy", "intensity": 2},
        "probes": probes,
        **extra,
    }


def probe(stimulus: str, kind: str, choice: Any, latency: int, deadline: int) -> dict[str, Any]:
    return {
        "stimulus": stimulus,
        "kind": kind,
        "choice": choice,
        "latency_ms": latency,
        "deadline_ms": deadline,
    }


def submitted_visit(field: Field) -> int:
    """The fixture's assignment, done by shopper-1 through the API: accepted, visited, submitted."""
    a = field.assignment_id

    def shopper(method: str, path: str, **kwargs: Any) -> Any:
        response = field.api(method, path, user="shopper-1", **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    shopper("POST", f"/assignments/{a}/accept")
    shopper(
        "POST",
        f"/assignments/{a}/briefing/quiz",
        json={"answers": {"budget": "low", "photos": "no"}},
    )
    lat, lon, accuracy = CHECKIN
    visit = shopper(
        "POST",
        f"/assignments/{a}/visit",
        json={
            "client_uuid": str(uuid.uuid4()),
            "started_at": now_iso(-15),
            "latitude": lat,
            "longitude": lon,
            "accuracy_m": accuracy,
        },
    )
    vid = visit["id"]
    photo = str(uuid.uuid4())
    shopper(
        "POST",
        f"/visits/{vid}/media",
        data={"client_uuid": photo, "step_key": "till", "question_key": "receipt_photo"},
        files={"file": ("receipt.png", flows.png(64, 48), "image/png")},
    )
    steps = {
        "entrance": step(
            {"greeted": "yes", "friendliness": 4, "seconds_waited": 30},
            [probe("step", "valence", 1, 640, 1500)],
        ),
        "advice": step(
            {
                "alternatives": "some",
                "topics": ["battery"],
                "employee": "Friendly, knew the phones.",
            },
            [probe("word:helpful", "face", "happy", 90, 2000)],  # anticipatory: excluded
        ),
        "till": step(
            {"receipt_photo": [photo], "served_at": "14:05"},
            [probe("step_photo", "valence", None, 300, 300)],  # a timeout
        ),
    }
    for key, body in steps.items():
        shopper("PUT", f"/visits/{vid}/steps/{key}", json=body)
    shopper(
        "POST",
        f"/visits/{vid}/submit",
        json={"client_uuid": str(uuid.uuid4()), "ended_at": now_iso()},
    )
    return int(vid)


def sign_in(page: Page, username: str = "mgr-a") -> None:
    page.goto("/console/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header.top")).to_be_visible()


def test_manager_sees_the_progress_figures_of_the_api(desk: Page, field: Field) -> None:
    field.assign(job_board=True, location=1)
    field.assign(location=2)
    submitted_visit(field)
    project = field.world.ids["Alpha"]
    progress = field.api("GET", f"/projects/{project}/progress").json()
    assert progress["totals"]["planned"] == 3 and progress["totals"]["submitted"] == 1

    sign_in(desk)
    card = desk.locator(f'.project-card[data-project="{project}"]')
    expect(card.locator('td[data-stage="planned"]')).to_have_text("3")
    expect(card.locator(".breakdown")).to_contain_text(["No wave 0/3 approved, 1 to review"])
    shot(desk, "console-overview")
    desk.goto(f"/console/#/projects/{project}")
    totals = desk.locator("#totals")
    for stage in ("planned", "open", "assigned", "in_field", "submitted", "returned", "approved"):
        expect(totals.locator(f'[data-stage="{stage}"] .value')).to_have_text(
            str(progress["totals"][stage])
        )
    for region in progress["regions"]:
        row = desk.locator(f'table[data-table="region"] tr[data-region="{region["region"]}"]')
        for stage in ("planned", "open", "assigned", "submitted"):
            expect(row.locator(f'td[data-stage="{stage}"]')).to_have_text(
                str(region["counts"][stage])
            )
    unwaved = desk.locator('table[data-table="wave"] tr[data-wave="none"]')
    expect(unwaved.locator('td[data-stage="planned"]')).to_have_text("3")
    shot(desk, "console-progress")


def test_overview_draws_every_project_from_one_progress_request(desk: Page, field: Field) -> None:
    field.assign(location=1)
    delta = field.world.project("Delta", client="Dune", manager="mgr-d")
    with field.db.session() as session:
        session.add(ProjectMember(project_id=delta, user_id=field.world.ids["mgr-a"]))
    alpha = field.world.ids["Alpha"]
    asked: list[str] = []
    desk.on("request", lambda request: asked.append(request.url))

    sign_in(desk)
    for project, planned in ((alpha, "2"), (delta, "0")):
        card = desk.locator(f'.project-card[data-project="{project}"]')
        expect(card.locator('td[data-stage="planned"]')).to_have_text(planned)
    expect(desk.locator(f'.project-card[data-project="{delta}"] h2')).to_have_text("Delta")
    progress = [url for url in asked if "/progress" in url]
    assert [url.split("/api/v1")[1] for url in progress] == ["/projects/progress?limit=200"]


def test_returned_visit_goes_round_the_review_queue_until_approved(
    desk: Page, field: Field
) -> None:
    visit_id = submitted_visit(field)
    project = field.world.ids["Alpha"]
    sign_in(desk)
    desk.get_by_role("link", name="Review", exact=True).click()
    row = desk.locator(f'#queue tr[data-visit="{visit_id}"]')
    expect(row).to_be_visible()
    shot(desk, "console-review-queue")
    row.get_by_role("link", name="Review").click()

    expect(desk.locator("#visit-status [data-status]")).to_have_attribute(
        "data-status", "submitted"
    )
    comment = "The receipt photo is unreadable: take it again in daylight."
    desk.get_by_label("Comment").fill(comment)
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(hour=18, minute=0, second=0)
    desk.get_by_label("Resubmit before").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_role("button", name="Return to shopper").click()
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute("data-status", "returned")
    expect(desk.locator("#decision")).to_contain_text("resubmit before")
    shot(desk, "console-visit-returned")

    notice = field.api("GET", f"/visits/{visit_id}/return", user="shopper-1").json()
    assert (notice["status"], notice["comment"]) == ("returned", comment)
    assert datetime.fromisoformat(notice["resubmit_by"]) == deadline.replace(microsecond=0)
    queue = field.api("GET", f"/projects/{project}/review-queue").json()["items"]
    assert visit_id not in [item["visit_id"] for item in queue]

    # The shopper fixes the first step and sends the visit again.
    fixed = step(
        {"greeted": "no", "friendliness": 2, "seconds_waited": 30},
        [probe("step", "valence", 1, 640, 1500)],
    )
    assert (
        field.api(
            "PUT", f"/visits/{visit_id}/steps/entrance", user="shopper-1", json=fixed
        ).status_code
        == 200
    )
    resubmitted = field.api(
        "POST",
        f"/visits/{visit_id}/submit",
        user="shopper-1",
        json={"client_uuid": str(uuid.uuid4()), "ended_at": now_iso()},
    )
    assert resubmitted.status_code == 200, resubmitted.text

    desk.get_by_role("link", name="← Review queue").click()
    row = desk.locator(f'#queue tr[data-visit="{visit_id}"]')
    expect(row).to_be_visible()
    expect(row.locator("td").nth(7)).to_have_text("1")  # returned once before
    row.click()
    expect(desk.locator('dd[data-question="greeted"]')).to_have_text("No")
    expect(desk.locator("ol.history li")).to_have_count(1)
    desk.get_by_role("button", name="Approve").click()
    expect(desk.locator("#visit-status [data-status]")).to_have_attribute("data-status", "approved")
    shot(desk, "console-visit-approved")

    review = field.api("GET", f"/visits/{visit_id}/review").json()
    assert review["visit"]["status"] == "approved"
    assert [r["action"] for r in review["reviews"]] == ["return", "approve"]
    desk.get_by_role("link", name="← Review queue").click()
    expect(desk.locator(f'#queue tr[data-visit="{visit_id}"]')).to_have_count(0)


def test_visit_detail_shows_steps_emotions_photo_and_the_checkin_map(
    desk: Page, field: Field
) -> None:
    visit_id = submitted_visit(field)
    sign_in(desk)
    desk.goto(f"/console/#/visits/{visit_id}")
    svg = desk.locator("svg.checkin-map")
    expect(svg).to_be_visible()
    expected = round(haversine_m(SHOP, CHECKIN[:2]))
    assert 100 < expected < 150
    expect(svg).to_have_attribute("data-distance", str(expected))
    expect(desk.locator("#checkin-distance")).to_have_text(f"{expected} m")
    expect(desk.locator("#map")).to_contain_text("GPS accuracy ± 25 m")
    expect(desk.locator("#map")).to_contain_text("Inside the 150 m geofence")
    for role in ("shop", "checkin", "accuracy", "geofence", "scale"):
        expect(svg.locator(f'[data-role="{role}"]')).to_have_count(1)
    # The accuracy circle's radius is 25 m on the map's scale: 25/125 of the shop–check-in line.
    ratio = desk.evaluate(
        """() => {
            const svg = document.querySelector("svg.checkin-map");
            const acc = svg.querySelector('[data-role="accuracy"]');
            const line = svg.querySelector("line");
            const length = Math.hypot(line.x2.baseVal.value - line.x1.baseVal.value,
                                      line.y2.baseVal.value - line.y1.baseVal.value);
            return acc.r.baseVal.value / length;
        }"""
    )
    assert ratio == pytest.approx(25 / haversine_m(SHOP, CHECKIN[:2]), rel=0.01)

    entrance = desk.locator('.step-card[data-step="entrance"]')
    expect(entrance.locator('dd[data-question="greeted"]')).to_have_text("Yes")
    expect(entrance.locator('dd[data-question="friendliness"]')).to_have_text("4 / 5")
    expect(entrance.locator('[data-emotion="conscious"]')).to_contain_text("valence +2")
    advice = desk.locator('.step-card[data-step="advice"]')
    expect(advice.locator('dd[data-question="alternatives"]')).to_have_text("One or more")
    expect(advice.locator(".probe.excluded")).to_contain_text("too fast")
    till = desk.locator('.step-card[data-step="till"]')
    expect(till.locator(".probe.excluded")).to_contain_text("timeout")
    photo = till.locator('dd[data-question="receipt_photo"] img')
    expect(photo).to_have_attribute("src", __import__("re").compile("^blob:"))
    desk.wait_for_function(
        "() => document.querySelector('dd[data-question=\"receipt_photo\"] img').naturalWidth > 0"
    )
    expect(desk.locator("#flags")).to_be_visible()
    shot(desk, "console-visit-detail")

    # On a tablet the map moves under the steps and nothing scrolls sideways.
    desk.set_viewport_size(TABLET)
    expect(svg).to_be_visible()
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert desk.evaluate(overflow) == 0
    shot(desk, "console-visit-detail-tablet")
    desk.goto(f"/console/#/projects/{field.world.ids['Alpha']}")
    expect(desk.locator("#totals")).to_be_visible()
    assert desk.evaluate(overflow) == 0


def test_bulk_planner_shows_the_refusing_rule_and_creates_the_allowed_rows(
    desk: Page, field: Field
) -> None:
    field.world.shopper("rookie", qualified=False)
    project = field.world.ids["Alpha"]
    loc1, loc2 = field.world.ids["Alpha/loc1"], field.world.ids["Alpha/loc2"]
    s1, rookie = field.world.ids["shopper-1"], field.world.ids["rookie"]
    sign_in(desk)
    desk.goto(f"/console/#/projects/{project}/planner")
    planner = desk.locator("#planner")
    for box in planner.locator('input[name="weekday"]').all():
        box.check()
    planner.locator(f'input[name="location"][value="{loc1}"]').check()
    planner.locator(f'input[name="location"][value="{loc2}"]').check()
    planner.locator(f'input[name="shopper"][value="{s1}"]').check()
    planner.locator(f'input[name="shopper"][value="{rookie}"]').check()
    desk.get_by_role("button", name="Make rows").click()
    expect(desk.locator("#plan-rows tbody tr")).to_have_count(2)
    desk.get_by_role("button", name="Check against the caps").click()

    allowed = desk.locator('#plan-rows tr[data-row="0"]')
    refused = desk.locator('#plan-rows tr[data-row="1"]')
    expect(allowed).to_have_attribute("data-verdict", "ok")
    expect(refused).to_have_attribute("data-verdict", "refused")
    expect(refused).to_have_attribute("data-rule", "eligibility.qualified")
    expect(refused.locator(".verdict")).to_contain_text("eligibility.qualified")
    expect(refused.locator(".verdict")).to_contain_text("qualification test")
    assigned = f"/projects/{project}/assignments"
    assert field.api("GET", f"{assigned}?location_id={loc1}").json()["items"] == []  # dry run
    shot(desk, "console-planner-dry-run")

    desk.get_by_role("button", name="Create 1 allowed row(s)").click()
    expect(allowed).to_have_attribute("data-verdict", "created")
    expect(refused).to_have_attribute("data-verdict", "refused")
    created = field.api("GET", f"{assigned}?location_id={loc1}").json()["items"]
    assert [(a["shopper_id"], a["status"]) for a in created] == [(s1, "offered")]
    assert field.api("GET", f"{assigned}?location_id={loc2}").json()["items"] == []
    shot(desk, "console-planner-created")


def test_api_key_is_shown_once_listed_by_prefix_and_revoked(desk: Page, field: Field) -> None:
    acme = field.world.ids["Acme"]
    sign_in(desk)
    desk.get_by_role("link", name="API keys").click()
    form = desk.locator("#create-key")
    form.get_by_label("Name").fill("BI export")
    form.get_by_label("Requests per minute").fill("30")
    form.get_by_role("button", name="Create key").click()
    key = desk.locator("#key-value").inner_text().strip()
    keys = field.api("GET", f"/clients/{acme}/api-keys").json()["items"]
    assert [(k["name"], k["rate_limit_per_minute"]) for k in keys] == [("BI export", 30)]
    assert key.startswith(keys[0]["prefix"]) and len(key) > len(keys[0]["prefix"])
    row = desk.locator(f'#keys-table tr[data-key="{keys[0]["id"]}"]')
    expect(row).to_contain_text(keys[0]["prefix"])
    assert key not in row.inner_text()
    shot(desk, "console-api-key-created")

    desk.reload()
    expect(desk.locator("#keys-table")).to_contain_text("BI export")
    expect(desk.locator("#key-value")).to_have_count(0)  # shown once only
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator(f'button[data-revoke="{keys[0]["id"]}"]').click()
    expect(desk.locator(f'#keys-table tr[data-key="{keys[0]["id"]}"]')).to_have_attribute(
        "data-revoked", "true"
    )
    assert field.api("GET", f"/clients/{acme}/api-keys").json()["items"][0]["revoked_at"]


def test_queue_and_progress_follow_the_projects_live_events(desk: Page, field: Field) -> None:
    project = field.world.ids["Alpha"]
    sign_in(desk)
    desk.goto(f"/console/#/projects/{project}/review")
    expect(desk.locator("#queue-empty")).to_be_visible()
    expect(desk.locator("#live")).to_have_attribute("data-state", "open")

    visit_id = submitted_visit(field)  # through the API, while the page stays as it is
    expect(desk.locator(f'#queue tr[data-visit="{visit_id}"]')).to_be_visible()

    desk.get_by_role("link", name="Progress").click()
    expect(desk.locator('#totals [data-stage="submitted"] .value')).to_have_text("1")
    returned = field.api(
        "POST", f"/visits/{visit_id}/review", json={"action": "return", "comment": "Photo?"}
    )
    assert returned.status_code == 200, returned.text
    expect(desk.locator('#totals [data-stage="returned"] .value')).to_have_text("1")
    expect(desk.locator('#totals [data-stage="submitted"] .value')).to_have_text("0")


def test_locations_import_shopper_load_and_publishing_a_journey_draft(
    desk: Page, field: Field
) -> None:
    from tests.browser.conftest import JOURNEY

    project = field.world.ids["Alpha"]
    sign_in(desk)

    desk.goto(f"/console/#/projects/{project}/locations")
    csv = (
        "code,name,city,latitude,longitude,region,tags\n"
        "ALP-0,Shop 0 renamed,Delft,52.0,4.0,north,flagship\n"
        "NEW-1,New shop,Leiden,52.16,4.49,west,mall;city\n"
    )
    desk.locator('#import input[type="file"]').set_input_files(
        files=[{"name": "shops.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    desk.get_by_role("button", name="Import").click()
    expect(desk.locator(".notice.ok")).to_have_text("Imported 1 new location(s), updated 1.")
    expect(desk.locator("#locations-table tbody tr")).to_have_count(4)
    expect(desk.locator("#locations-table")).to_contain_text("Shop 0 renamed")
    bad = "code,name,latitude,longitude\nBAD-1,Bad shop,north,4.0\n"
    desk.locator('#import input[type="file"]').set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    desk.get_by_role("button", name="Import").click()
    expect(desk.locator(".notice.error")).to_contain_text("line 2, latitude")
    expect(desk.locator("#locations-table tbody tr")).to_have_count(4)  # all rows or none

    desk.get_by_role("link", name="Shoppers").click()
    load = field.api("GET", f"/projects/{project}/shopper-load").json()["items"]
    one = next(s for s in load if s["username"] == "shopper-1")
    row = desk.locator(f'#shoppers-table tr[data-shopper="{one["shopper_id"]}"]')
    expect(row.locator('[data-load="open"]')).to_have_text(
        f"{one['open_assignments']} / {one['max_open']}"
    )
    assert one["open_assignments"] == 1  # the fixture's offered assignment

    draft = field.api(
        "POST",
        f"/projects/{project}/journeys",
        json={
            "source": JOURNEY.replace("Greeted within a minute?", "Greeted within 30 seconds?"),
            "filename": "v2.yaml",
        },
    ).json()
    assert (draft["version"], draft["status"]) == (2, "draft")
    desk.get_by_role("link", name="Journeys").click()
    version = desk.locator(f'#journeys-table tr[data-version="{draft["id"]}"]')
    expect(version).to_contain_text("greeted")  # changed against version 1
    desk.once("dialog", lambda dialog: dialog.accept())
    version.get_by_role("button", name="Publish").click()
    expect(version).to_have_attribute("data-status", "published")
    expect(version).to_contain_text("in use")
    assert field.api("GET", f"/projects/{project}").json()["journey_version_id"] == draft["id"]
    shot(desk, "console-journeys")
