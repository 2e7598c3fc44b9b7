"""``appeal.changed`` over a real server: one per filing and per decision, to the project's staff
and client users and to nobody else, and nothing for a refused filing or decision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.events.conftest import Live, Stream
from tests.events.test_stream import STAFF_ONLY


def only_appeal_change(stream: Stream, live: Live, appeal: dict[str, Any], status: str) -> None:
    """The stream's next events are exactly one ``appeal.changed`` about ``appeal``."""
    [event] = stream.drain(quiet=0.7)
    assert event.type == "appeal.changed"
    assert event.data == {
        "id": event.id,
        "type": "appeal.changed",
        "project_id": live.project_id,
        "visit_id": appeal["visit_id"],
        "appeal_id": appeal["id"],
        "appeal_status": status,
        "at": event.data["at"],
    }


def test_filing_an_appeal_sends_one_appeal_changed_to_staff_and_client(live: Live) -> None:
    visit_id = live.approved_visit()
    with live.stream("mgr-a") as staff, live.stream("acme-viewer") as client:
        appeal = live.file_appeal(visit_id)
        only_appeal_change(staff, live, appeal, "open")
        only_appeal_change(client, live, appeal, "open")
    assert appeal["visit_id"] == visit_id
    assert staff.seen[0].id == client.seen[0].id  # one event, whoever reads it


def test_dismissing_an_appeal_sends_one_appeal_changed(live: Live) -> None:
    appeal = live.file_appeal(live.approved_visit())
    with live.stream("mgr-a") as staff, live.stream("acme-viewer") as client:
        live.decide_appeal(appeal["id"])
        only_appeal_change(staff, live, appeal, "dismissed")
        only_appeal_change(client, live, appeal, "dismissed")


def test_amending_sends_results_changed_then_appeal_changed(live: Live) -> None:
    visit_id = live.approved_visit()
    appeal = live.file_appeal(visit_id)
    with live.stream("mgr-a") as staff, live.stream("acme-viewer") as client:
        decided = live.decide_appeal(
            appeal["id"],
            outcome="upheld",
            comment="Nobody greeted, the camera shows.",
            action="amend",
            amendments={"entrance": {"greeted": "no"}},
        )
        assert (decided["score_before"], decided["score_after"]) == (100.0, 0.0)
        for stream in (staff, client):
            events = stream.drain(quiet=0.7)
            assert [e.type for e in events] == ["results.changed", "appeal.changed"]
            assert events[1].data["appeal_status"] == "upheld"
            assert {e.data["visit_id"] for e in events} == {visit_id}


def test_voiding_sends_the_revocation_and_appeal_changed(live: Live) -> None:
    visit_id = live.approved_visit()
    appeal = live.file_appeal(visit_id)
    with live.stream("acme-viewer") as client, live.stream("mgr-a") as staff:
        live.decide_appeal(appeal["id"], outcome="upheld", comment="Closed.", action="void")
        events = client.drain(quiet=0.7)
        staff_events = staff.drain(quiet=0.1)
    # The client hears of the revocation, not of the rejection that follows it.
    assert [e.type for e in events] == ["visit.revoked", "results.changed", "appeal.changed"]
    assert [e.type for e in staff_events] == [
        "assignment.changed",
        "visit.revoked",
        "results.changed",
        "assignment.changed",
        "visit.rejected",
        "appeal.changed",
    ]
    assert events[-1].data["appeal_status"] == "upheld"
    assert not {e.type for e in events} & STAFF_ONLY


def test_another_clients_users_never_receive_appeal_events(live: Live) -> None:
    visit_id = live.approved_visit()
    with (
        live.stream("acme-viewer") as own,
        live.stream("bolt-viewer", project="Beta") as other,
        live.stream("mgr-b", project="Beta") as other_staff,
    ):
        appeal = live.file_appeal(visit_id)
        live.decide_appeal(appeal["id"])
        own.wait_for("appeal.changed", appeal_id=appeal["id"], appeal_status="dismissed")
        assert other.drain(quiet=0.5) == [] and other_staff.drain(quiet=0.1) == []
    # Nor can they follow the project, nor file against its visits (404, as if it did not exist).
    live.file_appeal(visit_id, as_="bolt-viewer", expect=404)


@pytest.mark.parametrize("refusal", ["second filing", "second decision", "not a manager"])
def test_refused_filing_or_decision_sends_nothing(live: Live, refusal: str) -> None:
    visit_id = live.approved_visit()
    appeal = live.file_appeal(visit_id)
    if refusal == "second decision":
        live.decide_appeal(appeal["id"])
    with live.stream("mgr-a") as staff:
        if refusal == "second filing":
            live.file_appeal(visit_id, expect=409)
        elif refusal == "second decision":
            live.decide_appeal(appeal["id"], expect=409)
        else:
            live.decide_appeal(appeal["id"], as_="mgr-b", expect=404)
        assert staff.drain(quiet=0.7) == []
