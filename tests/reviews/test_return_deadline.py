"""A reviewer may set the resubmission deadline of a return; it must lie in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.qc.conftest import Visits


def test_return_keeps_the_reviewers_deadline(visits: Visits) -> None:
    visit = visits.submitted()
    deadline = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    response = visits.client.post(
        f"/api/v1/visits/{visit['id']}/review",
        json={
            "action": "return",
            "comment": "Retake the photo.",
            "resubmit_by": deadline.isoformat(),
        },
        headers=visits.manager,
    )
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["resubmit_by"]) == deadline
    notice = visits.client.get(f"/api/v1/visits/{visit['id']}/return", headers=visits.shopper)
    assert datetime.fromisoformat(notice.json()["resubmit_by"]) == deadline


def test_return_refuses_a_deadline_in_the_past_and_changes_nothing(visits: Visits) -> None:
    visit = visits.submitted()
    past = datetime.now(UTC) - timedelta(hours=1)
    response = visits.client.post(
        f"/api/v1/visits/{visit['id']}/review",
        json={"action": "return", "comment": "Retake the photo.", "resubmit_by": past.isoformat()},
        headers=visits.manager,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "resubmit_by"
    assert visits.review(visit["id"])["visit"]["status"] == "submitted"


def test_deadline_goes_with_a_return_only(visits: Visits) -> None:
    visit = visits.submitted()
    later = datetime.now(UTC) + timedelta(days=1)
    response = visits.client.post(
        f"/api/v1/visits/{visit['id']}/review",
        json={"action": "approve", "resubmit_by": later.isoformat()},
        headers=visits.manager,
    )
    assert response.status_code == 422, response.text
