from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from api.db import Database
from tests.helpers import login, standard_world, window


def test_manager_assigns_and_shopper_accepts(client: TestClient, db: Database) -> None:
    world = standard_world(db)
    mgr = login(client, "mgr-a")
    shopper = login(client, "shopper-1")
    day = date.today() + timedelta(days=1)
    created = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json={
            "location_id": world.ids["Alpha/loc0"],
            "shopper_id": world.ids["shopper-1"],
            **window(day),
        },
        headers=mgr,
    )
    assert created.status_code == 201, created.text
    assignment = created.json()
    assert assignment["status"] == "offered"
    mine = client.get("/api/v1/me/assignments", headers=shopper).json()
    assert [a["id"] for a in mine["items"]] == [assignment["id"]]
    accepted = client.post(f"/api/v1/assignments/{assignment['id']}/accept", headers=shopper)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
