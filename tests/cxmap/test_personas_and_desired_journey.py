"""Personas of a project (CRUD, on assignments, in the shopper's view) and desired-journey
versions (kept in step with the project's targets and the results' gaps)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db import Database
from tests.cxmap.conftest import CxWorld
from tests.helpers import login, standard_world, window

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
API = "/api/v1"


@pytest.fixture
def alpha(client: TestClient, db: Database) -> dict[str, Any]:
    world = standard_world(db)
    return {
        "ids": world.ids,
        "project": world.ids["Alpha"],
        "manager": login(client, "mgr-a"),
        "viewer": login(client, "acme-viewer"),
        "shopper": login(client, "shopper-1"),
    }


def test_persona_crud_with_unique_names(client: TestClient, alpha: dict[str, Any]) -> None:
    base = f"{API}/projects/{alpha['project']}/personas"
    body = {"name": "Busy parent", "description": "Short on time.", "traits": {"age": "30-45"}}
    created = client.post(base, json=body, headers=alpha["manager"])
    assert created.status_code == 201, created.text
    persona = created.json()
    assert persona["traits"] == {"age": "30-45"}
    again = client.post(base, json=body, headers=alpha["manager"])
    assert again.status_code == 409
    by_client = client.post(base, json={"name": "X"}, headers=alpha["viewer"])
    assert by_client.status_code == 403
    listed = client.get(base, headers=alpha["viewer"]).json()["items"]
    assert [p["name"] for p in listed] == ["Busy parent"]
    renamed = client.patch(
        f"{base}/{persona['id']}", json={"name": "Busy father"}, headers=alpha["manager"]
    )
    assert renamed.json()["name"] == "Busy father"
    bad = client.post(base, json={"name": "Y", "traits": {"": 1}}, headers=alpha["manager"])
    assert bad.status_code == 422
    gone = client.delete(f"{base}/{persona['id']}", headers=alpha["manager"])
    assert gone.status_code == 204
    assert client.get(f"{base}/{persona['id']}", headers=alpha["manager"]).status_code == 404


def test_assignment_carries_a_persona_the_shopper_sees(
    client: TestClient, alpha: dict[str, Any]
) -> None:
    base = f"{API}/projects/{alpha['project']}"
    persona = client.post(
        f"{base}/personas",
        json={"name": "Bargain hunter", "description": "Asks for discounts."},
        headers=alpha["manager"],
    ).json()
    body = {
        "location_id": alpha["ids"]["Alpha/loc0"],
        "shopper_id": alpha["ids"]["shopper-1"],
        "persona_id": persona["id"],
        **window(date.today() + timedelta(days=3)),
    }
    created = client.post(f"{base}/assignments", json=body, headers=alpha["manager"])
    assert created.status_code == 201, created.text
    assert created.json()["persona"]["name"] == "Bargain hunter"
    mine = client.get(f"{API}/me/assignments", headers=alpha["shopper"]).json()["items"]
    assert mine[0]["persona"] == {
        "id": persona["id"],
        "name": "Bargain hunter",
        "description": "Asks for discounts.",
        "traits": {},
    }
    briefing = client.get(f"{API}/assignments/{mine[0]['id']}/briefing", headers=alpha["shopper"])
    assert briefing.status_code == 200, briefing.text
    assert briefing.json()["persona"] == mine[0]["persona"]
    bulk = client.post(
        f"{base}/assignments/bulk",
        json={"items": [body | {"location_id": alpha["ids"]["Alpha/loc1"]}]},
        headers=alpha["manager"],
    )
    assert bulk.status_code == 201, bulk.text
    new_id = bulk.json()["rows"][0]["assignment_id"]
    read = client.get(f"{API}/assignments/{new_id}", headers=alpha["shopper"]).json()
    assert read["persona_id"] == persona["id"]
    in_use = client.delete(f"{base}/personas/{persona['id']}", headers=alpha["manager"])
    assert in_use.status_code == 409


def test_persona_of_another_project_is_refused(client: TestClient, alpha: dict[str, Any]) -> None:
    beta = alpha["ids"]["Beta"]
    other = client.post(
        f"{API}/projects/{beta}/personas",
        json={"name": "Beta only"},
        headers=login(client, "mgr-b"),
    ).json()
    body = {
        "location_id": alpha["ids"]["Alpha/loc0"],
        "shopper_id": alpha["ids"]["shopper-1"],
        "persona_id": other["id"],
        **window(date.today() + timedelta(days=3)),
    }
    refused = client.post(
        f"{API}/projects/{alpha['project']}/assignments", json=body, headers=alpha["manager"]
    )
    assert refused.status_code == 409
    assert refused.json()["rule"] == "persona"


def test_desired_journey_versions_keep_project_targets_and_gaps_in_step(cx: CxWorld) -> None:
    path = f"/projects/{cx.project_id}/desired-journey"
    empty = cx.get(path)
    assert (empty["version"], empty["step_targets"]) == (0, {})
    first = cx.send("PUT", path, {"step_targets": {"queue": 70}, "note": "Wave 1"})
    assert first.status_code == 200 and first.json()["version"] == 1
    gaps = cx.get(f"/projects/{cx.project_id}/results/gaps")
    queue = cx.data.step_scores("queue")
    assert [(g["step_key"], g["share_short"]) for g in gaps] == [
        ("queue", sum(x < 70 for x in queue) / 40)
    ]
    second = cx.send(
        "PUT", path, {"step_targets": {"queue": 35, "pay": 90}, "level_targets": {"ease": 75}}
    )
    assert second.json()["version"] == 2
    gaps = {g["step_key"]: g for g in cx.get(f"/projects/{cx.project_id}/results/gaps")}
    assert gaps["queue"]["share_short"] == pytest.approx(sum(x < 35 for x in queue) / 40)
    project = cx.get(f"/projects/{cx.project_id}")
    assert project["targets"] == {"queue": 35.0, "pay": 90.0}
    # Targets changed on the project become a version too, keeping the level targets.
    patched = cx.send("PATCH", f"/projects/{cx.project_id}", {"targets": {"queue": 50}})
    assert patched.status_code == 200
    current = cx.get(path, headers=cx.viewer)
    assert (current["version"], current["step_targets"]) == (3, {"queue": 50.0})
    assert current["level_targets"] == {"ease": 75.0}
    versions = cx.get(f"{path}/versions")["items"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["note"] == "Wave 1"


def test_desired_journey_refuses_unknown_steps_and_bad_targets(cx: CxWorld) -> None:
    path = f"/projects/{cx.project_id}/desired-journey"
    unknown = cx.send("PUT", path, {"step_targets": {"nowhere": 50}})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "step_targets.nowhere"
    too_high = cx.send("PUT", path, {"step_targets": {"queue": 150}})
    assert too_high.status_code == 422
    bad_level = cx.send("PUT", path, {"level_targets": {"delight": 50}})
    assert bad_level.status_code == 422
    by_client = cx.send("PUT", path, {"step_targets": {"queue": 50}}, cx.viewer)
    assert by_client.status_code == 403
    assert cx.get(path)["version"] == 0
