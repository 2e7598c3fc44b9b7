"""The project event stream over a real server: who sees what, and only what committed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from api.assignments.models import Assignment, AssignmentStatus
from api.assignments.states import transition
from api.results.materialise import materialise_visit, remove_visit
from tests.events.conftest import API, Live

STAFF_ONLY = {
    "assignment.changed",
    "visit.submitted",
    "visit.returned",
    "visit.rejected",
}


def test_manager_receives_approval_and_results_change_within_two_seconds(live: Live) -> None:
    visit_id, assignment_id = live.submitted_visit()
    with live.stream("mgr-a") as stream:
        started = time.monotonic()
        live.review(visit_id, "approve")
        approved = stream.wait_for("visit.approved", timeout=2, visit_id=visit_id)
        changed = stream.wait_for("results.changed", timeout=2, visit_id=visit_id)
        assert time.monotonic() - started < 2
    assert approved.data["project_id"] == live.project_id
    assert approved.data["assignment_id"] == assignment_id
    assert approved.data["state"] == "approved"
    assert approved.id and approved.id != changed.id
    assert changed.data["project_id"] == live.project_id
    # The transition itself came first, as assignment.changed.
    changes = [e for e in stream.seen if e.type == "assignment.changed"]
    assert [e.data["state"] for e in changes] == ["approved"]


def test_staff_follow_every_state_change_of_the_visit(live: Live) -> None:
    with live.stream("admin") as stream:
        visit_id, assignment_id = live.submitted_visit()
        stream.wait_for("visit.submitted", visit_id=visit_id, assignment_id=assignment_id)
        live.review(visit_id, "return")
        stream.wait_for("visit.returned", visit_id=visit_id)
        live.submit(visit_id)
        stream.wait_for("visit.submitted", visit_id=visit_id)
        live.review(visit_id, "reject")
        stream.wait_for("visit.rejected", visit_id=visit_id, state="rejected")
    states = [e.data["state"] for e in stream.seen if e.type == "assignment.changed"]
    # Creating the assignment (offered) is no change of state; every later one is.
    assert states == [
        "accepted",
        "in_progress",
        "submitted",
        "returned",
        "submitted",
        "rejected",
    ]


def test_client_sees_approvals_and_revocations_but_nothing_before_approval(live: Live) -> None:
    with live.stream("acme-viewer") as client_stream, live.stream("mgr-a") as staff_stream:
        visit_id, _ = live.submitted_visit()
        staff_stream.wait_for("visit.submitted", visit_id=visit_id)
        live.review(visit_id, "approve")
        client_stream.wait_for("visit.approved", visit_id=visit_id)
        client_stream.wait_for("results.changed", visit_id=visit_id)
        live.review(visit_id, "revoke")
        revoked = client_stream.wait_for("visit.revoked", visit_id=visit_id)
        client_stream.wait_for("results.changed", visit_id=visit_id)
        staff_stream.wait_for("visit.revoked", visit_id=visit_id)
        client_stream.drain(quiet=0.5)
    assert revoked.data["state"] == "submitted"
    assert {e.type for e in client_stream.seen} == {
        "visit.approved",
        "visit.revoked",
        "results.changed",
    }
    assert not {e.type for e in client_stream.seen} & STAFF_ONLY
    for event in client_stream.seen:
        assert not any("shopper" in key for key in event.data), event


def test_events_of_another_project_are_not_delivered(live: Live) -> None:
    with live.stream("mgr-b", project="Beta") as beta:
        visit_id, _ = live.submitted_visit()
        live.review(visit_id, "approve")
        assert beta.drain(quiet=0.7) == []


@pytest.mark.parametrize(
    ("username", "status"),
    [("bolt-viewer", 404), ("mgr-b", 404), ("shopper-1", 403), (None, 401)],
)
def test_stream_refused_to_outsiders(live: Live, username: str | None, status: int) -> None:
    headers = live.headers(username) if username else {}
    response = live.http.get(f"{API}/projects/{live.project_id}/events", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_refused_approval_sends_nothing(live: Live) -> None:
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    with live.stream("mgr-a") as stream:
        live.review(visit_id, "approve", expect=409)  # approved already
        live.review(visit_id, "approve", as_="mgr-b", expect=404)
        assert stream.drain(quiet=0.7) == []


def _approve_then_fail(live: Live, assignment_id: int) -> None:
    with live.db.session() as session:
        assignment = session.get(Assignment, assignment_id)
        assert assignment is not None
        transition(session, assignment, AssignmentStatus.approved, actor_id=None, action="x")
        session.flush()
        raise RuntimeError("the approval fails after the transition")


def test_rolled_back_transition_sends_nothing(live: Live) -> None:
    visit_id, assignment_id = live.submitted_visit()
    with live.stream("mgr-a") as stream:
        with pytest.raises(RuntimeError):
            _approve_then_fail(live, assignment_id)
        assert stream.drain(quiet=0.7) == []
        # A savepoint rolled back inside a transaction that commits sends nothing either.
        with live.db.session() as session:
            assignment = session.get(Assignment, assignment_id)
            assert assignment is not None
            savepoint = session.begin_nested()
            transition(session, assignment, AssignmentStatus.approved, actor_id=None, action="x")
            session.flush()
            savepoint.rollback()
            session.execute(text("SELECT 1"))
        assert stream.drain(quiet=0.7) == []
        live.review(visit_id, "approve")
        stream.wait_for("visit.approved", visit_id=visit_id)


def test_reconnect_with_last_event_id_replays_what_was_missed(live: Live) -> None:
    first_visit, _ = live.submitted_visit()
    second_visit, _ = live.submitted_visit()
    with live.stream("acme-viewer") as stream:
        live.review(first_visit, "approve")
        last = stream.wait_for("results.changed", visit_id=first_visit)
    live.review(second_visit, "approve")  # while nobody listens
    headers = {"Last-Event-ID": last.id or ""}
    body = live.http.get(
        f"{API}/projects/{live.project_id}/events",
        headers=live.headers("acme-viewer") | headers,
        params={"max_seconds": 0.5},
    ).text
    assert f'visit_id":{second_visit}' in body.replace(" ", "")
    assert f'visit_id":{first_visit}' not in body.replace(" ", "")
    assert body.startswith("retry: ")


def test_idle_stream_sends_heartbeats_and_ends_after_max_seconds(live: Live) -> None:
    live.server.server.config.app.state.settings.events_heartbeat_seconds = 0.2
    started = time.monotonic()
    response = live.http.get(
        f"{API}/projects/{live.project_id}/events",
        headers=live.headers("mgr-a"),
        params={"max_seconds": 1},
    )
    assert 0.9 < time.monotonic() - started < 5
    assert response.status_code == 200
    assert response.text.count(": heartbeat") >= 3


def test_results_rewritten_in_one_transaction_announce_one_change(live: Live) -> None:
    """E.g. an appeal that amends answers: rows removed and re-materialised, one event."""
    visit_id, _ = live.submitted_visit()
    live.review(visit_id, "approve")
    with live.stream("acme-viewer") as stream:
        with live.db.session() as session:
            remove_visit(session, visit_id=visit_id)
            materialise_visit(session, visit_id=visit_id)
        changed = stream.wait_for("results.changed", visit_id=visit_id)
        assert stream.drain(quiet=0.5) == []
    assert changed.data["project_id"] == live.project_id


def test_bulk_approval_announces_every_visit(live: Live) -> None:
    visit_ids = {live.submitted_visit()[0] for _ in range(3)}
    with live.stream("acme-viewer") as stream:
        approved = live.call(
            "POST",
            f"/projects/{live.project_id}/review-queue/approve",
            as_="mgr-a",
            json={"comment": "clean"},
        )
        assert set(approved["visit_ids"]) == visit_ids
        for visit_id in visit_ids:
            stream.wait_for("visit.approved", visit_id=visit_id)
        stream.drain(quiet=0.5)
    kinds = [e.type for e in stream.seen]
    assert kinds.count("visit.approved") == 3 and kinds.count("results.changed") == 3
