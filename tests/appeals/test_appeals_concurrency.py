"""One open appeal per visit and one decision per appeal hold under real concurrent requests."""

from __future__ import annotations

from collections import Counter

from sqlmodel import func, select

from api.appeals.models import Appeal
from api.assignments.models import AssignmentStatus
from api.audit.models import AuditEntry
from tests.api.test_caps_concurrency import fire
from tests.conftest import LiveServer
from tests.helpers import login
from tests.results.conftest import API, Answers, Results

CONCURRENCY = 8


def test_concurrent_appeals_of_one_visit_open_exactly_one(
    results: Results, live_server: LiveServer
) -> None:
    visit_id = results.approved_visit(Answers())
    acme = login(results.client, "acme-viewer")
    responses = fire(
        live_server.url,
        [(f"{API}/visits/{visit_id}/appeals", acme, {"reason": "Closed"})] * CONCURRENCY,
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: CONCURRENCY - 1}
    with results.db.session(read_only=True) as session:
        assert session.exec(select(func.count()).select_from(Appeal)).one() == 1


def test_concurrent_decisions_of_one_appeal_apply_once(
    results: Results, live_server: LiveServer
) -> None:
    visit_id = results.approved_visit(Answers())
    acme = login(results.client, "acme-viewer")
    appeal_id = results.client.post(
        f"{API}/visits/{visit_id}/appeals", json={"reason": "Closed"}, headers=acme
    ).json()["id"]
    body = {"outcome": "upheld", "comment": "Closed indeed.", "action": "void"}
    responses = fire(
        live_server.url,
        [(f"{API}/appeals/{appeal_id}/decision", results.manager, body)] * CONCURRENCY,
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 409: CONCURRENCY - 1}
    with results.db.session(read_only=True) as session:
        decided = session.exec(
            select(func.count()).where(
                AuditEntry.entity == "appeal", AuditEntry.action == "appeal_upheld"
            )
        ).one()
        rejected = session.exec(
            select(func.count()).where(
                AuditEntry.entity == "assignment", AuditEntry.to_state == AssignmentStatus.rejected
            )
        ).one()
    assert (decided, rejected) == (1, 1)
    assert results.get("summary")["visits"] == 0
