"""Project progress (assignments by stage per wave and region) and shopper load against the caps."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import col, select

from api.assignments.models import Assignment, AssignmentStatus
from api.db import Database
from tests.helpers import World, login, standard_world, window

S = AssignmentStatus
TODAY = date.today()
LOOSE = {
    "max_open_per_shopper": 50,
    "max_visits_per_shopper_per_day": 50,
    "max_visits_per_shopper_per_period": 50,
    "max_visits_per_location_per_day": 50,
    "location_lockout_days": 0,
}


@pytest.fixture
def world(db: Database) -> World:
    return standard_world(db)


def _post(client: TestClient, path: str, body: dict[str, Any], user: str = "mgr-a") -> Any:
    response = client.post(f"/api/v1{path}", json=body, headers=login(client, user))
    assert response.status_code in (200, 201), response.text
    return response.json()


def _bulk(client: TestClient, world: World, rows: list[dict[str, Any]]) -> list[int]:
    result = _post(client, f"/projects/{world.ids['Alpha']}/assignments/bulk", {"items": rows})
    assert result["refused"] == 0, result
    return [row["assignment_id"] for row in result["rows"]]


def _set_status(db: Database, ids: list[int], status: AssignmentStatus) -> None:
    """Seeds a state the way the lifecycle would have left it (visits are not needed to count)."""
    with db.session() as session:
        for row in session.exec(select(Assignment).where(col(Assignment.id).in_(ids))):
            row.status = status
            session.add(row)


def _progress(client: TestClient, world: World, user: str = "mgr-a") -> Any:
    response = client.get(
        f"/api/v1/projects/{world.ids['Alpha']}/progress", headers=login(client, user)
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_progress_counts_each_state_in_its_stage_per_wave_and_region(
    client: TestClient, db: Database, world: World
) -> None:
    world.set_caps("Alpha", **LOOSE)
    alpha = world.ids["Alpha"]
    w1 = _post(
        client,
        f"/projects/{alpha}/waves",
        {"name": "W1", "starts_on": str(TODAY), "ends_on": str(TODAY + timedelta(days=30))},
    )
    _post(
        client,
        f"/projects/{alpha}/waves",
        {
            "name": "W2",
            "starts_on": str(TODAY + timedelta(days=31)),
            "ends_on": str(TODAY + timedelta(days=60)),
        },
    )
    south = _post(
        client,
        f"/projects/{alpha}/locations",
        {"code": "S-1", "name": "South", "region": "south", "latitude": 51.0, "longitude": 4.0},
    )
    north = world.ids["Alpha/loc0"]
    s1, s2 = world.ids["shopper-1"], world.ids["shopper-2"]

    def row(location: int, shopper: int | None, wave: int | None, day: int) -> dict[str, Any]:
        return {
            "location_id": location,
            "shopper_id": shopper,
            "wave_id": wave,
            **window(TODAY + timedelta(days=day), days=1),
        }

    w1_north = _bulk(client, world, [row(north, s1, w1["id"], d) for d in range(1, 10)])
    w1_south = _bulk(client, world, [row(south["id"], s2, w1["id"], d) for d in range(1, 4)])
    job_board = _bulk(client, world, [row(south["id"], None, w1["id"], 5)])
    no_wave = _bulk(client, world, [row(north, s2, None, 40), row(north, s2, None, 41)])

    # W1/north: one in every state but open; W1/south: offered, approved, returned; no wave: 2.
    states = (S.offered, S.accepted, S.in_progress, S.submitted, S.approved, S.rejected)
    for assignment_id, status in zip(
        w1_north, (*states, S.expired, S.declined, S.cancelled), strict=True
    ):
        _set_status(db, [assignment_id], status)
    _set_status(db, w1_south[1:2], S.approved)
    _set_status(db, w1_south[2:3], S.returned)
    _set_status(db, no_wave[:1], S.submitted)
    assert job_board

    progress = _progress(client, world)
    totals = progress["totals"]
    assert {k: totals[k] for k in ("planned", "open", "assigned", "in_field", "returned")} == {
        # 15 assignments less one expired, one declined and one cancelled
        "planned": 12,
        "open": 1,
        "assigned": 4,  # north offered + accepted, south offered, no-wave offered
        "in_field": 1,
        "returned": 1,
    }
    assert {k: totals[k] for k in ("submitted", "approved", "rejected", "total")} == {
        "submitted": 2,
        "approved": 2,
        "rejected": 1,
        "total": 15,
    }
    assert (totals["expired"], totals["declined"], totals["cancelled"]) == (1, 1, 1)
    assert totals["by_status"]["offered"] == 3 and totals["by_status"]["accepted"] == 1

    waves = {w["name"]: w["counts"] for w in progress["waves"]}
    assert list(waves) == ["W1", "W2", None]
    assert (waves["W1"]["planned"], waves["W1"]["total"]) == (10, 13)
    assert waves["W2"]["total"] == 0
    assert (waves[None]["submitted"], waves[None]["assigned"]) == (1, 1)

    regions = {r["region"]: r["counts"] for r in progress["regions"]}
    assert (regions["north"]["total"], regions["south"]["total"]) == (11, 4)
    assert (regions["south"]["open"], regions["south"]["approved"]) == (1, 1)

    cells = {(c["wave_id"], c["region"]): c["counts"]["total"] for c in progress["cells"]}
    assert cells == {(w1["id"], "north"): 9, (w1["id"], "south"): 4, (None, "north"): 2}
    assert progress["targets"] == {}


def test_progress_includes_the_project_targets(client: TestClient, world: World) -> None:
    response = client.patch(
        f"/api/v1/projects/{world.ids['Alpha']}",
        json={"targets": {"entrance": 80}},
        headers=login(client, "mgr-a"),
    )
    assert response.status_code == 200, response.text
    progress = _progress(client, world)
    assert progress["targets"] == {"entrance": 80.0}
    assert progress["totals"]["planned"] == 0 and progress["waves"] == []


@pytest.mark.parametrize(("user", "status"), [("mgr-b", 404), ("acme-viewer", 403)])
def test_progress_is_for_the_projects_staff_only(
    client: TestClient, world: World, user: str, status: int
) -> None:
    response = client.get(
        f"/api/v1/projects/{world.ids['Alpha']}/progress", headers=login(client, user)
    )
    assert response.status_code == status


def test_shopper_load_counts_open_and_period_assignments_like_the_caps(
    client: TestClient, db: Database, world: World
) -> None:
    world.set_caps("Alpha", max_open_per_shopper=3, location_lockout_days=0, period="month")
    s1 = world.ids["shopper-1"]
    days = [TODAY + timedelta(days=1 + i) for i in range(4)]
    day = days[0]
    ids = _bulk(
        client,
        world,
        [
            {"location_id": world.ids[f"Alpha/loc{i}"], "shopper_id": s1, **window(days[i])}
            for i in range(3)
        ],
    )
    _set_status(db, ids[:1], S.submitted)  # no longer open, still counts on the period
    _post(
        client,
        f"/projects/{world.ids['Beta']}/assignments",
        {"location_id": world.ids["Beta/loc0"], "shopper_id": s1, **window(day)},
        user="mgr-b",
    )
    response = client.get(
        f"/api/v1/projects/{world.ids['Alpha']}/shopper-load?limit=2",
        headers=login(client, "mgr-a"),
    )
    assert response.status_code == 200, response.text
    page = response.json()
    load = {row["username"]: row for row in page["items"]}
    assert list(load) == ["shopper-1", "shopper-2"] and page["next_cursor"]
    one = load["shopper-1"]
    assert (one["open_assignments"], one["max_open"], one["at_cap"]) == (2, 3, False)
    assert one["visits_in_period"] == sum(d.month == TODAY.month for d in days[:3])
    assert one["period"] == f"month {TODAY.year}-{TODAY.month:02d}"
    assert load["shopper-2"]["open_assignments"] == 0

    _bulk(
        client,
        world,
        [{"location_id": world.ids["Alpha/loc0"], "shopper_id": s1, **window(days[3])}],
    )
    rest = client.get(
        f"/api/v1/projects/{world.ids['Alpha']}/shopper-load?q=shopper-1",
        headers=login(client, "mgr-a"),
    ).json()["items"]
    assert [(r["open_assignments"], r["at_cap"]) for r in rest] == [(3, True)]
    refused = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json={"location_id": world.ids["Alpha/loc1"], "shopper_id": s1, **window(days[3])},
        headers=login(client, "mgr-a"),
    )
    assert refused.status_code == 409, refused.text
    assert "max_open_per_shopper" in refused.text


# ---------------------------------------------------------------- every project's progress at once


def _all_progress(client: TestClient, user: str, **params: Any) -> Any:
    response = client.get("/api/v1/projects/progress", params=params, headers=login(client, user))
    assert response.status_code == 200, response.text
    return response.json()


def _seed_three_projects(client: TestClient, db: Database, world: World) -> dict[str, list[int]]:
    """Alpha (mgr-a): five assignments, two approved; Beta (mgr-b): one submitted; Gamma
    (client Cyan, mgr-c): none, and closed."""
    world.set_caps("Alpha", **LOOSE)
    world.project("Gamma", client="Cyan", manager="mgr-c")
    alpha = _bulk(
        client,
        world,
        [
            {
                "location_id": world.ids["Alpha/loc0"],
                "shopper_id": world.ids["shopper-1"],
                **window(TODAY + timedelta(days=day), days=1),
            }
            for day in range(1, 6)
        ],
    )
    _set_status(db, alpha[:2], S.approved)
    beta = _post(
        client,
        f"/projects/{world.ids['Beta']}/assignments",
        {
            "location_id": world.ids["Beta/loc0"],
            "shopper_id": world.ids["shopper-2"],
            **window(TODAY + timedelta(days=2)),
        },
        user="mgr-b",
    )
    _set_status(db, [beta["id"]], S.submitted)
    closed = client.patch(
        f"/api/v1/projects/{world.ids['Gamma']}",
        json={"status": "closed"},
        headers=login(client, "admin"),
    )
    assert closed.status_code == 200, closed.text
    return {"Alpha": alpha, "Beta": [beta["id"]]}


def test_projects_progress_gives_each_visible_projects_progress_in_one_answer(
    client: TestClient, db: Database, world: World
) -> None:
    _seed_three_projects(client, db, world)
    page = _all_progress(client, "admin")
    assert page["next_cursor"] is None
    names = ["Alpha", "Beta", "Gamma"]
    assert [item["project_id"] for item in page["items"]] == [world.ids[n] for n in names]
    for name, item in zip(names, page["items"], strict=True):
        alone = client.get(
            f"/api/v1/projects/{world.ids[name]}/progress", headers=login(client, "admin")
        ).json()
        assert {k: v for k, v in item.items() if k not in ("name", "status", "client_id")} == alone
        assert item["name"] == name
    alpha, beta, gamma = page["items"]
    assert (alpha["totals"]["total"], alpha["totals"]["approved"]) == (5, 2)
    assert (alpha["client_id"], alpha["status"]) == (world.ids["Acme"], "active")
    assert (beta["totals"]["total"], beta["totals"]["submitted"]) == (1, 1)
    assert beta["regions"][0]["counts"]["submitted"] == 1
    assert (gamma["totals"]["total"], gamma["status"]) == (0, "closed")


@pytest.mark.parametrize(
    ("user", "projects"), [("mgr-a", ["Alpha"]), ("mgr-b", ["Beta"]), ("mgr-c", ["Gamma"])]
)
def test_projects_progress_shows_a_manager_only_their_projects(
    client: TestClient, db: Database, world: World, user: str, projects: list[str]
) -> None:
    _seed_three_projects(client, db, world)
    items = _all_progress(client, user)["items"]
    assert [item["project_id"] for item in items] == [world.ids[p] for p in projects]


@pytest.mark.parametrize(("user", "status"), [("acme-viewer", 403), ("shopper-1", 403)])
def test_projects_progress_is_for_staff_like_each_projects_progress(
    client: TestClient, world: World, user: str, status: int
) -> None:
    response = client.get("/api/v1/projects/progress", headers=login(client, user))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/projects/progress").status_code == 401


def test_projects_progress_pages_and_filters_like_the_project_list(
    client: TestClient, db: Database, world: World
) -> None:
    _seed_three_projects(client, db, world)
    first = _all_progress(client, "admin", limit=2)
    assert [i["name"] for i in first["items"]] == ["Alpha", "Beta"] and first["next_cursor"]
    second = _all_progress(client, "admin", limit=2, cursor=first["next_cursor"])
    assert [i["name"] for i in second["items"]] == ["Gamma"] and second["next_cursor"] is None
    assert second["items"][0]["totals"]["total"] == 0
    # the same pages as GET /projects
    listed = client.get(
        "/api/v1/projects", params={"limit": 2}, headers=login(client, "admin")
    ).json()
    assert listed["next_cursor"] == first["next_cursor"]

    active = _all_progress(client, "admin", status="active")["items"]
    assert [i["name"] for i in active] == ["Alpha", "Beta"]
    of_bolt = _all_progress(client, "admin", client_id=world.ids["Bolt"])["items"]
    assert [i["name"] for i in of_bolt] == ["Beta"]
    bad = client.get(
        "/api/v1/projects/progress", params={"cursor": "nonsense"}, headers=login(client, "admin")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


def test_projects_progress_costs_the_same_queries_for_one_project_or_many(
    client: TestClient, db: Database, world: World
) -> None:
    """Not one query per project: the page is counted in one grouped query."""
    headers = login(client, "admin")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def queries(limit: int) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get(
                "/api/v1/projects/progress", params={"limit": limit}, headers=headers
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200 and len(response.json()["items"]) == limit
        return len(statements)

    _seed_three_projects(client, db, world)
    one = queries(1)
    assert one >= 2  # the projects, their counts (and the signed-in user)
    assert queries(3) == one
