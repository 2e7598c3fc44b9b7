"""What the outbox puts in one whole-visit batch request: an assignment's queued writes in order,
at most 10 photos and 8 MB of photos in each; the rest goes in the next request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import flows
from tests.browser.conftest import Field, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

# Queues `count` JPEGs of edge × edge pixels as evidence for the entrance step. Noise does not
# compress: a 1000 px one is about 2.9 MB, so three of them cross the 8 MB cap.
QUEUE_PHOTOS = """async ({assignmentId, count, edge}) => {
    const outbox = await import("./outbox.js");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = edge;
    const image = canvas.getContext("2d").createImageData(edge, edge);
    const tile = image.data.subarray(0, 65536);
    crypto.getRandomValues(tile);
    for (let i = tile.length; i < image.data.length; i += tile.length) image.data.copyWithin(i, 0, tile.length);
    for (let i = 3; i < image.data.length; i += 4) image.data[i] = 255;
    canvas.getContext("2d").putImageData(image, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 1));
    for (let i = 0; i < count; i++) {
        const clientUuid = outbox.uuid();
        await outbox.enqueue({kind: "media", assignmentId, clientUuid, stepKey: "entrance",
            questionKey: "greeted", blob, filename: `${clientUuid}.jpg`});
    }
}"""


def check_in_with_photos_offline(
    page: Page, context: Any, field: Field, *, count: int, edge: int
) -> list[Any]:
    """Checks in offline and queues ``count`` photos (QUEUE_PHOTOS), then goes back online;
    returns the requests the page makes from then on."""
    flows.login(page)
    flows.accept(page, field.assignment_id)
    flows.pass_quiz(page, field.assignment_id)
    context.set_offline(True)
    expect(page.locator("#sync")).to_have_attribute("data-state", "offline")
    flows.check_in(page)
    page.evaluate(QUEUE_PHOTOS, {"assignmentId": field.assignment_id, "count": count, "edge": edge})
    expect(page.locator("#sync")).to_have_attribute("data-pending", str(1 + count))
    requests = flows.record_requests(page)
    context.set_offline(False)
    return requests


@pytest.mark.parametrize(
    ("count", "edge", "photos_per_request"),
    [(11, 64, [10, 1]), (3, 1000, [2, 1])],
    ids=["more-than-ten-photos", "more-than-8-MB"],
)
def test_photos_beyond_a_requests_caps_go_in_the_next_request(
    page: Page, context: Any, field: Field, count: int, edge: int, photos_per_request: list[int]
) -> None:
    requests = check_in_with_photos_offline(page, context, field, count=count, edge=edge)
    flows.wait_all_sent(page)
    batch = f"/assignments/{field.assignment_id}/visit/batch"
    assert flows.visit_writes(requests) == [("POST", batch)] * len(photos_per_request)
    sent = [r for r in requests if r.url.endswith(batch)]
    answers = [flows.batch_response(r) for r in sent]
    # The outbox reads only the statuses: it asks for no bodies, and gets none.
    assert {r.headers.get("prefer") for r in sent} == {"return=minimal"}
    assert {result["body"] for answer in answers for result in answer["results"]} == {None}
    # The check-in leads the first request; every photo is stored once.
    first, *rest = [[result["status"] for result in answer["results"]] for answer in answers]
    assert first == [201] * (1 + photos_per_request[0])
    assert rest == [[201] * n for n in photos_per_request[1:]]
    media = field.visit()["media"]
    assert len(media) == count
    assert {uuid.UUID(m["client_uuid"]).version for m in media} == {7}  # the outbox's own UUIDs


def test_the_outbox_makes_time_ordered_version_7_uuids(page: Page, field: Field) -> None:
    flows.login(page)
    made = page.evaluate(
        """async () => {
            const outbox = await import("./outbox.js");
            const made = [];
            for (let i = 0; i < 5; i++) {
                made.push([outbox.uuid(), Date.now()]);
                await new Promise((resolve) => setTimeout(resolve, 3));
            }
            return made;
        }"""
    )
    uuids = [uuid.UUID(text) for text, _ in made]
    assert {(u.version, u.variant) for u in uuids} == {(7, uuid.RFC_4122)}
    assert len(set(uuids)) == 5
    # The first 48 bits are the millisecond it was made: they sort as made.
    stamps = [u.int >> 80 for u in uuids]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5
    assert all(0 <= now - stamp < 1000 for stamp, (_, now) in zip(stamps, made, strict=True))
