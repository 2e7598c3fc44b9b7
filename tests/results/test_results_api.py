"""The results API over materialised approved visits, with hand-computed figures.

Visits of tests/results/conftest.py's journey, scored by hand:

| visit | greeted friendly price_ok quick | entry | till | visit (raw) | basis ease emotion |
| --- | --- | --- | --- | --- | --- |
| GOOD | yes 5 yes yes | 100 | 100 | 100 | 100 100 100 |
| POOR | no 3 yes no | 25 | 50 | (25 + 2·50)/3 = 41.67 | 66.67 0 50 |
| KNOCKED | yes 1 no yes | 50 | 50 | 0 (raw 50) | 33.33 100 0 |
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from api.results.models import PhaseResult, StepResult, VisitResult
from tests.helpers import login
from tests.results.conftest import API, Answers, Results, checkin_day

GOOD = Answers()
POOR = Answers(
    greeted="no",
    friendly=3,
    quick="no",
    entry_valence=0,
    till_valence=-3,
    entry_probe=-1,
    till_probe=-1,
)
KNOCKED = Answers(friendly=1, price_ok="no", entry_valence=-3, till_valence=-3, entry_probe=0)

ENDPOINTS = ("summary", "phases", "steps", "locations", "regions", "trend", "pain-points", "gaps")


def snapshot(results: Results) -> dict[str, Any]:
    return {endpoint: results.get(endpoint) for endpoint in ENDPOINTS}


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-6)


def test_summary_of_two_approved_visits(results: Results) -> None:
    results.approved_visit(GOOD)
    results.approved_visit(POOR)
    summary = results.get("summary")
    assert summary["visits"] == 2
    assert summary["mean_score"] == approx((100 + 125 / 3) / 2)  # 70.83
    assert summary["mean_raw_score"] == approx((100 + 125 / 3) / 2)
    assert summary["pass_mark"] == 70
    assert summary["pass_rate"] == approx(0.5)  # 100 passes, 41.67 does not
    assert summary["knockout_pass_rate"] == approx(1.0)
    levels = summary["levels"]
    assert levels["basis"] == approx((100 + 200 / 3) / 2)  # 83.33
    assert levels["ease"] == approx(50)
    assert levels["emotion"] == approx(75)
    assert levels["focus"] == "ease"  # the lowest level below 70, basis being above it


def test_knocked_out_visit_counts_zero_and_fails_the_knockout_rate(results: Results) -> None:
    for answers in (GOOD, POOR, KNOCKED):
        results.approved_visit(answers)
    summary = results.get("summary")
    assert summary["visits"] == 3
    assert summary["mean_score"] == approx((100 + 125 / 3 + 0) / 3)
    assert summary["mean_raw_score"] == approx((100 + 125 / 3 + 50) / 3)
    assert summary["pass_rate"] == approx(1 / 3)
    assert summary["knockout_pass_rate"] == approx(2 / 3)
    assert summary["levels"]["basis"] == approx((100 + 200 / 3 + 100 / 3) / 3)  # 66.67
    assert summary["levels"]["focus"] == "basis"


def test_phases_and_steps_with_the_emotion_curve(results: Results) -> None:
    results.approved_visit(GOOD)
    results.approved_visit(POOR)
    phases = results.get("phases")
    assert [(p["phase_key"], p["name"], p["visits"]) for p in phases] == [
        ("arrival", "Arrival", 2),
        ("pay", "Pay", 2),
    ]
    assert [p["mean_score"] for p in phases] == [approx(62.5), approx(75)]
    steps = results.get("steps")
    assert [(s["step_key"], s["phase_key"], s["name"]) for s in steps] == [
        ("entry", "arrival", "Entry"),
        ("till", "pay", "Till"),
    ]
    entry, till = steps
    assert entry["mean_score"] == approx(62.5)  # (100 + 25) / 2
    assert till["mean_score"] == approx(75)  # (100 + 50) / 2
    # Conscious valence / 3: entry (3 + 0) / 3 / 2; implicit: one probe each, +1 and −1.
    assert entry["conscious"] == approx(0.5)
    assert entry["implicit"] == approx(0.0)
    assert entry["gap"] == approx(((1 - 1) + (-1 - 0)) / 2)
    assert till["conscious"] == approx(0.0)
    assert till["implicit"] == approx(0.0)
    assert (entry["probes_valid"], entry["probes_excluded"]) == (2, 0)


def test_pain_points_by_score_and_by_emotion(results: Results) -> None:
    results.approved_visit(GOOD)
    results.approved_visit(POOR)
    by_score = results.get("pain-points")
    assert [(p["rank"], p["step_key"]) for p in by_score] == [(1, "entry"), (2, "till")]
    # entry: (0.5 + 0) / 2 = 0.25; till: (0 + 0) / 2 = 0
    by_emotion = results.get("pain-points", by="emotion", limit=1)
    assert [(p["step_key"], p["emotion"]) for p in by_emotion] == [("till", approx(0.0))]


def test_gaps_to_the_step_targets_ranked_by_impact(results: Results) -> None:
    results.approved_visit(GOOD)
    results.approved_visit(POOR)
    gaps = results.get("gaps")  # targets: entry 80, till 60
    assert [g["step_key"] for g in gaps] == ["entry", "till"]
    entry, till = gaps
    assert (entry["target"], entry["mean_score"], entry["visits"]) == (80, approx(62.5), 2)
    assert entry["gap"] == approx(17.5)
    assert entry["share_short"] == approx(0.5)  # 25 < 80
    assert entry["impact"] == approx(17.5 * 1 * 0.5)
    assert till["gap"] == approx(-15)
    assert till["weight"] == approx(2)
    assert till["impact"] == approx(-15 * 2 * 0.5)  # 50 < 60


def test_gaps_follow_a_change_of_targets_and_agree_with_the_per_visit_rows(
    results: Results,
) -> None:
    results.approved_visit(GOOD)
    results.approved_visit(POOR)
    changed = results.client.patch(
        f"{API}/projects/{results.project_id}",
        json={"targets": {"entry": 20.0, "till": 90.0}},
        headers=results.manager,
    )
    assert changed.status_code == 200, changed.text

    gaps = {g["step_key"]: g for g in results.get("gaps")}
    # entry scores 100 and 25: neither is below 20; till scores 50 and 100: one is below 90.
    assert (gaps["entry"]["share_short"], gaps["till"]["share_short"]) == (0, 0.5)
    assert gaps["till"]["impact"] == approx((90 - 75) * 2 * 0.5)
    # The same figures from the per-visit rows (a location filter reads those).
    by_location = results.get("gaps", location_id=results.world.ids["Alpha/loc0"])
    assert by_location == results.get("gaps")


def test_locations_regions_and_filters(results: Results) -> None:
    results.approved_visit(GOOD, location="Alpha/loc0", wave="Spring")
    results.approved_visit(POOR, location="Alpha/loc1", wave="Autumn")
    results.approved_visit(KNOCKED, location="Alpha/web", wave="Autumn")
    ids = results.world.ids

    ranking = results.get("locations")
    assert [(r["rank"], r["location_id"], r["visits"]) for r in ranking["items"]] == [
        (1, ids["Alpha/loc0"], 1),
        (2, ids["Alpha/loc1"], 1),
        (3, ids["Alpha/web"], 1),
    ]
    assert ranking["items"][2]["channel"] == "online"
    first = results.get("locations", limit=2)
    assert [r["rank"] for r in first["items"]] == [1, 2]
    rest = results.get("locations", limit=2, cursor=first["next_cursor"])
    assert [(r["rank"], r["location_id"]) for r in rest["items"]] == [(3, ids["Alpha/web"])]
    assert rest["next_cursor"] is None

    regions = results.get("regions")
    assert [(r["region"], r["locations"], r["visits"]) for r in regions] == [
        ("north", 2, 2),
        ("south", 1, 1),
    ]
    assert regions[0]["mean_score"] == approx((100 + 125 / 3) / 2)

    def visits(**params: Any) -> int:
        count: int = results.get("summary", **params)["visits"]
        return count

    today = checkin_day()
    assert visits() == 3
    assert visits(region="north") == 2
    assert visits(channel="online") == 1
    assert visits(channel="physical") == 2
    assert visits(location_id=ids["Alpha/loc1"]) == 1
    assert visits(wave_id=ids["Autumn"]) == 2
    assert visits(date_from=today.isoformat(), date_to=today.isoformat()) == 3
    assert visits(date_from=(today + timedelta(days=1)).isoformat()) == 0
    assert visits(date_to=(today - timedelta(days=1)).isoformat()) == 0
    steps = results.get("steps", region="south")
    assert [(s["step_key"], s["visits"], s["mean_score"]) for s in steps] == [
        ("entry", 1, approx(50)),
        ("till", 1, approx(50)),
    ]
    assert results.get("phases", wave_id=ids["Spring"])[0]["mean_score"] == approx(100)
    # A location filter reads the per-visit rows rather than the day cells: the same figures.
    at_web = results.get("steps", location_id=ids["Alpha/web"])
    assert [(s["step_key"], s["visits"], s["mean_score"]) for s in at_web] == [
        (s["step_key"], s["visits"], s["mean_score"]) for s in steps
    ]
    assert at_web == steps
    assert results.get("phases", location_id=ids["Alpha/web"]) == results.get(
        "phases", channel="online"
    )
    assert results.get("gaps", channel="online")[0]["visits"] == 1

    by_wave = results.get("trend")
    assert [(p["wave_name"], p["visits"]) for p in by_wave] == [("Spring", 1), ("Autumn", 2)]
    assert by_wave[1]["mean_score"] == approx(125 / 3 / 2)
    by_week = results.get("trend", by="week")
    year, week, _ = today.isocalendar()
    assert [(p["week"], p["visits"]) for p in by_week] == [(f"{year}-W{week:02d}", 3)]
    assert by_week[0]["starts_on"] == (today - timedelta(days=today.weekday())).isoformat()


def test_results_change_exactly_when_a_visit_is_approved_rejected_or_revoked(
    results: Results,
) -> None:
    empty = snapshot(results)
    assert empty["summary"]["visits"] == 0
    assert empty["summary"]["mean_score"] is None
    assert empty["steps"] == empty["gaps"] == empty["locations"]["items"] == []

    submitted = results.submitted_visit(GOOD)
    assert snapshot(results) == empty  # submitted is not approved

    results.approve(results.submitted_visit(POOR))
    one = snapshot(results)
    assert one["summary"]["visits"] == 1
    assert one["summary"]["mean_score"] == approx(125 / 3)

    results.reject(submitted)
    assert snapshot(results) == one  # a rejection changes nothing

    second = results.approved_visit(GOOD)
    two = snapshot(results)
    assert two["summary"]["visits"] == 2
    results.revoke(second)
    assert snapshot(results) == one  # back to exactly before
    with results.db.session() as session:
        for table in (VisitResult, StepResult, PhaseResult):
            rows = session.exec(
                select(func.count()).select_from(table).where(table.visit_id == second)
            ).one()
            assert rows == 0, table


def test_materialising_twice_keeps_one_set_of_rows(results: Results) -> None:
    from api.results.materialise import materialise_visit

    visit_id = results.approved_visit(GOOD)
    before = snapshot(results)
    with results.db.session() as session:
        materialise_visit(session, visit_id=visit_id)
    assert snapshot(results) == before


def test_only_an_approved_visit_can_be_materialised(results: Results) -> None:
    from api.errors import Conflict
    from api.results.materialise import materialise_visit

    visit_id = results.submitted_visit(GOOD)
    with pytest.raises(Conflict), results.db.session() as session:
        materialise_visit(session, visit_id=visit_id)


def test_client_of_the_project_reads_others_are_refused(results: Results) -> None:
    results.approved_visit(GOOD)
    acme = login(results.client, "acme-viewer")
    assert results.get("summary", headers=acme)["visits"] == 1
    base = f"/api/v1/projects/{results.project_id}/results"
    for username, status in (("bolt-viewer", 404), ("mgr-b", 404), ("shopper-1", 403)):
        headers = login(results.client, username)
        for endpoint in ENDPOINTS:
            response = results.client.get(f"{base}/{endpoint}", headers=headers)
            assert response.status_code == status, (username, endpoint, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    assert results.client.get(f"{base}/summary").status_code == 401


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_no_shopper_identity_in_any_client_response(results: Results) -> None:
    results.approved_visit(GOOD, wave="Spring")
    results.approved_visit(POOR, location="Alpha/web")
    acme = login(results.client, "acme-viewer")
    variants = {"trend": ({"by": "wave"}, {"by": "week"}), "pain-points": ({"by": "emotion"},)}
    for endpoint in ENDPOINTS:
        for params in ({}, *variants.get(endpoint, ())):
            response = results.client.get(
                f"/api/v1/projects/{results.project_id}/results/{endpoint}",
                params=params,
                headers=acme,
            )
            assert response.status_code == 200, response.text
            assert "shopper" not in response.text
            keys = _keys(response.json())
            assert keys.isdisjoint({"shopper_id", "username", "full_name", "email", "visit_id"})


def test_bad_filters_and_cursors_are_refused(results: Results) -> None:
    base = f"/api/v1/projects/{results.project_id}/results"
    for endpoint, params in (
        ("summary", {"channel": "carrier-pigeon"}),
        ("summary", {"date_from": "yesterday"}),
        ("trend", {"by": "month"}),
        ("pain-points", {"limit": 0}),
        ("locations", {"cursor": "bm9wZQ"}),
    ):
        response = results.client.get(f"{base}/{endpoint}", params=params, headers=results.manager)
        assert response.status_code in (400, 422), (endpoint, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
