"""Action plans: made from a gap or pain point, re-check dates, due-for-re-check list, impact."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from api.audit.models import AuditEntry
from tests.cxmap.conftest import LATE_DONE_ON, QUEUE_FIXED_ON, CxWorld
from tests.helpers import login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _create(cx: CxWorld, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    payload = {
        "title": "Open a second till at rush hour",
        "source": {"kind": "pain_point", "step_keys": ["queue"]},
        "owner": "Store manager",
    } | body
    response = cx.send("POST", f"/projects/{cx.project_id}/action-plans", payload, headers)
    assert response.status_code == 201, response.text
    return response.json()


def _patch(cx: CxWorld, plan_id: int, body: dict[str, Any], status: int = 200) -> Any:
    response = cx.send("PATCH", f"/action-plans/{plan_id}", body)
    assert response.status_code == status, response.text
    return response.json()


def test_plan_from_a_pain_point_keeps_its_baseline_and_defaults_recheck_to_six_months(
    cx: CxWorld,
) -> None:
    plan = _create(cx, due_on=str(date.today() + timedelta(days=30)))
    assert plan["status"] == "open"
    assert plan["source_kind"] == "pain_point"
    assert plan["step_keys"] == ["queue"]
    assert plan["recheck_on"] == str(date.today() + timedelta(days=182))
    assert plan["due_for_recheck"] is False
    baseline = plan["baseline"]["steps"]["queue"]
    assert baseline["visits"] == 40
    assert baseline["pain_reasons"] == ["score"]
    assert baseline["score"] == pytest.approx(statistics.mean(cx.data.step_scores("queue")))


def test_plan_from_a_gap_needs_a_target_for_each_step(cx: CxWorld) -> None:
    gap = {"kind": "gap", "step_keys": ["queue"]}
    refused = cx.send(
        "POST", f"/projects/{cx.project_id}/action-plans", {"title": "Faster", "source": gap}
    )
    assert refused.status_code == 422, refused.text
    assert "no target" in refused.json()["errors"][0]["message"]
    cx.send("PUT", f"/projects/{cx.project_id}/desired-journey", {"step_targets": {"queue": 70}})
    plan = _create(cx, source=gap)
    assert plan["baseline"]["steps"]["queue"]["desired"] == 70
    assert plan["baseline"]["desired_journey_version"] == 1


def test_unknown_step_is_refused(cx: CxWorld) -> None:
    response = cx.send(
        "POST",
        f"/projects/{cx.project_id}/action-plans",
        {"title": "x", "source": {"kind": "manual", "step_keys": ["nowhere"]}},
    )
    assert response.status_code == 422
    assert "nowhere" in response.json()["detail"]


def test_completion_moves_the_recheck_date_unless_it_was_set(cx: CxWorld) -> None:
    plan = _create(cx)
    done = _patch(cx, plan["id"], {"status": "done", "completed_on": "2026-01-10"})
    assert (done["status"], done["completed_on"]) == ("done", "2026-01-10")
    assert done["recheck_on"] == str(date(2026, 1, 10) + timedelta(days=182))
    reopened = _patch(cx, plan["id"], {"status": "in_progress"})
    assert reopened["completed_on"] is None
    fixed = _create(cx, recheck_on="2030-01-01")
    done = _patch(cx, fixed["id"], {"status": "done"})
    assert done["completed_on"] == str(date.today())
    assert done["recheck_on"] == "2030-01-01"


def test_status_changes_follow_the_allowed_transitions(cx: CxWorld) -> None:
    plan = _create(cx)
    _patch(cx, plan["id"], {"status": "dropped"})
    refused = cx.send("PATCH", f"/action-plans/{plan['id']}", {"status": "done"})
    assert refused.status_code == 409
    assert refused.json()["allowed"] == ["open"]
    wrong = cx.send("PATCH", f"/action-plans/{plan['id']}", {"completed_on": "2026-01-01"})
    assert wrong.status_code == 422


def test_due_for_recheck_lists_plans_whose_date_passed_until_rechecked(cx: CxWorld) -> None:
    past = _create(cx, title="Old action", recheck_on=str(date.today() - timedelta(days=1)))
    _create(cx, title="Fresh action")
    dropped = _create(cx, title="Given up", recheck_on=str(date.today() - timedelta(days=3)))
    _patch(cx, dropped["id"], {"status": "dropped"})
    path = f"/projects/{cx.project_id}/action-plans"
    due = cx.get(path, due_for_recheck="true")["items"]
    assert [plan["title"] for plan in due] == ["Old action"]
    assert due[0]["due_for_recheck"] is True
    not_due = cx.get(path, due_for_recheck="false")["items"]
    assert [plan["title"] for plan in not_due] == ["Fresh action", "Given up"]
    _patch(cx, past["id"], {"rechecked_on": str(date.today())})
    assert cx.get(path, due_for_recheck="true")["items"] == []
    assert len(cx.get(path, limit=2)["items"]) == 2


def test_impact_shows_the_queue_improving_after_the_completion_day(cx: CxWorld) -> None:
    plan = _create(cx)
    _patch(cx, plan["id"], {"status": "done", "completed_on": str(QUEUE_FIXED_ON)})
    impact = cx.get(f"/action-plans/{plan['id']}/impact")
    queue = cx.data.step_scores("queue")
    before = [x for x, day in zip(queue, cx.data.days, strict=True) if day < QUEUE_FIXED_ON]
    after = [x for x, day in zip(queue, cx.data.days, strict=True) if day >= QUEUE_FIXED_ON]
    (step,) = impact["steps"]
    assert step["step_key"] == "queue"
    assert (step["before"]["visits"], step["after"]["visits"]) == (25, 15)
    assert step["before"]["mean_score"] == pytest.approx(statistics.mean(before))
    assert step["after"]["mean_score"] == pytest.approx(statistics.mean(after))
    assert step["before"]["sd"] == pytest.approx(statistics.stdev(before))
    assert step["change"] == pytest.approx(statistics.mean(after) - statistics.mean(before))
    welch = (
        step["change"] / (statistics.variance(before) / 25 + statistics.variance(after) / 15) ** 0.5
    )
    assert step["t"] == pytest.approx(welch)
    assert step["verdict"] == "improved"
    assert step["note"] is None


def test_impact_says_when_too_few_visits_exist_to_tell(cx: CxWorld) -> None:
    plan = _create(cx, source={"kind": "manual", "step_keys": ["farewell", "pay"]})
    _patch(cx, plan["id"], {"status": "done", "completed_on": str(LATE_DONE_ON)})
    impact = cx.get(f"/action-plans/{plan['id']}/impact")
    for step in impact["steps"]:
        assert (step["before"]["visits"], step["after"]["visits"]) == (37, 3)
        assert step["verdict"] == "too_few_visits"
        assert "3 visits after" in step["note"]
    farewell = impact["steps"][0]
    assert farewell["change"] == pytest.approx(0.0)


def test_impact_of_an_unfinished_plan_counts_everything_as_before(cx: CxWorld) -> None:
    plan = _create(cx)
    impact = cx.get(f"/action-plans/{plan['id']}/impact")
    assert impact["completed_on"] is None and "not done" in impact["note"]
    (step,) = impact["steps"]
    assert (step["before"]["visits"], step["after"]["visits"]) == (40, 0)
    assert step["verdict"] == "too_few_visits"


def test_impact_honours_result_filters(cx: CxWorld) -> None:
    plan = _create(cx)
    _patch(cx, plan["id"], {"status": "done", "completed_on": str(QUEUE_FIXED_ON)})
    parent = cx.personas["Busy parent"]
    (step,) = cx.get(f"/action-plans/{plan['id']}/impact", persona_id=parent)["steps"]
    assert step["before"]["visits"] + step["after"]["visits"] == 20


def test_client_user_writes_plans_and_every_change_is_audited(cx: CxWorld) -> None:
    plan = _create(cx, headers=cx.viewer)
    response = cx.send(
        "PATCH", f"/action-plans/{plan['id']}", {"owner": "Regional lead"}, cx.viewer
    )
    assert response.status_code == 200, response.text
    with cx.db.session(read_only=True) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity == "action_plan", AuditEntry.entity_id == plan["id"])
            .order_by(col(AuditEntry.id))
        ).all()
    assert [entry.action for entry in entries] == ["created", "updated"]
    assert entries[1].actor_id == cx.world.ids["acme-viewer"]
    assert entries[1].data == {"owner": {"before": "Store manager", "after": "Regional lead"}}
    other = login(cx.client, "bolt-viewer")
    hidden = cx.send("PATCH", f"/action-plans/{plan['id']}", {"owner": "me"}, other)
    assert hidden.status_code == 404
