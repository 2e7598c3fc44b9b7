"""Journey files through the API: drafts, publishing, versions and line-accurate errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.db import Database
from tests.helpers import World, login, standard_world

EXAMPLES = Path(__file__).resolve().parents[2] / "briefings" / "examples"
STORE_VISIT = (EXAMPLES / "store_visit.yaml").read_text(encoding="utf-8")
WEBSHOP_RETURN = EXAMPLES / "webshop_return.yaml"

EXTRA_QUESTION = """\
          - key: parking_available
            text: Was there parking within 200 metres of the store?
            type: yes_no
            level: ease
"""
ANCHOR = "          - key: entrance_inviting\n"
STORE_VISIT_V2 = STORE_VISIT.replace(ANCHOR, EXTRA_QUESTION + ANCHOR, 1)

BROKEN = """\
key: mini
name: Minimal store visit
phases:
  - key: orientation
    name: Orientation
    steps:
      - key: entrance
        name: Entering the store
        touchpoint: store
        channel: physical
        colour: blue
        questions:
          - key: greeted
            text: Were you greeted within a minute?
            type: yes_no
          - key: mood
            text: How did the store feel?
            type: scale
            scale: {min: 5, max: 1}
"""


@pytest.fixture
def world(db: Database) -> World:
    return standard_world(db)


@pytest.fixture
def mgr(client: TestClient, world: World) -> dict[str, str]:
    return login(client, "mgr-a")


@pytest.fixture
def project_id(client: TestClient, world: World, mgr: dict[str, str]) -> int:
    """A new project of Acme without any journey."""
    response = client.post(
        "/api/v1/projects", json={"client_id": world.ids["Acme"], "name": "Gamma"}, headers=mgr
    )
    assert response.status_code == 201, response.text
    assert response.json()["journey_version_id"] is None
    return int(response.json()["id"])


def load(
    client: TestClient,
    headers: dict[str, str],
    project_id: int,
    source: str,
    *,
    filename: str = "store_visit.yaml",
    publish: bool = False,
) -> httpx.Response:
    return client.post(
        f"/api/v1/projects/{project_id}/journeys",
        json={"source": source, "filename": filename, "publish": publish},
        headers=headers,
    )


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def project_version(client: TestClient, headers: dict[str, str], project_id: int) -> int | None:
    return client.get(f"/api/v1/projects/{project_id}", headers=headers).json()[
        "journey_version_id"
    ]


def test_loading_a_file_creates_draft_version_1(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    version = ok(load(client, mgr, project_id, STORE_VISIT))

    assert (version["key"], version["version"], version["status"]) == (
        "electronics_store_visit",
        1,
        "draft",
    )
    assert (version["steps"], version["questions"]) == (14, 41)
    assert version["changes"] is None and version["published_at"] is None
    assert version["definition"]["briefing"]["persona"]["name"] == "The commuter"
    assert project_version(client, mgr, project_id) is None


def test_loading_again_replaces_the_draft(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    first = ok(load(client, mgr, project_id, STORE_VISIT))

    second = ok(load(client, mgr, project_id, STORE_VISIT_V2))

    assert (second["id"], second["version"], second["status"]) == (first["id"], 1, "draft")
    assert second["questions"] == first["questions"] + 1
    listed = ok(client.get(f"/api/v1/projects/{project_id}/journeys", headers=mgr), 200)
    assert [(v["version"], v["status"]) for v in listed] == [(1, "draft")]


def test_publishing_makes_the_version_immutable_and_current(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    draft = ok(load(client, mgr, project_id, STORE_VISIT))

    published = ok(client.post(f"/api/v1/journey-versions/{draft['id']}/publish", headers=mgr), 200)

    assert (published["status"], published["version"]) == ("published", 1)
    assert published["published_at"] is not None
    assert project_version(client, mgr, project_id) == draft["id"]
    replace = client.put(
        f"/api/v1/journey-versions/{draft['id']}", json={"source": STORE_VISIT_V2}, headers=mgr
    )
    assert replace.status_code == 409, replace.text
    again = client.post(f"/api/v1/journey-versions/{draft['id']}/publish", headers=mgr)
    assert again.status_code == 409, again.text
    stored = ok(client.get(f"/api/v1/journey-versions/{draft['id']}", headers=mgr), 200)
    assert stored["questions"] == draft["questions"]


def test_loading_after_publishing_starts_version_2_with_its_changes(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    v1 = ok(load(client, mgr, project_id, STORE_VISIT, publish=True))
    assert v1["status"] == "published"

    v2 = ok(load(client, mgr, project_id, STORE_VISIT_V2))

    assert (v2["version"], v2["status"]) == (2, "draft")
    assert v2["id"] != v1["id"]
    assert v2["changes"]["added_questions"] == ["parking_available"]
    assert v2["changes"]["changed_steps"] == []
    assert v2["changes"]["removed_questions"] == []
    assert project_version(client, mgr, project_id) == v1["id"]
    ok(client.post(f"/api/v1/journey-versions/{v2['id']}/publish", headers=mgr), 200)
    assert project_version(client, mgr, project_id) == v2["id"]


def test_draft_replaced_through_put(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    draft = ok(load(client, mgr, project_id, STORE_VISIT))

    replaced = ok(
        client.put(
            f"/api/v1/journey-versions/{draft['id']}",
            json={"source": STORE_VISIT_V2, "publish": True},
            headers=mgr,
        ),
        200,
    )

    assert (replaced["id"], replaced["status"]) == (draft["id"], "published")
    assert replaced["questions"] == draft["questions"] + 1
    other = WEBSHOP_RETURN.read_text(encoding="utf-8")
    load_other = ok(load(client, mgr, project_id, other, filename="webshop_return.yaml"))
    mismatch = client.put(
        f"/api/v1/journey-versions/{load_other['id']}", json={"source": STORE_VISIT}, headers=mgr
    )
    assert mismatch.status_code == 422, mismatch.text
    assert mismatch.json()["errors"][0]["field"] == "key"


def test_second_journey_does_not_take_over_the_project(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    store = ok(load(client, mgr, project_id, STORE_VISIT, publish=True))

    webshop = ok(
        load(
            client,
            mgr,
            project_id,
            WEBSHOP_RETURN.read_text(encoding="utf-8"),
            filename="webshop_return.yaml",
            publish=True,
        )
    )

    assert (webshop["key"], webshop["version"], webshop["status"]) == (
        "fashion_webshop_return",
        1,
        "published",
    )
    assert project_version(client, mgr, project_id) == store["id"]
    switched = client.patch(
        f"/api/v1/projects/{project_id}", json={"journey_version_id": webshop["id"]}, headers=mgr
    )
    assert switched.status_code == 200, switched.text
    assert project_version(client, mgr, project_id) == webshop["id"]


def test_project_cannot_point_at_a_draft(
    client: TestClient, mgr: dict[str, str], project_id: int, world: World
) -> None:
    draft = ok(load(client, mgr, project_id, STORE_VISIT))

    response = client.patch(
        f"/api/v1/projects/{project_id}", json={"journey_version_id": draft["id"]}, headers=mgr
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["journey_version_id"]
    assert project_version(client, mgr, project_id) is None


def test_project_cannot_point_at_another_projects_version(
    client: TestClient, mgr: dict[str, str], project_id: int, world: World
) -> None:
    alpha_version = project_version(client, mgr, world.ids["Alpha"])
    assert alpha_version is not None

    response = client.patch(
        f"/api/v1/projects/{project_id}", json={"journey_version_id": alpha_version}, headers=mgr
    )

    assert response.status_code == 422, response.text


def test_broken_file_reports_file_line_and_field_of_each_problem(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    response = load(client, mgr, project_id, BROKEN, filename="broken.yaml")

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [(e["file"], e["line"], e["field"]) for e in errors] == [
        ("broken.yaml", 11, "phases[0].steps[0].colour"),
        ("broken.yaml", 19, "phases[0].steps[0].questions[1].scale.max"),
    ]
    assert "unknown field 'colour'" in errors[0]["message"]
    assert "greater than min" in errors[1]["message"]
    listed = ok(client.get(f"/api/v1/projects/{project_id}/journeys", headers=mgr), 200)
    assert listed == []


def test_file_that_is_not_yaml_refused(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    response = load(client, mgr, project_id, "key: [unclosed\n", filename="bad.yaml")

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["file"], error["line"]) == ("bad.yaml", 2)


def test_multipart_upload_loads_and_publishes(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    response = client.post(
        f"/api/v1/projects/{project_id}/journeys/upload",
        files={"file": ("store_visit.yaml", STORE_VISIT.encode("utf-8"), "application/yaml")},
        data={"publish": "true"},
        headers=mgr,
    )

    version = ok(response)
    assert (version["key"], version["version"], version["status"]) == (
        "electronics_store_visit",
        1,
        "published",
    )
    assert project_version(client, mgr, project_id) == version["id"]


def test_multipart_upload_of_a_broken_file_names_the_uploaded_file(
    client: TestClient, mgr: dict[str, str], project_id: int
) -> None:
    response = client.post(
        f"/api/v1/projects/{project_id}/journeys/upload",
        files={"file": ("mine.yaml", BROKEN.encode("utf-8"), "application/yaml")},
        headers=mgr,
    )

    assert response.status_code == 422, response.text
    assert {(e["file"], e["line"]) for e in response.json()["errors"]} == {
        ("mine.yaml", 11),
        ("mine.yaml", 19),
    }


def test_only_the_projects_managers_load_journeys(
    client: TestClient, world: World, project_id: int
) -> None:
    other_manager = load(client, login(client, "mgr-b"), project_id, STORE_VISIT)
    viewer = load(client, login(client, "acme-viewer"), project_id, STORE_VISIT)
    shopper = load(client, login(client, "shopper-1"), project_id, STORE_VISIT)

    assert (other_manager.status_code, viewer.status_code, shopper.status_code) == (404, 403, 403)


def test_client_reads_a_version_of_its_own_project(
    client: TestClient, world: World, mgr: dict[str, str], project_id: int
) -> None:
    version = ok(load(client, mgr, project_id, STORE_VISIT, publish=True))

    own = client.get(
        f"/api/v1/journey-versions/{version['id']}", headers=login(client, "acme-viewer")
    )
    other = client.get(
        f"/api/v1/journey-versions/{version['id']}", headers=login(client, "bolt-viewer")
    )

    assert (own.status_code, other.status_code) == (200, 404)
