"""Shoppers: self-registration (18+), the qualification test, hand qualification and the list."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.audit.models import AuditEntry
from api.db import Database
from tests.helpers import PASSWORD, World, login, standard_world, window

QUIZ_FILE = (
    Path(__file__).resolve().parents[2] / "briefings" / "examples" / "qualification_test.yaml"
)
RIGHT = {
    "reveal_identity": "stay_in_role",
    "when_to_record": "right_after",
    "step_not_possible": "na_with_note",
    "known_employee": "decline",
    "photos": "asked_evidence",
}
WRONG = dict.fromkeys(RIGHT, "nonsense")
FOUR_OF_FIVE = RIGHT | {"photos": "anything"}  # 80 %: exactly the pass mark
THREE_OF_FIVE = RIGHT | {"photos": "anything", "known_employee": "visit_anyway"}


def years_ago(years: int, today: date | None = None) -> date:
    today = today or date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def registration(username: str, born: date, **extra: Any) -> dict[str, Any]:
    return {
        "username": username,
        "password": PASSWORD,
        "date_of_birth": born.isoformat(),
        "region": "north",
        "languages": ["nl"],
        **extra,
    }


@pytest.fixture
def world(db: Database) -> World:
    return standard_world(db)


# ---------------------------------------------------------------- registration


def test_registration_at_exactly_18_today_accepted(client: TestClient, db: Database) -> None:
    response = client.post(
        "/api/v1/shoppers/register", json=registration("newbie", years_ago(18), full_name="N. Ew")
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["username"], body["age"], body["qualified"]) == ("newbie", 18, False)
    assert "password" not in body and "password_hash" not in body
    token = login(client, "newbie")
    me = client.get("/api/v1/me/profile", headers=token).json()
    assert (me["username"], me["region"], me["languages"]) == ("newbie", "north", ["nl"])


def test_registration_under_18_refused_naming_date_of_birth(
    client: TestClient, db: Database
) -> None:
    response = client.post(
        "/api/v1/shoppers/register",
        json=registration("too-young", years_ago(18) + timedelta(days=1)),
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["date_of_birth"]
    denied = client.post("/api/v1/auth/token", data={"username": "too-young", "password": PASSWORD})
    assert denied.status_code == 401


def test_registration_with_a_taken_username_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/shoppers/register", json=registration("shopper-1", date(1985, 1, 1))
    )

    assert response.status_code == 409, response.text
    assert response.json()["field"] == "username"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "a b"}, "username"),
        ({"password": "short"}, "password"),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
    ],
)
def test_registration_with_bad_fields_refused(
    client: TestClient, db: Database, change: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/v1/shoppers/register", json=registration("someone", date(1990, 1, 1)) | change
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_shopper_changes_own_profile_but_not_qualification(
    client: TestClient, world: World
) -> None:
    shopper = login(client, "rookie")

    response = client.patch(
        "/api/v1/me/profile", json={"region": "south", "qualified": True}, headers=shopper
    )

    assert response.status_code == 200, response.text
    assert (response.json()["region"], response.json()["qualified"]) == ("south", False)


# ---------------------------------------------------------------- the qualification test


def put_test(client: TestClient, headers: dict[str, str]) -> httpx.Response:
    return client.put(
        "/api/v1/qualification-test",
        json={"title": "Shopper basics", "source": QUIZ_FILE.read_text(encoding="utf-8")},
        headers=headers,
    )


def attempt(client: TestClient, headers: dict[str, str], answers: dict[str, str]) -> httpx.Response:
    return client.post(
        "/api/v1/qualification-test/attempts", json={"answers": answers}, headers=headers
    )


def profile(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/me/profile", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_shopper_sees_the_test_without_correct_answers(client: TestClient, world: World) -> None:
    put = put_test(client, login(client, "mgr-a"))
    assert put.status_code == 200, put.text

    response = client.get("/api/v1/qualification-test", headers=login(client, "rookie"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["attempts_used"]) == ("Shopper basics", 0)
    assert (body["quiz"]["pass_mark"], body["quiz"]["max_attempts"]) == (80, 2)
    assert [q["key"] for q in body["quiz"]["questions"]] == list(RIGHT)
    for question in body["quiz"]["questions"]:
        assert set(question) == {"key", "text", "options"}
        assert all(set(option) == {"key", "label"} for option in question["options"])
    assert "correct" not in response.text


def test_failing_then_passing_qualifies_the_shopper(client: TestClient, world: World) -> None:
    put_test(client, login(client, "mgr-a"))
    rookie = login(client, "rookie")

    failed = attempt(client, rookie, THREE_OF_FIVE)
    assert failed.status_code == 201, failed.text
    assert (failed.json()["passed"], failed.json()["score_percent"]) == (False, 60)
    assert failed.json()["wrong"] == ["known_employee", "photos"]
    assert profile(client, rookie)["qualified"] is False

    passed = attempt(client, rookie, FOUR_OF_FIVE)
    assert passed.status_code == 201, passed.text
    assert (passed.json()["passed"], passed.json()["score_percent"]) == (True, 80)

    me = profile(client, rookie)
    assert me["qualified"] is True and me["qualified_at"] is not None
    history = client.get("/api/v1/me/qualification-attempts", headers=rookie).json()
    assert [a["passed"] for a in history] == [True, False]
    again = attempt(client, rookie, RIGHT)
    assert again.status_code == 409, again.text


def test_attempts_beyond_max_attempts_refused(client: TestClient, world: World) -> None:
    put_test(client, login(client, "mgr-a"))
    rookie = login(client, "rookie")
    for _ in range(2):
        assert attempt(client, rookie, WRONG).status_code == 201

    third = attempt(client, rookie, RIGHT)

    assert third.status_code == 409, third.text
    assert third.json()["rule"] == "max_attempts"
    assert profile(client, rookie)["qualified"] is False
    used = client.get("/api/v1/qualification-test", headers=rookie).json()["attempts_used"]
    assert used == 2


def test_new_test_gives_fresh_attempts(client: TestClient, world: World) -> None:
    mgr, rookie = login(client, "mgr-a"), login(client, "rookie")
    put_test(client, mgr)
    for _ in range(2):
        attempt(client, rookie, WRONG)

    put_test(client, mgr)

    assert attempt(client, rookie, RIGHT).json()["passed"] is True


def test_no_test_set_up_yet(client: TestClient, world: World) -> None:
    rookie = login(client, "rookie")

    assert client.get("/api/v1/qualification-test", headers=rookie).status_code == 404
    assert attempt(client, rookie, RIGHT).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"title": "Quiz", "source": "pass_mark: 80\nquestions: []\n"}, 422),
        ({"title": "Quiz"}, 422),
        (
            {
                "title": "Quiz",
                "quiz": {
                    "pass_mark": 50,
                    "questions": [
                        {
                            "key": "q",
                            "text": "Pick a",
                            "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}],
                            "correct": "a",
                        }
                    ],
                },
            },
            200,
        ),
    ],
    ids=["source without questions", "neither quiz nor source", "quiz as JSON"],
)
def test_setting_the_test(
    client: TestClient, world: World, body: dict[str, Any], status: int
) -> None:
    response = client.put("/api/v1/qualification-test", json=body, headers=login(client, "mgr-a"))

    assert response.status_code == status, response.text


def test_only_staff_set_the_test(client: TestClient, world: World) -> None:
    assert put_test(client, login(client, "shopper-1")).status_code == 403


def test_unqualified_shopper_cannot_be_assigned_until_passing(
    client: TestClient, world: World
) -> None:
    mgr, rookie = login(client, "mgr-a"), login(client, "rookie")
    put_test(client, mgr)
    body = {
        "location_id": world.ids["Alpha/loc0"],
        "shopper_id": world.ids["rookie"],
        **window(date.today() + timedelta(days=2)),
    }
    path = f"/api/v1/projects/{world.ids['Alpha']}/assignments"

    refused = client.post(path, json=body, headers=mgr)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "eligibility.qualified"

    assert attempt(client, rookie, RIGHT).json()["passed"] is True
    assigned = client.post(path, json=body, headers=mgr)
    assert assigned.status_code == 201, assigned.text


# ---------------------------------------------------------------- staff


def test_manager_disqualifies_with_a_reason_that_is_audited(
    client: TestClient, db: Database, world: World
) -> None:
    mgr = login(client, "mgr-a")
    shopper_id = world.ids["shopper-1"]

    response = client.patch(
        f"/api/v1/shoppers/{shopper_id}",
        json={"qualified": False, "reason": "photographed staff faces", "region": "south"},
        headers=mgr,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["qualified"], response.json()["region"]) == (False, "south")
    assert response.json()["qualified_at"] is None
    with db.session() as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity == "shopper", AuditEntry.entity_id == shopper_id)
            .order_by(AuditEntry.id)
        ).all()
    last = entries[-1]
    assert (last.action, last.actor_id, last.from_state, last.to_state, last.comment) == (
        "disqualified",
        world.ids["mgr-a"],
        "true",
        "false",
        "photographed staff faces",
    )
    assign = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json={
            "location_id": world.ids["Alpha/loc0"],
            "shopper_id": shopper_id,
            **window(date.today() + timedelta(days=2)),
        },
        headers=mgr,
    )
    assert assign.json()["rule"] == "eligibility.qualified"


def test_requalifying_by_hand_is_audited_once(
    client: TestClient, db: Database, world: World
) -> None:
    mgr = login(client, "mgr-a")
    for _ in range(2):
        response = client.patch(
            f"/api/v1/shoppers/{world.ids['rookie']}",
            json={"qualified": True, "reason": "experienced elsewhere"},
            headers=mgr,
        )
        assert response.json()["qualified"] is True
    with db.session() as session:
        actions = session.exec(
            select(AuditEntry.action).where(
                AuditEntry.entity == "shopper", AuditEntry.entity_id == world.ids["rookie"]
            )
        ).all()
    assert list(actions) == ["qualified"]


def test_shopper_and_client_cannot_manage_shoppers(client: TestClient, world: World) -> None:
    for user in ("shopper-1", "acme-viewer"):
        headers = login(client, user)
        assert client.get("/api/v1/shoppers", headers=headers).status_code == 403
        patched = client.patch(
            f"/api/v1/shoppers/{world.ids['rookie']}", json={"qualified": True}, headers=headers
        )
        assert patched.status_code == 403


def test_unknown_shopper_not_found(client: TestClient, world: World) -> None:
    mgr = login(client, "mgr-a")

    assert client.get(f"/api/v1/shoppers/{world.ids['mgr-a']}", headers=mgr).status_code == 404
    assert client.get("/api/v1/shoppers/9999", headers=mgr).status_code == 404


SHOPPER_FILTERS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "all": ({}, ["shopper-1", "shopper-2", "rookie", "zuid-1", "zuid-2"]),
    "region": ({"region": "south"}, ["zuid-1", "zuid-2"]),
    "qualified": ({"qualified": "true"}, ["shopper-1", "shopper-2", "zuid-1"]),
    "not qualified": ({"qualified": "false"}, ["rookie", "zuid-2"]),
    "text": ({"q": "ZUID"}, ["zuid-1", "zuid-2"]),
    "combined": ({"region": "south", "qualified": "false"}, ["zuid-2"]),
}


@pytest.mark.parametrize(
    ("params", "usernames"), SHOPPER_FILTERS.values(), ids=SHOPPER_FILTERS.keys()
)
def test_list_shoppers_filters(
    client: TestClient, world: World, params: dict[str, Any], usernames: list[str]
) -> None:
    world.shopper("zuid-1", region="south")
    world.shopper("zuid-2", region="south", qualified=False)

    response = client.get("/api/v1/shoppers", params=params, headers=login(client, "mgr-a"))

    assert response.status_code == 200, response.text
    assert [s["username"] for s in response.json()["items"]] == usernames


def test_list_shoppers_pages(client: TestClient, world: World) -> None:
    world.shopper("zuid-1", region="south")
    mgr = login(client, "mgr-a")

    first = client.get("/api/v1/shoppers", params={"limit": 3}, headers=mgr).json()
    second = client.get(
        "/api/v1/shoppers", params={"limit": 3, "cursor": first["next_cursor"]}, headers=mgr
    ).json()

    assert [s["username"] for s in first["items"]] == ["shopper-1", "shopper-2", "rookie"]
    assert [s["username"] for s in second["items"]] == ["zuid-1"]
    assert second["next_cursor"] is None
