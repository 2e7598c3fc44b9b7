"""A server whose upload limit is below the outbox's caps refuses a whole run as too large (413):
the outbox sends the same writes again in smaller requests, so only the photos that are too large
are refused, each on its own, and the check-in that went with them is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.config import Settings
from tests.browser import flows
from tests.browser.conftest import Field, needs_chromium
from tests.browser.test_outbox_batches import check_in_with_photos_offline

pytestmark = [pytest.mark.browser, needs_chromium]

# A batch may then be 20 x 50 kB plus 4 MB of operations: about 5.3 MB. Two of the outbox's
# 2.9 MB photos exceed it; one does not, but is itself over the 50 kB a photo may be.
LIMIT = 50_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-" + "x" * 32,
        expiry_interval_seconds=0,
        max_upload_bytes=LIMIT,
    )


def test_a_run_refused_as_too_large_is_sent_again_in_smaller_requests(
    page: Page, context: Any, field: Field
) -> None:
    requests = check_in_with_photos_offline(page, context, field, count=3, edge=1000)
    sync = page.locator("#sync")
    expect(sync).to_have_attribute("data-pending", "0", timeout=30_000)
    expect(sync).to_have_attribute("data-state", "failed")

    batch = f"/assignments/{field.assignment_id}/visit/batch"
    sent = [r for r in requests if r.url.endswith(batch)]
    statuses = [r.response().status for r in sent]  # type: ignore[union-attr]
    # Check-in and two photos: too large as a whole. Then check-in and one photo, and each
    # other photo alone: each photo refused on its own, as larger than a photo may be.
    assert statuses == [413, 200, 200, 200]
    answers = [flows.batch_response(r)["results"] for r in sent[1:]]
    assert [[result["status"] for result in answer] for answer in answers] == [
        [201, 413],
        [413],
        [413],
    ]
    assert field.visit()["media"] == []
    failed = [op for op in flows.outbox(page) if op["state"] == "failed"]
    assert [op["kind"] for op in failed] == ["media"] * 3
    assert {op["problem"]["status"] for op in failed} == {413}
