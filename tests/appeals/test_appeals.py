"""Appeals: who may file, the window, one open appeal per visit, decisions and their effect on the
results, the audit trail, and the statistics per location and per shopper.

Scores of tests/results/conftest.py's journey: all yes and friendly 5 → 100; quick "no" → till
50 → (100 + 2·50)/3 = 66.67.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from api.assignments.models import Assignment, AssignmentStatus
from api.audit.models import AuditEntry
from api.journeys.service import load_version
from api.projects.models import Project
from api.qc.models import QcFlag, QcRun
from api.visits.models import StepObservation, Visit
from tests.helpers import BRIEFING, login
from tests.results.conftest import API, RESULTS_JOURNEY, Answers, Results

GOOD = Answers()
SLOW = Answers(quick="no")


@pytest.fixture
def acme(results: Results) -> dict[str, str]:
    return login(results.client, "acme-viewer")


def file(
    results: Results, visit_id: int, headers: dict[str, str], reason: str = "We were open"
) -> Any:
    return results.client.post(
        f"{API}/visits/{visit_id}/appeals", json={"reason": reason}, headers=headers
    )


def decide(
    results: Results, appeal_id: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    return results.client.post(
        f"{API}/appeals/{appeal_id}/decision", json=body, headers=headers or results.manager
    )


def audit(results: Results, entity: str, entity_id: int) -> list[AuditEntry]:
    with results.db.session(read_only=True) as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
                .order_by(col(AuditEntry.id))
            )
        )


def assignment_of(results: Results, visit_id: int) -> Assignment:
    with results.db.session(read_only=True) as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        assignment = session.get(Assignment, visit.assignment_id)
        assert assignment is not None
        return assignment


def backdate_approval(results: Results, visit_id: int, days: float) -> None:
    assignment_id = assignment_of(results, visit_id).id
    with results.db.session() as session:
        for entry in session.exec(
            select(AuditEntry).where(
                AuditEntry.entity == "assignment",
                AuditEntry.entity_id == assignment_id,
                AuditEntry.to_state == AssignmentStatus.approved,
            )
        ):
            entry.at = entry.at - timedelta(days=days)
            session.add(entry)


def set_window(results: Results, days: int) -> None:
    response = results.client.patch(
        f"{API}/projects/{results.project_id}",
        json={"appeal_window_days": days},
        headers=results.manager,
    )
    assert response.status_code == 200, response.text
    assert response.json()["appeal_window_days"] == days


@contextmanager
def as_shopper(results: Results, username: str) -> Iterator[None]:
    """Results' visits are shopper-1's; let another shopper make them for a while."""
    ids, headers = dict(results.world.ids), results.shopper
    results.world.ids["shopper-1"] = results.world.ids[username]
    results.shopper = login(results.client, username)
    try:
        yield
    finally:
        results.world.ids.clear()
        results.world.ids.update(ids)
        results.shopper = headers


# ---------------------------------------------------------------- filing


def test_client_files_an_appeal_within_the_window(results: Results, acme: dict[str, str]) -> None:
    visit_id = results.approved_visit(GOOD)
    response = file(results, visit_id, acme, reason="  The shop was closed for a holiday.  ")
    assert response.status_code == 201, response.text
    appeal = response.json()
    assert appeal["status"] == "open"
    assert appeal["visit_id"] == visit_id
    assert appeal["location_code"] == "ALP-0"
    assert appeal["reason"] == "The shop was closed for a holiday."
    assert appeal["filed_by"] == results.world.ids["acme-viewer"]
    assert "shopper" not in response.text
    [entry] = audit(results, "appeal", appeal["id"])
    assert (entry.action, entry.to_state, entry.actor_id) == (
        "appeal_filed",
        "open",
        results.world.ids["acme-viewer"],
    )
    assert entry.data == {"visit_id": visit_id}


def test_appeal_refused_after_the_window(results: Results, acme: dict[str, str]) -> None:
    late, early = results.approved_visit(GOOD), results.approved_visit(GOOD)
    backdate_approval(results, late, days=14.01)
    backdate_approval(results, early, days=13.9)
    refused = file(results, late, acme)
    assert refused.status_code == 409, refused.text
    assert (refused.json()["rule"], refused.json()["window_days"]) == ("appeal_window", 14)
    assert file(results, early, acme).status_code == 201
    set_window(results, 30)
    assert file(results, late, acme).status_code == 201


def test_no_appeals_when_the_window_is_zero(results: Results, acme: dict[str, str]) -> None:
    visit_id = results.approved_visit(GOOD)
    set_window(results, 0)
    response = file(results, visit_id, acme)
    assert response.status_code == 409
    assert response.json()["rule"] == "appeal_window"
    listed = results.client.get(
        f"{API}/projects/{results.project_id}/appealable-visits", headers=acme
    )
    assert listed.json()["items"] == []


def test_only_the_projects_client_users_may_appeal(results: Results, acme: dict[str, str]) -> None:
    visit_id = results.approved_visit(GOOD)
    bolt = login(results.client, "bolt-viewer")
    other = file(results, visit_id, bolt)
    missing = file(results, 999_999, bolt)
    assert other.status_code == missing.status_code == 404
    assert other.json()["title"] == missing.json()["title"]
    assert file(results, visit_id, results.shopper).status_code == 403
    assert file(results, visit_id, results.manager).status_code == 403
    assert file(results, visit_id, acme).status_code == 201


def test_a_visit_not_approved_cannot_be_appealed(results: Results, acme: dict[str, str]) -> None:
    submitted = results.submitted_visit(GOOD)
    assert file(results, submitted, acme).status_code == 404
    rejected = results.submitted_visit(GOOD)
    results.reject(rejected)
    assert file(results, rejected, acme).status_code == 404


def test_second_open_appeal_is_refused_until_the_first_is_decided(
    results: Results, acme: dict[str, str]
) -> None:
    visit_id = results.approved_visit(GOOD)
    first = file(results, visit_id, acme).json()
    second = file(results, visit_id, acme)
    assert second.status_code == 409
    assert (second.json()["rule"], second.json()["appeal_id"]) == ("one_open_appeal", first["id"])
    dismissed = decide(results, first["id"], {"outcome": "dismissed", "comment": "Photo shows it"})
    assert dismissed.status_code == 200, dismissed.text
    assert file(results, visit_id, acme).status_code == 201


def test_appealable_visits_name_no_shopper(results: Results, acme: dict[str, str]) -> None:
    approved = results.approved_visit(GOOD)
    results.submitted_visit(GOOD)
    old = results.approved_visit(GOOD)
    backdate_approval(results, old, days=20)
    listed = results.client.get(
        f"{API}/projects/{results.project_id}/appealable-visits", headers=acme
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["visit_id"] == approved
    assert (item["location_code"], item["score"], item["open_appeal_id"]) == ("ALP-0", 100, None)
    assert "shopper" not in listed.text
    appeal = file(results, approved, acme).json()
    [item] = results.client.get(
        f"{API}/projects/{results.project_id}/appealable-visits", headers=acme
    ).json()["items"]
    assert item["open_appeal_id"] == appeal["id"]


# ---------------------------------------------------------------- deciding


def test_dismissed_appeal_leaves_the_results_unchanged(
    results: Results, acme: dict[str, str]
) -> None:
    visit_id = results.approved_visit(SLOW)
    results.approved_visit(GOOD)
    before = (results.get("summary"), results.get("steps"), results.get("locations"))
    appeal = file(results, visit_id, acme).json()
    response = decide(results, appeal["id"], {"outcome": "dismissed", "comment": "Stands."})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["action"], body["decision_comment"]) == (
        "dismissed",
        None,
        "Stands.",
    )
    assert body["decided_by"] == results.world.ids["mgr-a"]
    assert (results.get("summary"), results.get("steps"), results.get("locations")) == before
    assert assignment_of(results, visit_id).status == AssignmentStatus.approved
    actions = [e.action for e in audit(results, "appeal", appeal["id"])]
    assert actions == ["appeal_filed", "appeal_dismissed"]


def test_upheld_void_takes_the_visit_out_of_the_results(
    results: Results, acme: dict[str, str]
) -> None:
    visit_id = results.approved_visit(SLOW)
    results.approved_visit(GOOD)
    assert results.get("summary")["visits"] == 2
    appeal = file(results, visit_id, acme).json()
    response = decide(
        results,
        appeal["id"],
        {"outcome": "upheld", "comment": "Shop was closed.", "action": "void"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["action"]) == ("upheld", "void")
    summary = results.get("summary")
    assert summary["visits"] == 1
    assert summary["mean_score"] == pytest.approx(100)
    assignment = assignment_of(results, visit_id)
    assert assignment.status == AssignmentStatus.rejected
    trail = [(e.action, e.to_state) for e in audit(results, "assignment", assignment.id or 0)]
    assert trail[-2:] == [("approval_revoked", "submitted"), ("rejected", "rejected")]
    assert [e.action for e in audit(results, "appeal", appeal["id"])] == [
        "appeal_filed",
        "appeal_upheld",
    ]
    # Out of the results, out of reach of new appeals.
    assert file(results, visit_id, acme).status_code == 404


def test_upheld_amend_rescores_the_visit(results: Results, acme: dict[str, str]) -> None:
    visit_id = results.approved_visit(SLOW)
    results.approved_visit(GOOD, location="Alpha/loc1")
    assert results.get("summary")["mean_score"] == pytest.approx((200 / 3 + 100) / 2)
    appeal = file(results, visit_id, acme, reason="The till was quick; see our camera.").json()
    response = decide(
        results,
        appeal["id"],
        {
            "outcome": "upheld",
            "comment": "The camera shows a 2-minute wait.",
            "action": "amend",
            "amendments": {"till": {"quick": "yes"}},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["score_before"] == pytest.approx(200 / 3)
    assert body["score_after"] == pytest.approx(100)
    assert body["amendments"] == {"till": {"quick": "yes"}}
    summary = results.get("summary")
    assert (summary["visits"], summary["mean_score"]) == (2, pytest.approx(100))
    by_location = {row["code"]: row for row in results.get("locations")["items"]}
    assert by_location["ALP-0"]["mean_score"] == pytest.approx(100)
    till = {row["step_key"]: row for row in results.get("steps")}["till"]
    assert till["mean_score"] == pytest.approx(100)
    assert assignment_of(results, visit_id).status == AssignmentStatus.approved
    with results.db.session(read_only=True) as session:
        row = session.exec(
            select(StepObservation).where(
                StepObservation.visit_id == visit_id, StepObservation.step_key == "till"
            )
        ).one()
        assert row.answers == {"price_ok": "yes", "quick": "yes"}
        assert row.revision == 2
    visit_trail = audit(results, "visit", visit_id)
    assert [e.action for e in visit_trail] == ["step_amended_on_appeal", "rescored_on_appeal"]
    amended, rescored = visit_trail
    assert amended.data["before"]["answers"] == {"price_ok": "yes", "quick": "no"}
    assert amended.data["after"]["answers"] == {"price_ok": "yes", "quick": "yes"}
    assert amended.data["appeal_id"] == appeal["id"]
    assert rescored.data["score_after"] == pytest.approx(100)
    assert [e.action for e in audit(results, "appeal", appeal["id"])] == [
        "appeal_filed",
        "appeal_upheld",
    ]
    # QC ran again over the corrected answers: a second run, now the current one.
    with results.db.session(read_only=True) as session:
        runs = session.exec(
            select(QcRun).where(QcRun.visit_id == visit_id).order_by(col(QcRun.run))
        ).all()
        assert [(run.run, run.current) for run in runs] == [(1, False), (2, True)]
        rules = session.exec(
            select(QcFlag.rule).where(QcFlag.visit_id == visit_id, QcFlag.run == 2)
        ).all()
    assert rescored.data["qc_flags"] == sorted(rules)


@pytest.mark.parametrize(
    "body",
    [
        {
            "outcome": "upheld",
            "comment": "x",
            "action": "amend",
            "amendments": {"till": {"quick": "maybe"}},
        },
        {
            "outcome": "upheld",
            "comment": "x",
            "action": "amend",
            "amendments": {"till": {"nope": "yes"}},
        },
        {
            "outcome": "upheld",
            "comment": "x",
            "action": "amend",
            "amendments": {"exit": {"q": "yes"}},
        },
        {"outcome": "upheld", "comment": "x", "action": "amend", "amendments": {}},
        {"outcome": "upheld", "comment": "x"},
        {"outcome": "dismissed", "comment": "x", "action": "void"},
        {
            "outcome": "upheld",
            "comment": "x",
            "action": "void",
            "amendments": {"till": {"quick": "yes"}},
        },
        {"outcome": "dismissed", "comment": "   "},
    ],
)
def test_bad_decisions_change_nothing(
    results: Results, acme: dict[str, str], body: dict[str, Any]
) -> None:
    visit_id = results.approved_visit(SLOW)
    appeal = file(results, visit_id, acme).json()
    before = results.get("summary")
    response = decide(results, appeal["id"], body)
    assert response.status_code == 422, response.text
    assert results.get("summary") == before
    again = results.client.get(f"{API}/appeals/{appeal['id']}", headers=acme).json()
    assert again["status"] == "open"
    assert [e.action for e in audit(results, "visit", visit_id)] == []


def test_a_decided_appeal_cannot_be_decided_again(results: Results, acme: dict[str, str]) -> None:
    appeal = file(results, results.approved_visit(GOOD), acme).json()
    assert (
        decide(results, appeal["id"], {"outcome": "dismissed", "comment": "No."}).status_code == 200
    )
    again = decide(
        results, appeal["id"], {"outcome": "upheld", "comment": "Yes.", "action": "void"}
    )
    assert again.status_code == 409


def test_upholding_needs_the_visit_still_approved(results: Results, acme: dict[str, str]) -> None:
    visit_id = results.approved_visit(GOOD)
    appeal = file(results, visit_id, acme).json()
    results.revoke(visit_id)
    response = decide(
        results, appeal["id"], {"outcome": "upheld", "comment": "x", "action": "void"}
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "visit_approved"
    assert (
        decide(results, appeal["id"], {"outcome": "dismissed", "comment": "Moot."}).status_code
        == 200
    )


def test_only_the_projects_managers_decide(results: Results, acme: dict[str, str]) -> None:
    appeal = file(results, results.approved_visit(GOOD), acme).json()
    body = {"outcome": "dismissed", "comment": "No."}
    assert decide(results, appeal["id"], body, login(results.client, "mgr-b")).status_code == 404
    assert decide(results, appeal["id"], body, acme).status_code == 403
    assert decide(results, appeal["id"], body, results.shopper).status_code == 403
    assert decide(results, appeal["id"], body, login(results.client, "admin")).status_code == 200


# ---------------------------------------------------------------- lists and statistics


def test_clients_list_their_appeals_without_shopper_identity(
    results: Results, acme: dict[str, str]
) -> None:
    first = file(results, results.approved_visit(GOOD), acme).json()
    second = file(results, results.approved_visit(GOOD, location="Alpha/loc1"), acme).json()
    decide(results, first["id"], {"outcome": "dismissed", "comment": "No."})
    url = f"{API}/projects/{results.project_id}/appeals"
    everything = results.client.get(url, headers=acme)
    assert [a["id"] for a in everything.json()["items"]] == [first["id"], second["id"]]
    assert "shopper" not in everything.text
    open_only = results.client.get(url, params={"status": "open"}, headers=results.manager)
    assert [a["id"] for a in open_only.json()["items"]] == [second["id"]]
    paged = results.client.get(url, params={"limit": 1}, headers=acme).json()
    assert [a["id"] for a in paged["items"]] == [first["id"]]
    rest = results.client.get(
        url, params={"limit": 1, "cursor": paged["next_cursor"]}, headers=acme
    )
    assert [a["id"] for a in rest.json()["items"]] == [second["id"]]
    bolt = login(results.client, "bolt-viewer")
    assert results.client.get(url, headers=bolt).status_code == 404
    assert results.client.get(f"{API}/appeals/{first['id']}", headers=bolt).status_code == 404


def test_stats_per_location_and_per_shopper(results: Results, acme: dict[str, str]) -> None:
    # shopper-1: three approved visits at ALP-0, one at ALP-1; shopper-2: one at ALP-1.
    s1_loc0 = [results.approved_visit(GOOD) for _ in range(3)]
    s1_loc1 = results.approved_visit(GOOD, location="Alpha/loc1")
    with as_shopper(results, "shopper-2"):
        s2_loc1 = results.approved_visit(GOOD, location="Alpha/loc1")
    appeals = {
        visit_id: file(results, visit_id, acme).json()["id"]
        for visit_id in (s1_loc0[0], s1_loc0[1], s2_loc1)
    }
    decide(
        results, appeals[s1_loc0[0]], {"outcome": "upheld", "comment": "Closed", "action": "void"}
    )
    decide(results, appeals[s1_loc0[1]], {"outcome": "dismissed", "comment": "No."})
    response = results.client.get(
        f"{API}/projects/{results.project_id}/appeals/stats", headers=results.manager
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    # 5 visits were approved (one voided since); 3 appeals: 1 upheld, 1 dismissed, 1 open.
    assert stats["total"] == {
        "approved_visits": 5,
        "appeals": 3,
        "open": 1,
        "upheld": 1,
        "dismissed": 1,
        "appeal_rate": pytest.approx(3 / 5),
        "upheld_rate": pytest.approx(1 / 2),
    }
    locations = {row["code"]: row for row in stats["locations"]}
    assert [row["code"] for row in stats["locations"]] == ["ALP-0", "ALP-1"]
    assert (locations["ALP-0"]["approved_visits"], locations["ALP-0"]["appeals"]) == (3, 2)
    assert locations["ALP-0"]["appeal_rate"] == pytest.approx(2 / 3)
    assert locations["ALP-0"]["upheld_rate"] == pytest.approx(1 / 2)
    assert (locations["ALP-1"]["approved_visits"], locations["ALP-1"]["appeals"]) == (2, 1)
    assert locations["ALP-1"]["upheld_rate"] is None
    shoppers = {row["username"]: row for row in stats["shoppers"]}
    assert (shoppers["shopper-1"]["approved_visits"], shoppers["shopper-1"]["appeals"]) == (4, 2)
    assert shoppers["shopper-1"]["appeal_rate"] == pytest.approx(1 / 2)
    assert (shoppers["shopper-2"]["approved_visits"], shoppers["shopper-2"]["appeals"]) == (1, 1)
    assert shoppers["shopper-2"]["appeal_rate"] == pytest.approx(1.0)
    assert shoppers["shopper-2"]["shopper_id"] == results.world.ids["shopper-2"]
    assert s1_loc1  # approved, never appealed: counted in ALP-1's and shopper-1's visits
    assert (
        results.client.get(
            f"{API}/projects/{results.project_id}/appeals/stats", headers=acme
        ).status_code
        == 403
    )


def test_appeal_window_is_a_project_setting(results: Results) -> None:
    project = results.client.get(
        f"{API}/projects/{results.project_id}", headers=results.manager
    ).json()
    assert project["appeal_window_days"] == 14
    set_window(results, 7)
    refused = results.client.patch(
        f"{API}/projects/{results.project_id}",
        json={"appeal_window_days": -1},
        headers=results.manager,
    )
    assert refused.status_code == 422
    with results.db.session(read_only=True) as session:
        row = session.get(Project, results.project_id)
        assert row is not None and row.appeal_window_days == 7


def test_photos_cannot_be_amended(results: Results, acme: dict[str, str]) -> None:
    """A journey version with an optional photo at the till: its answer stays as recorded."""
    with results.db.session() as session:
        project = session.get(Project, results.project_id)
        assert project is not None
        source = RESULTS_JOURNEY.replace(
            '          - {key: quick, text: "Quick?", type: yes_no, level: ease}\n',
            '          - {key: quick, text: "Quick?", type: yes_no, level: ease}\n'
            '          - {key: receipt, text: "Receipt", type: photo, required: false}\n',
        )
        assert "receipt" in source
        version = load_version(
            session,
            project=project,
            source=source + BRIEFING.format(traits="{}"),
            filename="results.yaml",
            publish=True,
            actor=None,
        )
        project.journey_version_id = version.id
        session.add(project)
    visit_id = results.approved_visit(SLOW)
    appeal = file(results, visit_id, acme).json()
    response = decide(
        results,
        appeal["id"],
        {
            "outcome": "upheld",
            "comment": "x",
            "action": "amend",
            "amendments": {"till": {"receipt": [], "quick": "yes"}},
        },
    )
    assert response.status_code == 422, response.text
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("amendments.till.receipt", "photos cannot be changed on appeal")
    ]
    assert results.get("summary")["mean_score"] == pytest.approx(200 / 3)
