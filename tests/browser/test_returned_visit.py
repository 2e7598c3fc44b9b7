"""A visit the manager returns comes back to the phone with the comment; the shopper fixes it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import flows
from tests.browser.conftest import Field, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def test_returned_visit_shows_the_comment_and_is_resubmitted_after_a_fix(
    page: Page, field: Field
) -> None:
    flows.begin_visit(page, field.assignment_id)
    flows.walk_and_submit(page)
    flows.wait_all_sent(page)
    visit_id = field.visit()["id"]

    comment = "You were not greeted according to your notes: check the first step."
    returned = field.api(
        "POST", f"/visits/{visit_id}/review", json={"action": "return", "comment": comment}
    )
    assert returned.status_code == 200, returned.text

    page.goto("/app/#/assignments")
    card = page.locator(f'#returned li.assignment[data-id="{field.assignment_id}"]')
    expect(card).to_have_attribute("data-status", "returned")
    card.get_by_role("link", name="Correct").click()
    expect(page.locator("p.banner")).to_contain_text(comment)
    expect(page.locator("p.banner .deadline")).to_contain_text("Send it again before")
    page.locator('.review-step[data-step="entrance"]').get_by_role("button", name="Edit").click()
    flows.question(page, "greeted").locator('label.seg[data-value="no"]').click()
    flows.next_step(page, None)
    flows.submit(page)
    flows.wait_all_sent(page)

    visit = field.visit()
    assert (visit["status"], visit["return_comment"]) == ("submitted", None)
    entrance = next(s for s in visit["steps"] if s["step_key"] == "entrance")
    assert (entrance["answers"]["greeted"], entrance["revision"]) == ("no", 2)
    review = field.api("GET", f"/visits/{visit_id}/review").json()
    assert [run["run"] for run in review["qc_runs"]] == [2, 1]
    assert [r["action"] for r in review["reviews"]] == ["return"]
