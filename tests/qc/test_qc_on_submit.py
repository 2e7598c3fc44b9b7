"""QC runs when a visit is submitted: its flags are stored, and clean visits may approve themselves."""

from __future__ import annotations

from typing import Any

import pytest

from tests.qc.conftest import Visits
from tests.visits.conftest import photo_bytes


def _serious(flags: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["rule"], f["severity"]) for f in flags if f["severity"] != "info"]


@pytest.mark.parametrize(
    ("checkin", "expected"),
    [
        pytest.param((52.0, 4.0), [], id="at the shop: clean"),
        pytest.param((52.002, 4.0), [("geofence", "warn")], id="220 m away: warn"),
        pytest.param((53.0, 4.0), [("geofence", "fail")], id="110 km away: fail"),
        pytest.param(None, [("geofence", "warn")], id="no GPS fix: warn"),
    ],
)
def test_flags_of_the_check_in_are_stored_on_submit(
    visits: Visits, checkin: tuple[float, float] | None, expected: list[tuple[str, str]]
) -> None:
    visit = visits.submitted(checkin=checkin)
    assert visit["status"] == "submitted"
    review = visits.review(visit["id"])
    assert _serious(review["current_flags"]) == expected
    assert [run["run"] for run in review["qc_runs"]] == [1]
    assert review["worst_severity"] == (expected[0][1] if expected else None)
    geofence = [f for f in review["current_flags"] if f["rule"] == "geofence"]
    assert all(f["step_key"] is None and f["message"] for f in geofence)


def test_the_same_photo_in_two_visits_flags_the_later_one(visits: Visits) -> None:
    photo = photo_bytes(noise=True)
    first = visits.submitted(receipt_photo=photo)
    second = visits.submitted(receipt_photo=photo)
    assert _serious(visits.review(first["id"])["current_flags"]) == []
    flags = visits.review(second["id"])["current_flags"]
    assert _serious(flags) == [("duplicate_photo", "fail")]
    duplicate = next(f for f in flags if f["rule"] == "duplicate_photo")
    assert (duplicate["step_key"], duplicate["question_key"]) == ("till", "receipt_photo")
    assert f"visit {first['id']}" in duplicate["message"]


@pytest.mark.parametrize(
    ("auto_approve", "checkin", "status"),
    [
        pytest.param(True, (52.0, 4.0), "approved", id="on, clean: approved"),
        pytest.param(True, (53.0, 4.0), "submitted", id="on, flagged: waits"),
        pytest.param(False, (52.0, 4.0), "submitted", id="off, clean: waits"),
    ],
)
def test_auto_approve_only_clean_visits_of_projects_that_allow_it(
    visits: Visits, auto_approve: bool, checkin: tuple[float, float], status: str
) -> None:
    visits.set_qc(auto_approve=auto_approve)
    visit = visits.submitted(checkin=checkin)
    assert visit["status"] == status
    last = visits.history(visit["assignment_id"])[-1]
    if status == "approved":
        assert (last["action"], last["actor_id"]) == ("auto_approved", None)
        assert (last["from_state"], last["to_state"]) == ("submitted", "approved")
        assert [r["action"] for r in visits.review(visit["id"])["reviews"]] == ["auto_approve"]
    else:
        assert last["action"] == "submitted"


def test_project_qc_settings_are_validated_and_applied(visits: Visits) -> None:
    project = f"/api/v1/projects/{visits.ids('Alpha')}"
    refused = visits.client.patch(
        project, json={"qc": {"thresholds": {"geofence_radius": 3}}}, headers=visits.manager
    )
    assert refused.status_code == 422, refused.text
    assert "geofence_radius" in refused.json()["detail"]
    visits.set_qc(thresholds={"disabled_rules": ["geofence"]}, return_deadline_hours=24)
    read = visits.client.get(project, headers=visits.manager).json()
    assert read["qc"] == {
        "auto_approve": False,
        "return_deadline_hours": 24,
        "thresholds": {"disabled_rules": ["geofence"]},
    }
    far = visits.submitted(checkin=(53.0, 4.0))
    assert visits.review(far["id"])["current_flags"] == []


def test_a_new_project_has_the_default_qc_settings(visits: Visits) -> None:
    created = visits.client.post(
        "/api/v1/projects",
        json={"client_id": visits.ids("Acme"), "name": "Gamma"},
        headers=visits.manager,
    )
    assert created.status_code == 201, created.text
    assert created.json()["qc"] == {
        "auto_approve": False,
        "return_deadline_hours": 48,
        "thresholds": {},
    }
