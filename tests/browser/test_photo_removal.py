"""A photo the shopper removes is not uploaded when its upload is still waiting in the outbox; one
already sent stays on the server, unreferenced, and does not hold up the submission. A step
edited and left without "Next" is sent again, so the server holds what the shopper reviewed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser import flows
from tests.browser.conftest import Field, needs_chromium, shot

pytestmark = [pytest.mark.browser, needs_chromium]

# Three different pictures (sizes differ after downscaling too), so no two uploads look alike.
PORTRAIT = (1200, 1800)  # stored as 1067 x 1600
SQUARE = (900, 900)  # small enough to keep its size
WIDE = (2400, 1200)  # stored as 1600 x 800


def reach_till(page: Page, field: Field, *, offline: Any = None) -> None:
    flows.begin_visit(page, field.assignment_id)
    flows.entrance_step(page)
    flows.next_step(page, 2)
    flows.wait_all_sent(page)
    if offline is not None:
        offline.set_offline(True)  # the shop's Wi-Fi drops
        expect(page.locator("#sync")).to_have_attribute("data-state", "offline")
    flows.advice_step(page)
    flows.next_step(page, 3)


def take_photo(page: Page, size: tuple[int, int]) -> str:
    """Takes a picture for the receipt question; returns the new photo's client UUID."""
    box = flows.question(page, "receipt_photo")
    expect(box.locator("input[type=file]")).to_have_count(1)  # the step's screen is up
    before = set(box.locator(".thumb").evaluate_all("els => els.map((el) => el.dataset.uuid)"))
    box.locator("input[type=file]").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": flows.png(*size)}]
    )
    expect(box.locator(".thumb")).to_have_count(len(before) + 1)
    after = set(box.locator(".thumb").evaluate_all("els => els.map((el) => el.dataset.uuid)"))
    [uuid] = after - before
    return str(uuid)


def remove_photo(page: Page, uuid: str) -> None:
    flows.question(page, "receipt_photo").locator(f'.thumb[data-uuid="{uuid}"] .remove').click()
    expect(page.locator(f'.thumb[data-uuid="{uuid}"]')).to_have_count(0)


def queued_photos(page: Page) -> set[str]:
    return {op["clientUuid"] for op in flows.outbox(page) if op["kind"] == "media"}


def wait_queued_photos(page: Page, expected: set[str], timeout: float = 5.0) -> None:
    """Until the outbox's photo uploads are `expected` (a removal cancels asynchronously)."""
    deadline = time.monotonic() + timeout
    while (queued := queued_photos(page)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert queued == expected


def finish_till(page: Page) -> None:
    flows.question(page, "served_at").get_by_role("button", name="Now").click()
    flows.probe(page, None)
    flows.feel(page, 3)


def assert_submitted_with_receipt(field: Field, photo: str) -> dict[str, Any]:
    """The visit as stored: submitted, nothing missing, the till's receipt answer ``[photo]``."""
    visit: dict[str, Any] = field.visit()
    assert visit["status"] == "submitted"
    assert visit["missing_media"] == []
    till = next(step for step in visit["steps"] if step["step_key"] == "till")
    assert till["answers"]["receipt_photo"] == [photo]
    return visit


def stored_media(field: Field) -> dict[str, tuple[int, int]]:
    """The visit's media rows in the database: client UUID → (width, height)."""
    with field.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.client_uuid, m.width, m.height FROM media m"
                " JOIN visits v ON v.id = m.visit_id WHERE v.assignment_id = :a"
            ),
            {"a": field.assignment_id},
        )
        return {str(uuid): (width, height) for uuid, width, height in rows}


def test_removed_photos_waiting_offline_are_never_uploaded(
    page: Page, context: Any, field: Field
) -> None:
    reach_till(page, field, offline=context)

    # Taken and removed before the step was queued: its upload is dropped at once.
    first = take_photo(page, WIDE)
    wait_queued_photos(page, {first})
    remove_photo(page, first)
    wait_queued_photos(page, set())
    kept = take_photo(page, PORTRAIT)
    second = take_photo(page, SQUARE)
    wait_queued_photos(page, {kept, second})
    finish_till(page)
    flows.next_step(page, None)

    # Removed after the step was queued with it: the upload waits until the step is queued
    # again without the photo, then it is dropped too.
    page.locator('.review-step[data-step="till"]').get_by_role("button", name="Edit").click()
    remove_photo(page, second)
    wait_queued_photos(page, {kept, second})
    flows.next_step(page, None)
    wait_queued_photos(page, {kept})
    shot(page, "12-photo-removed-offline")

    flows.submit(page)
    # The check-in went out online; two steps, one photo and the submission wait.
    expect(page.locator("#visit-sync")).to_have_attribute("data-pending", "4")
    assert stored_media(field) == {}

    requests = flows.record_requests(page)
    context.set_offline(False)
    flows.wait_all_sent(page)
    # They go out in one request, whose only photo is the kept one.
    batch = f"/assignments/{field.assignment_id}/visit/batch"
    assert flows.visit_writes(requests) == [("POST", batch)]
    [request] = [r for r in requests if r.url.endswith(batch)]
    statuses = [result["status"] for result in flows.batch_response(request)["results"]]
    assert statuses == [200, 201, 200, 200]  # a step, the photo (stored), a step, the submission
    visit = assert_submitted_with_receipt(field, kept)
    assert [media["client_uuid"] for media in visit["media"]] == [kept]
    assert stored_media(field) == {kept: (1067, 1600)}


def test_a_removed_photo_already_uploaded_stays_and_the_visit_still_submits(
    page: Page, field: Field
) -> None:
    reach_till(page, field)
    sent = take_photo(page, WIDE)
    flows.wait_all_sent(page)
    assert set(stored_media(field)) == {sent}

    remove_photo(page, sent)
    kept = take_photo(page, SQUARE)
    finish_till(page)
    flows.next_step(page, None)
    flows.submit(page)
    flows.wait_all_sent(page)

    assert_submitted_with_receipt(field, kept)
    assert stored_media(field) == {sent: (1600, 800), kept: (900, 900)}


def test_a_step_edited_and_left_with_back_is_sent_again_without_the_removed_photo(
    page: Page, context: Any, field: Field
) -> None:
    reach_till(page, field, offline=context)
    first = take_photo(page, WIDE)
    finish_till(page)
    flows.next_step(page, None)  # the step is queued with the photo

    page.locator('.review-step[data-step="till"]').get_by_role("button", name="Edit").click()
    replacement = take_photo(page, SQUARE)
    remove_photo(page, first)
    # Left with "Back" instead of "Next": the edited step is queued again all the same, so
    # the server gets what the shopper sees, and the removed photo's upload is dropped.
    page.get_by_role("button", name="Back").click()
    wait_queued_photos(page, {replacement})
    flows.next_step(page, None)
    flows.submit(page)

    context.set_offline(False)
    flows.wait_all_sent(page)
    assert_submitted_with_receipt(field, replacement)
    assert stored_media(field) == {replacement: (900, 900)}


# Marks a queued photo upload as claimed by a request that runs until `until` (ms since the
# epoch), as a page that was closed mid-request leaves it.
MARK_IN_FLIGHT = """async ({clientUuid, until}) => {
    const db = await import("./db.js");
    const op = (await db.getAll("outbox")).find((o) => o.clientUuid === clientUuid);
    await db.put("outbox", {...op, inFlightUntil: until});
}"""


def test_a_photo_left_in_flight_by_a_closed_page_can_be_removed_once_that_request_is_over(
    page: Page, context: Any, field: Field
) -> None:
    reach_till(page, field, offline=context)
    stale, live = take_photo(page, WIDE), take_photo(page, SQUARE)
    wait_queued_photos(page, {stale, live})
    now_ms = page.evaluate("Date.now()")
    page.evaluate(MARK_IN_FLIGHT, {"clientUuid": stale, "until": now_ms - 1000})
    page.evaluate(MARK_IN_FLIGHT, {"clientUuid": live, "until": now_ms + 600_000})
    page.reload()  # the app starts again offline, at the same step
    expect(flows.question(page, "receipt_photo").locator(".thumb")).to_have_count(2)

    remove_photo(page, stale)
    remove_photo(page, live)
    # The one whose request is over is dropped; the one another request may still be sending
    # is not (it goes out, and the server keeps it unreferenced).
    wait_queued_photos(page, {live})
    context.set_offline(False)
    flows.wait_all_sent(page)
    assert set(stored_media(field)) == {live}
