"""A shopper walks a whole visit in the phone app; the server ends with exactly one complete visit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser import flows
from tests.browser.conftest import STEPS, Field, needs_chromium, shot

pytestmark = [pytest.mark.browser, needs_chromium]


def stored_rows(field: Field) -> dict[str, int]:
    """Rows of the assignment's visit in the database: never more than one of each."""
    with field.db.engine.connect() as conn:
        visit_ids = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM visits WHERE assignment_id = :a"), {"a": field.assignment_id}
            )
        ]
        assert len(visit_ids) == 1, visit_ids
        counts = {"visits": len(visit_ids)}
        for table in ("step_observations", "media"):
            counts[table] = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE visit_id = :v"), {"v": visit_ids[0]}
            ).scalar_one()
        return counts


def assert_complete_visit(field: Field) -> dict[str, Any]:
    visit = field.visit()
    assert visit["status"] == "submitted"
    assert visit["submitted_at"] is not None
    assert visit["checkin"]["latitude"] == pytest.approx(52.0)
    steps = {step["step_key"]: step for step in visit["steps"]}
    assert sorted(steps) == sorted(STEPS)

    entrance = steps["entrance"]
    assert entrance["answers"] == {
        "greeted": "yes",
        "friendliness": {"na": True},
        "seconds_waited": 45,
    }
    assert (
        entrance["conscious"]
        == {"valence": 2, "arousal": 4, "emotion": "joy", "intensity": None, "note": None}
        or entrance["conscious"]["valence"] == 2
    )
    assert entrance["conscious"]["arousal"] == 4
    assert entrance["conscious"]["emotion"] == "joy"
    [valence_probe] = entrance["probes"]
    assert valence_probe["choice"] == 1
    assert 0 <= valence_probe["latency_ms"] < valence_probe["deadline_ms"] == 1500

    advice = steps["advice"]
    assert advice["answers"]["alternatives"] == "some"
    assert advice["answers"]["topics"] == ["battery", "warranty"]
    assert advice["conscious"]["valence"] == -1
    assert advice["probes"][0]["choice"] == "happy"
    assert advice["probes"][0]["kind"] == "face"

    till = steps["till"]
    [photo_uuid] = till["answers"]["receipt_photo"]
    assert len(till["answers"]["served_at"]) == 5
    assert till["conscious"]["valence"] == 3
    [timeout] = till["probes"]
    assert timeout["choice"] is None
    assert timeout["timed_out"] is True

    [media] = visit["media"]
    assert media["client_uuid"] == photo_uuid
    assert media["content_type"] == "image/jpeg"
    assert (media["width"], media["height"]) == (1600, 800)  # downscaled on the phone
    assert visit["missing_media"] == []
    assert stored_rows(field) == {"visits": 1, "step_observations": 3, "media": 1}
    return visit


def test_full_visit_end_to_end(page: Page, field: Field) -> None:
    flows.login(page)
    shot(page, "01-assignments")
    flows.accept(page, field.assignment_id)
    flows.card(page, field.assignment_id).get_by_role("link", name="Start").click()
    expect(page.locator("#quiz")).to_be_visible()
    shot(page, "02-briefing")
    page.go_back()
    flows.pass_quiz(page, field.assignment_id)
    page.get_by_role("link", name="Start the visit").click()
    expect(page.locator("#checkin")).to_be_visible()
    shot(page, "03-checkin")
    page.locator("#checkin").click()
    expect(page.locator("#progress")).to_have_attribute("data-step", "1")

    flows.entrance_step(page)
    shot(page, "04-step-entrance")
    flows.next_step(page, 2)
    flows.advice_step(page)
    flows.next_step(page, 3)
    flows.till_step(page, flows.png())
    page.locator('[data-widget="conscious"]').scroll_into_view_if_needed()
    shot(page, "05-step-emotion")
    flows.next_step(page, None)
    shot(page, "06-review")
    expect(page.locator('.review-step[data-ok="false"]')).to_have_count(0)
    flows.submit(page)
    flows.wait_all_sent(page)
    shot(page, "07-submitted")

    assert_complete_visit(field)
    assert field.api("GET", f"/assignments/{field.assignment_id}").json()["status"] == "submitted"


def test_offline_mid_visit_then_online_syncs_exactly_once(
    page: Page, context: Any, field: Field
) -> None:
    flows.begin_visit(page, field.assignment_id)
    flows.entrance_step(page)
    flows.next_step(page, 2)
    flows.wait_all_sent(page)

    context.set_offline(True)  # the shop's Wi-Fi drops
    sync = page.locator("#sync")
    expect(sync).to_have_attribute("data-state", "offline")
    flows.walk_and_submit(page, from_step=2)
    # Two steps, the photo and the submission wait in the outbox, also across a reload.
    expect(page.locator("#visit-sync")).to_have_attribute("data-pending", "4")
    page.reload()
    expect(page.get_by_role("heading", name="Visit submitted")).to_be_visible()
    expect(sync).to_have_attribute("data-pending", "4")
    expect(sync).to_contain_text("Offline")
    shot(page, "08-offline-waiting")
    visit = field.visit()
    assert visit["status"] == "in_progress"
    assert [step["step_key"] for step in visit["steps"]] == ["entrance"]

    context.set_offline(False)  # back online: the outbox drains by itself
    flows.wait_all_sent(page)
    expect(page.locator("#visit-sync")).to_have_attribute("data-pending", "0")
    assert_complete_visit(field)


def test_a_visit_walked_offline_goes_out_as_one_request(
    page: Page, context: Any, field: Field
) -> None:
    requests = flows.record_requests(page)
    flows.login(page)
    flows.accept(page, field.assignment_id)
    flows.pass_quiz(page, field.assignment_id)

    context.set_offline(True)  # no signal from the shop's door to its till
    expect(page.locator("#sync")).to_have_attribute("data-state", "offline")
    flows.check_in(page)
    flows.walk_and_submit(page)
    # The check-in, three steps, the photo and the submission wait in the outbox.
    expect(page.locator("#visit-sync")).to_have_attribute("data-pending", "6")
    assert field.api("GET", f"/assignments/{field.assignment_id}/visit").status_code == 404

    context.set_offline(False)
    flows.wait_all_sent(page)
    batch = f"/assignments/{field.assignment_id}/visit/batch"
    assert flows.visit_writes(requests) == [("POST", batch)]
    [request] = [r for r in requests if r.url.endswith(batch)]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    sent = flows.batch_response(request)
    # In queue order: check-in, two steps, the till's photo (taken before its step), submit.
    assert [result["status"] for result in sent["results"]] == [201, 200, 200, 201, 200, 200]
    visit = assert_complete_visit(field)
    assert sent["visit_id"] == visit["id"]


def test_reload_mid_visit_resumes_at_the_same_step(page: Page, context: Any, field: Field) -> None:
    flows.begin_visit(page, field.assignment_id)
    flows.entrance_step(page)
    flows.next_step(page, 2)
    flows.question(page, "alternatives").get_by_text("One or more").click()
    flows.question(page, "employee").locator("textarea").fill("Short, friendly, name badge Anna.")
    flows.wait_saved(page, "name badge Anna")

    page.reload()
    expect(page.locator("#progress")).to_have_attribute("data-step", "2")
    expect(flows.question(page, "alternatives").locator('input[value="some"]')).to_be_checked()
    expect(flows.question(page, "employee").locator("textarea")).to_have_value(
        "Short, friendly, name badge Anna."
    )

    # Closing the app and opening it again from the home screen lands on the same step too.
    page.close()
    again = context.new_page()
    again.goto("/app/")
    expect(again.locator("#progress")).to_have_attribute("data-step", "2")
    expect(again).to_have_url(f"{field.url}/app/#/visit/{field.assignment_id}")
    again.get_by_role("button", name="Back").click()
    expect(again.locator("#progress")).to_have_attribute("data-step", "1")
    expect(flows.question(again, "greeted").locator('input[value="yes"]')).to_be_checked()


def test_quiz_gate_blocks_an_unbriefed_start(page: Page, field: Field) -> None:
    flows.login(page)
    flows.accept(page, field.assignment_id)
    page.goto(f"/app/#/visit/{field.assignment_id}")
    gate = page.locator("#quiz-gate")
    expect(gate).to_contain_text("Briefing first")
    expect(page.locator("#checkin")).to_have_count(0)
    shot(page, "09-quiz-gate")

    gate.get_by_role("link", name="Read the briefing").click()
    quiz = page.locator("#quiz")
    quiz.get_by_text("Over 300 euros").click()  # wrong
    quiz.get_by_text("No, never").click()
    quiz.get_by_role("button", name="Check my answers").click()
    expect(quiz).to_contain_text("Not passed")
    expect(quiz.locator('fieldset.wrong[data-question="budget"]')).to_have_count(1)
    expect(page.get_by_role("link", name="Start the visit")).to_have_count(0)

    page.goto(f"/app/#/visit/{field.assignment_id}")
    expect(page.locator("#quiz-gate")).to_be_visible()
    refused = field.api(
        "POST",
        f"/assignments/{field.assignment_id}/visit",
        user="shopper-1",
        json={"client_uuid": str(uuid4()), "started_at": datetime.now(UTC).isoformat()},
    )
    assert refused.status_code == 409
    assert refused.json()["rule"] == "briefing_quiz"
    assert field.api("GET", f"/assignments/{field.assignment_id}/visit").status_code == 404
