"""The assignment lifecycle through the API: every transition is audited, every refusal says why."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.assignments.models import Assignment, AssignmentCreate, AssignmentStatus
from api.assignments.service import create_assignments
from api.assignments.states import TRANSITIONS, transition
from api.db import Database
from api.errors import InvalidTransition
from api.projects.models import Project
from tests.helpers import World, login, standard_world, window

S = AssignmentStatus
TOMORROW = date.today() + timedelta(days=1)
LOOSE = {
    "max_open_per_shopper": 100,
    "max_visits_per_shopper_per_day": 100,
    "max_visits_per_shopper_per_period": 100,
    "max_visits_per_location_per_day": 100,
    "location_lockout_days": 0,
}

# The lifecycle of DESIGN.md, written out independently of api.assignments.states.
ALLOWED = {
    (S.open, S.offered),
    (S.open, S.accepted),  # claimed from the job board
    (S.open, S.cancelled),
    (S.open, S.expired),
    (S.offered, S.accepted),
    (S.offered, S.declined),
    (S.offered, S.cancelled),
    (S.offered, S.expired),
    (S.accepted, S.in_progress),
    (S.accepted, S.cancelled),
    (S.accepted, S.expired),
    (S.in_progress, S.submitted),
    (S.in_progress, S.cancelled),
    (S.submitted, S.returned),
    (S.submitted, S.approved),
    (S.submitted, S.rejected),
    (S.returned, S.submitted),
    (S.returned, S.rejected),
    (S.returned, S.cancelled),
    (S.approved, S.submitted),  # a reviewer reopens an approved visit
}


# ---------------------------------------------------------------- the transition table (no database)


class _RecordingSession:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)


def test_transition_table_is_the_designed_lifecycle() -> None:
    table = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert table == ALLOWED
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_transition_succeeds_exactly_when_allowed(
    current: AssignmentStatus, target: AssignmentStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = _RecordingSession()
    assignment = Assignment(id=7, status=current)
    # The live-event hook reads the database; tests/events covers it against a real one.
    announced: list[AssignmentStatus] = []
    monkeypatch.setattr(
        "api.assignments.states.assignment_transitioned",
        lambda _session, *, assignment, before, visit_id=None, visit_event_id=None: (
            announced.append(before)
        ),
    )
    if (current, target) in ALLOWED:
        transition(session, assignment, target, actor_id=3, action="moved", comment="why")  # type: ignore[arg-type]
        assert assignment.status == target
        assert announced == [current]
        [entry] = session.added[1:]
        assert (entry.entity_id, entry.actor_id, entry.from_state, entry.to_state) == (
            7,
            3,
            current,
            target,
        )
        assert entry.comment == "why"
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition(session, assignment, target, actor_id=3, action="moved")  # type: ignore[arg-type]
        assert assignment.status == current
        assert session.added == []
        assert refused.value.extra == {"from_state": current, "to_state": target}


# ---------------------------------------------------------------- helpers


@pytest.fixture
def world(db: Database) -> World:
    world = standard_world(db)
    world.set_caps("Alpha", **LOOSE)
    world.set_caps("Beta", **LOOSE)
    return world


def create(
    client: TestClient,
    headers: dict[str, str],
    world: World,
    *,
    project: str = "Alpha",
    location: int = 0,
    shopper: str | None = None,
    day: date = TOMORROW,
    **body: Any,
) -> httpx.Response:
    payload: dict[str, Any] = {
        "location_id": world.ids[f"{project}/loc{location}"],
        "shopper_id": world.ids[shopper] if shopper else None,
        **window(day),
        **body,
    }
    return client.post(
        f"/api/v1/projects/{world.ids[project]}/assignments", json=payload, headers=headers
    )


def created_id(response: httpx.Response, status: AssignmentStatus) -> int:
    assert response.status_code == 201, response.text
    assert response.json()["status"] == status
    return int(response.json()["id"])


def force(db: Database, assignment_id: int, **fields: Any) -> None:
    """Put an assignment where the API cannot take it yet (a visit's states, a past window)."""
    with db.session() as session:
        row = session.get(Assignment, assignment_id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)


def window_ended(db: Database, assignment_id: int) -> None:
    now = datetime.now(UTC)
    force(
        db,
        assignment_id,
        window_start=now - timedelta(days=3),
        window_end=now - timedelta(minutes=1),
        visit_day=(now - timedelta(days=3)).date(),
    )


def history(
    client: TestClient, headers: dict[str, str], assignment_id: int
) -> list[tuple[Any, ...]]:
    response = client.get(f"/api/v1/assignments/{assignment_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return [
        (e["action"], e["actor_id"], e["from_state"], e["to_state"], e["comment"])
        for e in response.json()
    ]


def status_of(db: Database, assignment_id: int) -> AssignmentStatus:
    with db.session() as session:
        row = session.get(Assignment, assignment_id)
        assert row is not None
        return row.status


def refused(response: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    if rule is not None:
        assert problem["rule"] == rule
    return problem


# ---------------------------------------------------------------- transitions through the API


def test_offered_assignment_accepted_by_its_shopper_is_audited(
    client: TestClient, world: World
) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)

    accepted = client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert history(client, mgr, assignment_id) == [
        ("created", world.ids["mgr-a"], None, "offered", ""),
        ("accepted", world.ids["shopper-1"], "offered", "accepted", ""),
    ]


def test_declined_offer_keeps_the_shoppers_comment(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)

    declined = client.post(
        f"/api/v1/assignments/{assignment_id}/decline",
        json={"comment": "I know the store manager"},
        headers=shopper,
    )

    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert history(client, mgr, assignment_id)[-1] == (
        "declined",
        world.ids["shopper-1"],
        "offered",
        "declined",
        "I know the store manager",
    )


def test_open_assignment_claimed_from_the_job_board(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    response = create(client, mgr, world)
    assignment_id = created_id(response, S.open)
    assert response.json()["job_board"] is True

    claimed = client.post(f"/api/v1/assignments/{assignment_id}/claim", headers=shopper)

    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["status"], claimed.json()["shopper_id"]) == (
        "accepted",
        world.ids["shopper-1"],
    )
    assert history(client, mgr, assignment_id) == [
        ("created", world.ids["mgr-a"], None, "open", ""),
        ("claimed", world.ids["shopper-1"], "open", "accepted", ""),
    ]


def test_open_assignment_offered_to_a_shopper_who_accepts(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-2")
    assignment_id = created_id(create(client, mgr, world), S.open)

    offered = client.post(
        f"/api/v1/assignments/{assignment_id}/offer",
        json={"shopper_id": world.ids["shopper-2"]},
        headers=mgr,
    )
    assert offered.status_code == 200, offered.text
    assert (offered.json()["status"], offered.json()["shopper_id"]) == (
        "offered",
        world.ids["shopper-2"],
    )
    accepted = client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper)

    assert accepted.json()["status"] == "accepted"
    assert [h[2:4] for h in history(client, mgr, assignment_id)] == [
        (None, "open"),
        ("open", "offered"),
        ("offered", "accepted"),
    ]
    assert history(client, mgr, assignment_id)[1][1] == world.ids["mgr-a"]


def test_manager_cancels_with_a_comment(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)

    cancelled = client.post(
        f"/api/v1/assignments/{assignment_id}/cancel",
        json={"comment": "store closed for renovation"},
        headers=mgr,
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert history(client, mgr, assignment_id)[-1] == (
        "cancelled",
        world.ids["mgr-a"],
        "offered",
        "cancelled",
        "store closed for renovation",
    )


def test_expiry_ends_open_offered_and_accepted_assignments_whose_window_passed(
    client: TestClient, db: Database, world: World
) -> None:
    mgr, admin, shopper = login(client, "mgr-a"), login(client, "admin"), login(client, "shopper-1")
    open_id = created_id(create(client, mgr, world), S.open)
    offered_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    accepted_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    client.post(f"/api/v1/assignments/{accepted_id}/accept", headers=shopper)
    future_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    for assignment_id in (open_id, offered_id, accepted_id):
        window_ended(db, assignment_id)

    assert client.post("/api/v1/assignments/expire", headers=mgr).status_code == 403
    expired = client.post("/api/v1/assignments/expire", headers=admin)

    assert expired.status_code == 200, expired.text
    assert expired.json() == {"expired": 3}
    assert status_of(db, future_id) == S.offered
    for assignment_id, before in (
        (open_id, "open"),
        (offered_id, "offered"),
        (accepted_id, "accepted"),
    ):
        assert status_of(db, assignment_id) == S.expired
        assert history(client, mgr, assignment_id)[-1] == (
            "expired",
            None,
            before,
            "expired",
            "visit window ended",
        )
    assert client.post("/api/v1/assignments/expire", headers=admin).json() == {"expired": 0}


# ---------------------------------------------------------------- refusals


def test_accept_twice_refused(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper)

    again = client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper)

    problem = refused(again, 409)
    assert (problem["from_state"], problem["to_state"]) == ("accepted", "accepted")
    assert len(history(client, mgr, assignment_id)) == 2


@pytest.mark.parametrize("ending", ["decline", "cancel", "expire"])
def test_accept_refused_once_the_offer_ended(
    client: TestClient, db: Database, world: World, ending: str
) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    if ending == "decline":
        client.post(f"/api/v1/assignments/{assignment_id}/decline", headers=shopper)
    elif ending == "cancel":
        client.post(f"/api/v1/assignments/{assignment_id}/cancel", headers=mgr)
    else:
        window_ended(db, assignment_id)
        client.post("/api/v1/assignments/expire", headers=login(client, "admin"))
    ended = status_of(db, assignment_id)
    assert ended in {S.declined, S.cancelled, S.expired}

    refused(client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper), 409)

    assert status_of(db, assignment_id) == ended


def test_decline_refused_after_accepting(client: TestClient, db: Database, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper)

    problem = refused(
        client.post(f"/api/v1/assignments/{assignment_id}/decline", headers=shopper), 409
    )

    assert problem["type"].endswith("/invalid-transition")
    assert status_of(db, assignment_id) == S.accepted


def test_claim_refused_for_an_offered_assignment(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)

    refused(
        client.post(f"/api/v1/assignments/{assignment_id}/claim", headers=shopper),
        409,
        "assignment_open",
    )


def test_claim_refused_once_another_shopper_claimed(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")
    assignment_id = created_id(create(client, mgr, world), S.open)
    client.post(f"/api/v1/assignments/{assignment_id}/claim", headers=login(client, "shopper-1"))

    late = client.post(
        f"/api/v1/assignments/{assignment_id}/claim", headers=login(client, "shopper-2")
    )

    refused(late, 409, "assignment_open")


def test_claim_of_someone_elses_offer_is_not_found(client: TestClient, world: World) -> None:
    mgr, other = login(client, "mgr-a"), login(client, "shopper-2")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)

    refused(client.post(f"/api/v1/assignments/{assignment_id}/claim", headers=other), 404)
    refused(client.get(f"/api/v1/assignments/{assignment_id}", headers=other), 404)
    refused(client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=other), 404)


def test_accept_refused_after_the_window_ended(
    client: TestClient, db: Database, world: World
) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world, shopper="shopper-1"), S.offered)
    window_ended(db, assignment_id)

    refused(
        client.post(f"/api/v1/assignments/{assignment_id}/accept", headers=shopper),
        409,
        "visit_window",
    )
    assert status_of(db, assignment_id) == S.offered


def test_claim_refused_when_the_project_has_no_job_board(
    client: TestClient, db: Database, world: World
) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world), S.open)
    world.set_caps("Alpha", job_board=False)

    refused(
        client.post(f"/api/v1/assignments/{assignment_id}/claim", headers=shopper),
        409,
        "job_board",
    )
    assert status_of(db, assignment_id) == S.open


def _project_without_journey(
    client: TestClient, world: World, mgr: dict[str, str]
) -> tuple[int, int]:
    project = client.post(
        "/api/v1/projects", json={"client_id": world.ids["Acme"], "name": "Gamma"}, headers=mgr
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    location = client.post(
        f"/api/v1/projects/{project_id}/locations",
        json={"code": "G-1", "name": "Gamma shop", "latitude": 52.1, "longitude": 4.3},
        headers=mgr,
    )
    assert location.status_code == 201, location.text
    return project_id, location.json()["id"]


def test_create_refused_without_a_published_journey(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")
    project_id, location_id = _project_without_journey(client, world, mgr)

    response = client.post(
        f"/api/v1/projects/{project_id}/assignments",
        json={"location_id": location_id, **window(TOMORROW)},
        headers=mgr,
    )

    refused(response, 409, "journey_published")


@pytest.mark.parametrize("status", ["draft", "closed"])
def test_create_refused_on_a_project_that_is_not_active(
    client: TestClient, world: World, status: str
) -> None:
    mgr = login(client, "mgr-a")
    patched = client.patch(
        f"/api/v1/projects/{world.ids['Alpha']}", json={"status": status}, headers=mgr
    )
    assert patched.status_code == 200, patched.text

    refused(create(client, mgr, world, shopper="shopper-1"), 409, "project_active")


def test_create_refused_with_a_location_of_another_project(
    client: TestClient, db: Database, world: World
) -> None:
    mgr = login(client, "mgr-a")
    response = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json={"location_id": world.ids["Beta/loc0"], **window(TOMORROW)},
        headers=mgr,
    )

    refused(response, 409, "location")
    with db.session() as session:
        assert session.exec(select(Assignment)).all() == []


def test_create_refused_when_the_window_has_already_ended(
    client: TestClient, db: Database, world: World
) -> None:
    mgr = login(client, "mgr-a")
    response = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json={"location_id": world.ids["Alpha/loc0"], **window(date.today() - timedelta(days=5))},
        headers=mgr,
    )

    refused(response, 409, "visit_window")
    with db.session() as session:
        assert session.exec(select(Assignment)).all() == []


def test_create_refused_when_window_ends_before_it_starts(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")
    span = window(TOMORROW)

    response = create(
        client, mgr, world, window_start=span["window_end"], window_end=span["window_start"]
    )

    problem = refused(response, 422)
    [error] = [
        e for e in problem["errors"] if "window_end must be after window_start" in e["message"]
    ]
    assert error["field"] == "window_end"  # named, though the check compares two fields
    assert problem["detail"].startswith("window_end: ")


def test_create_refused_with_naive_datetimes(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")

    response = create(
        client,
        mgr,
        world,
        window_start=f"{TOMORROW.isoformat()}T09:00:00",
        window_end=f"{TOMORROW.isoformat()}T17:00:00",
    )

    problem = refused(response, 422)
    assert any("time zone" in e["message"] for e in problem["errors"])


def test_shopper_cannot_create_cancel_or_offer(client: TestClient, world: World) -> None:
    mgr, shopper = login(client, "mgr-a"), login(client, "shopper-1")
    assignment_id = created_id(create(client, mgr, world), S.open)

    refused(create(client, shopper, world), 403)
    refused(client.post(f"/api/v1/assignments/{assignment_id}/cancel", headers=shopper), 403)
    refused(
        client.post(
            f"/api/v1/assignments/{assignment_id}/offer",
            json={"shopper_id": world.ids["shopper-1"]},
            headers=shopper,
        ),
        403,
    )


def test_manager_of_another_project_cannot_cancel(client: TestClient, world: World) -> None:
    assignment_id = created_id(create(client, login(client, "mgr-a"), world), S.open)

    refused(
        client.post(f"/api/v1/assignments/{assignment_id}/cancel", headers=login(client, "mgr-b")),
        404,
    )


# ---------------------------------------------------------------- the shopper's lists


def _seed(
    db: Database, world: World, count: int, *, project: str = "Alpha", shopper: str | None
) -> list[int]:
    actor = world.user_row("mgr-a" if project == "Alpha" else "mgr-b")
    with db.session() as session:
        row = session.get(Project, world.ids[project])
        assert row is not None
        result = create_assignments(
            session,
            project=row,
            items=[
                AssignmentCreate.model_validate(
                    {
                        "location_id": world.ids[f"{project}/loc{i % 3}"],
                        "shopper_id": world.ids[shopper] if shopper else None,
                        **window(TOMORROW + timedelta(days=i)),
                    }
                )
                for i in range(count)
            ],
            actor=actor,
        )
    ids = [v.assignment_id for v in result.rows]
    assert None not in ids
    return [i for i in ids if i is not None]


MY_SCOPES = {
    "active": {S.offered, S.accepted, S.in_progress, S.returned},
    "offered": {S.offered},
    "returned": {S.returned},
    "done": {S.submitted, S.approved, S.rejected},
    "all": set(S) - {S.open},
}


def test_my_assignments_by_scope(client: TestClient, db: Database, world: World) -> None:
    states = [s for s in S if s != S.open]
    ids = _seed(db, world, len(states), shopper="shopper-1")
    by_state = dict(zip(states, ids, strict=True))
    for state, assignment_id in by_state.items():
        force(db, assignment_id, status=state)
    shopper = login(client, "shopper-1")

    for scope, expected in MY_SCOPES.items():
        response = client.get("/api/v1/me/assignments", params={"scope": scope}, headers=shopper)
        assert response.status_code == 200, response.text
        assert {a["id"] for a in response.json()["items"]} == {by_state[s] for s in expected}, scope

    default = client.get("/api/v1/me/assignments", headers=shopper).json()["items"]
    assert {a["id"] for a in default} == {by_state[s] for s in MY_SCOPES["active"]}
    others = client.get("/api/v1/me/assignments?scope=all", headers=login(client, "shopper-2"))
    assert others.json()["items"] == []
    refused(client.get("/api/v1/me/assignments?scope=later", headers=shopper), 422)


def test_my_assignments_filtered_by_day(client: TestClient, db: Database, world: World) -> None:
    ids = _seed(db, world, 3, shopper="shopper-1")
    shopper = login(client, "shopper-1")

    response = client.get(
        "/api/v1/me/assignments",
        params={"day": (TOMORROW + timedelta(days=1)).isoformat()},
        headers=shopper,
    )

    assert [a["id"] for a in response.json()["items"]] == [ids[1]]


def test_job_board_lists_only_claimable_assignments(
    client: TestClient, db: Database, world: World
) -> None:
    claimable, past = _seed(db, world, 2, shopper=None)
    _seed(db, world, 1, shopper="shopper-1")  # offered: not on the board
    window_ended(db, past)
    [beta_open] = _seed(db, world, 1, project="Beta", shopper=None)
    shopper = login(client, "shopper-2")

    def board() -> set[int]:
        response = client.get("/api/v1/job-board", headers=shopper)
        assert response.status_code == 200, response.text
        assert all(a["status"] == "open" for a in response.json()["items"])
        return {a["id"] for a in response.json()["items"]}

    assert board() == {claimable, beta_open}
    world.set_caps("Beta", job_board=False)
    assert board() == {claimable}
    world.set_caps("Beta", job_board=True)
    with db.session() as session:
        beta = session.get(Project, world.ids["Beta"])
        assert beta is not None
        beta.status = "closed"  # type: ignore[assignment]
        session.add(beta)
    assert board() == {claimable}
    refused(client.get("/api/v1/job-board", headers=login(client, "mgr-a")), 403)


def test_job_board_filtered_by_region(client: TestClient, db: Database, world: World) -> None:
    [north] = _seed(db, world, 1, shopper=None)
    shopper = login(client, "shopper-1")

    def board(region: str) -> list[int]:
        response = client.get("/api/v1/job-board", params={"region": region}, headers=shopper)
        return [a["id"] for a in response.json()["items"]]

    assert board("north") == [north]
    assert board("south") == []
