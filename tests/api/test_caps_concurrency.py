"""Caps hold under real concurrency: 20 requests at once against a real server, exactly N pass."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.accounts.models import User
from api.assignments.models import AssignmentCreate
from api.assignments.service import create_assignments
from api.db import Database
from api.projects.models import Project
from tests.conftest import LiveServer
from tests.helpers import at, login, standard_world, window

CONCURRENCY = 20
LOOSE = {
    "max_open_per_shopper": 100,
    "max_visits_per_shopper_per_day": 100,
    "max_visits_per_shopper_per_period": 100,
    "max_visits_per_location_per_day": 100,
    "location_lockout_days": 0,
}


def fire(
    url: str, requests: list[tuple[str, dict[str, str], dict[str, Any] | None]]
) -> list[httpx.Response]:
    """Send every request from its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(requests))
    results: list[httpx.Response | None] = [None] * len(requests)

    def worker(index: int) -> None:
        path, headers, body = requests[index]
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            results[index] = http.post(path, headers=headers, json=body)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def open_slots(
    db: Database, project_id: int, location_ids: list[int], days: list[date]
) -> list[int]:
    """Job-board assignments, created directly with loose caps."""
    with db.session() as session:
        project = session.get(Project, project_id)
        manager = session.get(User, 1)
        assert project is not None and manager is not None
        items = [
            AssignmentCreate(
                location_id=loc, window_start=at(day), window_end=at(day) + timedelta(days=2)
            )
            for loc, day in zip(location_ids, days, strict=True)
        ]
        result = create_assignments(session, project=project, items=items, actor=manager)
        return [row.assignment_id for row in result.rows if row.assignment_id is not None]


def first_of_next_month() -> date:
    today = date.today()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


Scenario = tuple[str, dict[str, int], Callable[[int, int], tuple[list[int], list[date]]], int]
SOON = date.today() + timedelta(days=2)
SCENARIOS: list[Scenario] = [
    # rule, tightened cap, (location a, location b) -> 20 slots, successes expected
    (
        "max_open_per_shopper",
        {"max_open_per_shopper": 3},
        lambda a, b: ([a] * 20, [SOON + timedelta(days=i) for i in range(20)]),
        3,
    ),
    (
        "max_visits_per_shopper_per_day",
        {"max_visits_per_shopper_per_day": 3},
        lambda a, b: ([a] * 20, [SOON] * 20),
        3,
    ),
    (
        "max_visits_per_shopper_per_period",
        {"max_visits_per_shopper_per_period": 3},
        lambda a, b: ([a] * 20, [first_of_next_month() + timedelta(days=i) for i in range(20)]),
        3,
    ),
    (
        "location_lockout_days",
        {"location_lockout_days": 30},
        lambda a, b: ([a] * 20, [SOON + timedelta(days=i) for i in range(20)]),
        1,
    ),
]


@pytest.mark.parametrize(
    ("rule", "cap", "slots", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
def test_concurrent_claims_by_one_shopper_respect_cap(
    client: TestClient,
    db: Database,
    live_server: LiveServer,
    rule: str,
    cap: dict[str, int],
    slots: Callable[[int, int], tuple[list[int], list[date]]],
    expected: int,
) -> None:
    world = standard_world(db)
    world.set_caps("Alpha", **LOOSE)
    locations, days = slots(world.ids["Alpha/loc0"], world.ids["Alpha/loc1"])
    ids = open_slots(db, world.ids["Alpha"], locations, days)
    world.set_caps("Alpha", **cap)
    shopper = login(client, "shopper-1")

    responses = fire(
        live_server.url, [(f"/api/v1/assignments/{i}/claim", shopper, None) for i in ids]
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: expected, 409: CONCURRENCY - expected}, statuses
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["rule"] == rule
    mine = client.get("/api/v1/me/assignments", headers=shopper, params={"limit": 100}).json()[
        "items"
    ]
    assert len(mine) == expected


def test_concurrent_creation_respects_location_daily_cap(
    client: TestClient, db: Database, live_server: LiveServer
) -> None:
    world = standard_world(db)
    world.set_caps("Alpha", **(LOOSE | {"max_visits_per_location_per_day": 3}))
    manager = login(client, "mgr-a")
    body = {"location_id": world.ids["Alpha/loc2"], **window(SOON)}
    path = f"/api/v1/projects/{world.ids['Alpha']}/assignments"

    responses = fire(live_server.url, [(path, manager, body)] * CONCURRENCY)

    assert Counter(r.status_code for r in responses) == {201: 3, 409: 17}
    assert {r.json()["rule"] for r in responses if r.status_code == 409} == {
        "max_visits_per_location_per_day"
    }


def test_one_open_assignment_claimed_by_twenty_shoppers_goes_to_exactly_one(
    client: TestClient, db: Database, live_server: LiveServer
) -> None:
    world = standard_world(db)
    (slot,) = open_slots(db, world.ids["Alpha"], [world.ids["Alpha/loc0"]], [SOON])
    tokens = []
    for i in range(CONCURRENCY):
        world.shopper(f"racer-{i}")
        tokens.append(login(client, f"racer-{i}"))

    responses = fire(
        live_server.url, [(f"/api/v1/assignments/{slot}/claim", t, None) for t in tokens]
    )

    assert Counter(r.status_code for r in responses) == {200: 1, 409: 19}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["status"] == "accepted"
    assert winner["shopper_id"] in {world.ids[f"racer-{i}"] for i in range(CONCURRENCY)}
