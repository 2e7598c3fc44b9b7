"""The review workflow: the queue, decisions with their audit trail, returns, bulk approval, ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

import api.results.materialise
from api.main import _sweep
from api.reviews.models import Review, ReviewAction
from api.reviews.service import reject_overdue_returns
from tests.helpers import login
from tests.qc.conftest import Visits
from tests.visits.conftest import entrance_body

API = "/api/v1"
FAR = (53.0, 4.0)


def queue(visits: Visits, **params: Any) -> dict[str, Any]:
    response = visits.client.get(
        f"{API}/projects/{visits.ids('Alpha')}/review-queue",
        params=params,
        headers=visits.manager,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def queued_ids(visits: Visits, **params: Any) -> list[int]:
    return [item["visit_id"] for item in queue(visits, **params)["items"]]


def status_of(visits: Visits, visit_id: int) -> str:
    response = visits.client.get(f"{API}/visits/{visit_id}", headers=visits.manager)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


# ---------------------------------------------------------------- the queue


def test_queue_lists_submitted_visits_oldest_first_with_waiting_time(visits: Visits) -> None:
    first = visits.submitted()
    second = visits.submitted(checkin=FAR)
    third = visits.submitted(location=1)
    visits.started()  # in progress: not in the queue
    body = queue(visits, sort="oldest")
    assert [i["visit_id"] for i in body["items"]] == [first["id"], second["id"], third["id"]]
    waited = [i["waited_seconds"] for i in body["items"]]
    assert waited == sorted(waited, reverse=True) and waited[-1] >= 0
    item = body["items"][1]
    assert item["assignment_id"] == second["assignment_id"]
    assert item["location"]["id"] == visits.ids("Alpha/loc0")
    assert (item["shopper_id"], item["shopper_name"]) == (visits.ids("shopper-1"), "shopper-1")
    assert item["worst_severity"] == "fail"
    assert item["flag_counts"]["fail"] == 1
    assert (item["qc_run"], item["returns"]) == (1, 0)
    assert body["items"][0]["worst_severity"] is None


def test_queue_pages_follow_the_cursor(visits: Visits) -> None:
    ids = [visits.submitted()["id"] for _ in range(3)]
    page1 = queue(visits, limit=2)
    assert [i["visit_id"] for i in page1["items"]] == ids[:2]
    page2 = queue(visits, limit=2, cursor=page1["next_cursor"])
    assert ([i["visit_id"] for i in page2["items"]], page2["next_cursor"]) == (ids[2:], None)
    bad = visits.client.get(
        f"{API}/projects/{visits.ids('Alpha')}/review-queue",
        params={"cursor": "nonsense"},
        headers=visits.manager,
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"sort": "oldest"}, ["clean", "far", "other_shop"], id="no filter"),
        pytest.param({"severity": "fail"}, ["far"], id="severity fail"),
        pytest.param({"severity": "warn"}, ["other_shop"], id="severity warn"),
        pytest.param({"rule": "geofence"}, ["far", "other_shop"], id="rule geofence"),
        pytest.param({"rule": "duplicate_photo"}, [], id="rule not raised"),
        pytest.param({"location_id": "loc1"}, ["other_shop"], id="location"),
    ],
)
def test_queue_filters(visits: Visits, params: dict[str, Any], expected: list[str]) -> None:
    made = {
        "clean": visits.submitted(),
        "far": visits.submitted(checkin=FAR),
        # Loc1 is at 52.01: checked in 220 m south of it, outside its geofence (a warn).
        "other_shop": visits.submitted(location=1, checkin=(52.008, 4.0)),
    }
    if "location_id" in params:
        params = {"location_id": visits.ids(f"Alpha/{params['location_id']}")}
    assert queued_ids(visits, **params) == [made[name]["id"] for name in expected]


def test_queue_sorts_by_severity_by_default_and_pages_across_severities(visits: Visits) -> None:
    clean = visits.submitted()
    far = visits.submitted(checkin=FAR)  # fail
    warn = visits.submitted(location=1, checkin=(52.008, 4.0))
    clean_later = visits.submitted()

    assert queued_ids(visits) == [far["id"], warn["id"], clean["id"], clean_later["id"]]
    seen, cursor = [], None
    while True:
        body = queue(visits, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [item["visit_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [far["id"], warn["id"], clean["id"], clean_later["id"]]


# ---------------------------------------------------------------- decisions


@pytest.mark.parametrize(
    ("steps", "final", "audit"),
    [
        pytest.param(
            [("approve", "Fine.")],
            "approved",
            [("submitted", "approved", "approved")],
            id="approve",
        ),
        pytest.param(
            [("reject", "Wrong shop.")],
            "rejected",
            [("submitted", "rejected", "rejected")],
            id="reject",
        ),
        pytest.param(
            [("return", "Retake the receipt photo.")],
            "returned",
            [("submitted", "returned", "returned")],
            id="return",
        ),
        pytest.param(
            [("approve", ""), ("revoke", "Approved by mistake.")],
            "submitted",
            [("submitted", "approved", "approved"), ("approved", "submitted", "approval_revoked")],
            id="approve then revoke",
        ),
        pytest.param(
            [("return", "Fix the till."), ("reject", "Too late.")],
            "rejected",
            [("submitted", "returned", "returned"), ("returned", "rejected", "rejected")],
            id="return then reject",
        ),
    ],
)
def test_each_decision_is_audited_and_recorded(
    visits: Visits,
    steps: list[tuple[str, str]],
    final: str,
    audit: list[tuple[str, str, str]],
) -> None:
    visit = visits.submitted()
    manager_id = visits.field.world.ids["mgr-a"]
    for action, comment in steps:
        response = visits.decide(visit["id"], action, comment)
        assert response.status_code == 200, response.text
        assert response.json()["reviewer_id"] == manager_id
    assert status_of(visits, visit["id"]) == final
    entries = visits.history(visit["assignment_id"])[-len(steps) :]
    assert [(e["from_state"], e["to_state"], e["action"]) for e in entries] == audit
    assert [(e["actor_id"], e["comment"]) for e in entries] == [
        (manager_id, comment) for _, comment in steps
    ]
    reviews = visits.review(visit["id"])["reviews"]
    assert [(r["action"], r["comment"], r["qc_run"]) for r in reviews] == [
        (action, comment, 1) for action, comment in steps
    ]


@pytest.mark.parametrize(
    ("first", "then", "status"),
    [
        pytest.param(None, "revoke", 409, id="revoke a submitted visit"),
        pytest.param("reject", "approve", 409, id="approve a rejected visit"),
        pytest.param("approve", "reject", 409, id="reject an approved visit"),
        pytest.param("return", "approve", 409, id="approve a returned visit"),
        pytest.param(None, "return", 422, id="return without a comment"),
        pytest.param(None, "delete", 422, id="unknown action"),
    ],
)
def test_decisions_the_state_does_not_allow_are_refused(
    visits: Visits, first: str | None, then: str, status: int
) -> None:
    visit = visits.submitted()
    if first:
        assert visits.decide(visit["id"], first, "Because.").status_code == 200
    before = visits.history(visit["assignment_id"])
    refused = visits.decide(visit["id"], then, "  " if then == "return" else "x")
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert visits.history(visit["assignment_id"]) == before


def test_approval_and_revocation_call_the_results_hooks(
    visits: Visits, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(
        api.results.materialise,
        "materialise_visit",
        lambda session, *, visit_id: calls.append(("materialise", visit_id)),
    )
    monkeypatch.setattr(
        api.results.materialise,
        "remove_visit",
        lambda session, *, visit_id: calls.append(("remove", visit_id)),
    )
    visit = visits.submitted()
    visits.decide(visit["id"], "approve")
    visits.decide(visit["id"], "revoke", "Second look.")
    visits.decide(visit["id"], "return", "Fix it.")
    visits.set_qc(auto_approve=True)
    auto = visits.submitted()
    assert calls == [
        ("materialise", visit["id"]),
        ("remove", visit["id"]),
        ("materialise", auto["id"]),
    ]


# ---------------------------------------------------------------- returned visits


def test_shopper_fixes_a_returned_visit_and_qc_runs_again(visits: Visits) -> None:
    visit = visits.submitted(checkin=FAR)
    before = datetime.now(UTC)
    comment = "The receipt is unreadable; retake it."
    assert visits.decide(visit["id"], "return", comment).status_code == 200

    shopper = visits.shopper
    mine = visits.client.get(f"{API}/me/assignments", params={"scope": "returned"}, headers=shopper)
    assert [a["id"] for a in mine.json()["items"]] == [visit["assignment_id"]]
    seen = visits.client.get(f"{API}/visits/{visit['id']}", headers=shopper).json()
    assert (seen["status"], seen["return_comment"]) == ("returned", comment)
    notice = visits.client.get(f"{API}/visits/{visit['id']}/return", headers=shopper).json()
    assert notice["comment"] == comment
    deadline = datetime.fromisoformat(notice["resubmit_by"])
    assert before + timedelta(hours=47.9) < deadline < before + timedelta(hours=48.1)
    assert visits.review(visit["id"])["resubmit_by"] == notice["resubmit_by"]
    assert datetime.fromisoformat(seen["return_deadline"]) == deadline
    assert visit["id"] not in queued_ids(visits)

    fixed = visits.field.put_step(visit["id"], "entrance", entrance_body(notes="retaken"))
    assert fixed.status_code == 200, fixed.text
    resubmitted = visits.submit(visit["id"])
    assert (resubmitted["status"], resubmitted["return_comment"]) == ("submitted", None)
    assert [e["action"] for e in visits.history(visit["assignment_id"])[-2:]] == [
        "returned",
        "resubmitted",
    ]
    review = visits.review(visit["id"])
    assert [run["run"] for run in review["qc_runs"]] == [2, 1]
    assert all(f["run"] == 2 for f in review["current_flags"])
    assert review["qc_runs"][1]["flags"] and review["qc_runs"][1]["worst_severity"] == "fail"
    assert review["resubmit_by"] is None
    item = queue(visits)["items"][0]
    assert (item["visit_id"], item["qc_run"], item["returns"]) == (visit["id"], 2, 1)
    after = visits.client.get(f"{API}/visits/{visit['id']}/return", headers=shopper).json()
    assert (after["status"], after["comment"], after["resubmit_by"]) == ("submitted", None, None)


def test_sweep_rejects_returned_visits_past_their_deadline(visits: Visits) -> None:
    visits.set_qc(return_deadline_hours=1)
    late = visits.submitted()
    on_time = visits.submitted()
    for visit in (late, on_time):
        assert visits.decide(visit["id"], "return", "Fix the photo.").status_code == 200
    db = visits.field.db
    with db.session() as session:
        assert reject_overdue_returns(session) == 0
        review = session.exec(
            select(Review).where(
                Review.visit_id == late["id"], Review.action == ReviewAction.return_
            )
        ).one()
        review.resubmit_by = datetime.now(UTC) - timedelta(minutes=1)
        session.add(review)
    _sweep(db)
    assert status_of(visits, late["id"]) == "rejected"
    assert status_of(visits, on_time["id"]) == "returned"
    last = visits.history(late["assignment_id"])[-1]
    assert (last["actor_id"], last["action"], last["from_state"], last["to_state"]) == (
        None,
        "rejected_past_deadline",
        "returned",
        "rejected",
    )
    with db.session() as session:
        later = datetime.now(UTC) + timedelta(hours=2)
        assert reject_overdue_returns(session, now=later) == 1
    assert status_of(visits, on_time["id"]) == "rejected"


# ---------------------------------------------------------------- bulk approval


def test_bulk_approve_takes_only_clean_visits_that_match(visits: Visits) -> None:
    clean = visits.submitted()
    flagged = visits.submitted(checkin=FAR)
    elsewhere = visits.submitted(location=1, checkin=(52.01, 4.0))
    url = f"{API}/projects/{visits.ids('Alpha')}/review-queue/approve"
    dry = visits.client.post(url, json={"dry_run": True}, headers=visits.manager)
    assert dry.status_code == 200, dry.text
    assert dry.json() == {
        "dry_run": True,
        "count": 2,
        "visit_ids": [clean["id"], elsewhere["id"]],
    }
    assert status_of(visits, clean["id"]) == "submitted"
    only_loc0 = visits.client.post(
        url,
        json={"location_id": visits.ids("Alpha/loc0"), "comment": "Batch"},
        headers=visits.manager,
    )
    assert only_loc0.json()["visit_ids"] == [clean["id"]]
    assert [status_of(visits, v["id"]) for v in (clean, flagged, elsewhere)] == [
        "approved",
        "submitted",
        "submitted",
    ]
    last = visits.history(clean["assignment_id"])[-1]
    assert (last["action"], last["comment"]) == ("approved", "Batch")
    rest = visits.client.post(url, json={}, headers=visits.manager).json()
    assert rest["visit_ids"] == [elsewhere["id"]]
    assert queued_ids(visits) == [flagged["id"]]


# ---------------------------------------------------------------- who may review


@pytest.mark.parametrize(
    ("username", "status"), [("acme-viewer", 403), ("shopper-1", 403), ("mgr-b", 404)]
)
def test_others_may_not_review(visits: Visits, username: str, status: int) -> None:
    visit = visits.submitted()
    headers = login(visits.client, username)
    project = visits.ids("Alpha")
    for method, path, body in [
        ("GET", f"/projects/{project}/review-queue", None),
        ("POST", f"/projects/{project}/review-queue/approve", {}),
        ("GET", f"/visits/{visit['id']}/review", None),
        ("POST", f"/visits/{visit['id']}/review", {"action": "approve"}),
    ]:
        response = visits.client.request(method, API + path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
    assert status_of(visits, visit["id"]) == "submitted"


# ---------------------------------------------------------------- the shopper's rating


def rating(visits: Visits) -> tuple[float | None, int]:
    response = visits.client.get(f"{API}/shoppers", headers=visits.manager)
    assert response.status_code == 200, response.text
    me = next(s for s in response.json()["items"] if s["username"] == "shopper-1")
    return me["rating"], me["approved_visits"]


def test_rating_follows_review_outcomes(visits: Visits) -> None:
    assert rating(visits) == (None, 0)
    first = visits.submitted()
    assert visits.decide(first["id"], "approve").status_code == 200
    assert rating(visits) == (100.0, 1)  # approved first time: 1 point

    second = visits.submitted()
    visits.decide(second["id"], "return", "Fix it.")
    assert rating(visits) == (100.0, 1)  # awaiting correction: not decided yet
    visits.submit(second["id"])
    visits.decide(second["id"], "approve")
    assert rating(visits) == (75.0, 2)  # (1 + 0.5) / 2

    third = visits.submitted(checkin=FAR)  # first QC run fails: −0.25, floored at 0
    visits.decide(third["id"], "reject", "Not at the shop.")
    assert rating(visits) == (50.0, 2)  # (1 + 0.5 + 0) / 3

    visits.decide(first["id"], "revoke", "Second look.")
    assert rating(visits) == (25.0, 1)  # (0.5 + 0) / 2
