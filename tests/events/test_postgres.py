"""Several app servers on one PostgreSQL database: events travel through LISTEN/NOTIFY."""

from __future__ import annotations

import pytest

from api.config import Settings
from api.db import Database
from api.main import create_app
from tests.conftest import PG_URL, LiveServer
from tests.events.conftest import Live, open_stream

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL: set FIELDWORK_TEST_DATABASE_URL"
)


def test_approval_through_one_server_reaches_subscribers_of_another(
    live: Live, settings: Settings
) -> None:
    other_db = Database(PG_URL)
    try:
        with (
            LiveServer(create_app(settings, database=other_db)) as other,
            open_stream(other.url, live.project_id, live.headers("acme-viewer")) as on_b,
            open_stream(other.url, live.project_id, live.headers("mgr-a")) as staff_on_b,
        ):
            visit_id, assignment_id = live.submitted_visit()  # all through server A
            staff_on_b.wait_for("visit.submitted", visit_id=visit_id)
            live.review(visit_id, "approve")
            approved = on_b.wait_for("visit.approved", timeout=2, visit_id=visit_id)
            on_b.wait_for("results.changed", timeout=2, visit_id=visit_id)
            assert approved.data["assignment_id"] == assignment_id
            assert {e.type for e in on_b.seen} == {"visit.approved", "results.changed"}
    finally:
        other_db.dispose()
