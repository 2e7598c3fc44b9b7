"""Errors are RFC 9457 problem+json; lists page with opaque cursors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.accounts.models import Role
from api.db import Database
from tests.helpers import PASSWORD, World, login

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def admin(client: TestClient, db: Database) -> dict[str, str]:
    world = World(db)
    with db.session() as session:
        world.user(session, "admin", Role.admin)
    return login(client, "admin")


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def test_validation_error_lists_each_bad_field(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/api/v1/clients", json={"name": "", "notes": "x" * 4001}, headers=admin)

    body = problem(response, 422)
    assert body["type"].endswith("/validation-error")
    assert [(e["field"], e["location"]) for e in body["errors"]] == [
        ("name", "body"),
        ("notes", "body"),
    ]
    assert all(e["message"] for e in body["errors"])
    assert "name" in body["detail"] and "notes" in body["detail"]


def test_missing_body_field_and_bad_query_parameter(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = problem(client.post("/api/v1/clients", json={}, headers=admin), 422)
    assert [e["field"] for e in body["errors"]] == ["name"]

    body = problem(client.get("/api/v1/projects?status=paused", headers=admin), 422)
    assert [(e["field"], e["location"]) for e in body["errors"]] == [("status", "query")]


def test_body_that_is_not_json(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/clients",
        content=b"{not json",
        headers={**admin, "Content-Type": "application/json"},
    )

    problem(response, 422)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-thing", 404),
        ("GET", "/nowhere", 404),
        ("DELETE", "/api/v1/clients", 405),
    ],
)
def test_unknown_routes_answer_problem_json(
    client: TestClient, method: str, path: str, status: int
) -> None:
    body = problem(client.request(method, path), status)

    assert body["type"] == "about:blank"


def test_unknown_record_is_a_domain_404(client: TestClient, admin: dict[str, str]) -> None:
    body = problem(client.get("/api/v1/clients/999", headers=admin), 404)

    assert body["type"].endswith("/not-found")
    assert "999" in body["detail"]


def test_wrong_password_is_401_with_www_authenticate(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": PASSWORD + "!"}
    )

    body = problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token" not in body
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": PASSWORD})
    assert problem(unknown, 401)["detail"] == body["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWRtaW46eA=="}],
    ids=["none", "garbage token", "basic auth"],
)
def test_missing_or_bad_token_is_401(
    client: TestClient, admin: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/me", headers=headers)

    problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403(client: TestClient, db: Database, admin: dict[str, str]) -> None:
    world = World(db)
    world.shopper("shopper-1")

    body = problem(client.get("/api/v1/clients", headers=login(client, "shopper-1")), 403)

    assert body["type"].endswith("/forbidden")


# ---------------------------------------------------------------- pagination


@pytest.fixture
def seven_clients(client: TestClient, admin: dict[str, str]) -> list[int]:
    ids = []
    for n in range(7):
        response = client.post("/api/v1/clients", json={"name": f"Client {n}"}, headers=admin)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_cursor_pages_through_every_row_once(
    client: TestClient, admin: dict[str, str], seven_clients: list[int]
) -> None:
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = client.get("/api/v1/clients", params=params, headers=admin)
        assert response.status_code == 200, response.text
        pages.append([c["id"] for c in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == seven_clients


def test_exactly_full_last_page_has_no_next_cursor(
    client: TestClient, admin: dict[str, str], seven_clients: list[int]
) -> None:
    response = client.get("/api/v1/clients", params={"limit": 7}, headers=admin)

    assert len(response.json()["items"]) == 7
    assert response.json()["next_cursor"] is None


def test_filters_and_cursor_combine(
    client: TestClient, admin: dict[str, str], seven_clients: list[int]
) -> None:
    first = client.get("/api/v1/clients", params={"limit": 1, "q": "client 1"}, headers=admin)

    assert [c["name"] for c in first.json()["items"]] == ["Client 1"]
    assert first.json()["next_cursor"] is None


GARBAGE_CURSORS = {
    "not base64": "garbage!!",
    "too short": "x",
    "not a number": base64.urlsafe_b64encode(b"id:seven").decode(),
    "other kind": base64.urlsafe_b64encode(b"offset:3").decode(),
    "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
}


def test_garbage_cursor_is_422(client: TestClient, admin: dict[str, str]) -> None:
    for name, cursor in GARBAGE_CURSORS.items():
        response = client.get("/api/v1/clients", params={"cursor": cursor}, headers=admin)
        body = problem(response, 422)
        assert [e["field"] for e in body["errors"]] == ["cursor"], name


LIMITS = {"0": 422, "501": 422, "-1": 422, "ten": 422, "1": 200, "500": 200}


def test_limit_must_lie_between_1_and_500(client: TestClient, admin: dict[str, str]) -> None:
    for limit, status in LIMITS.items():
        response = client.get("/api/v1/clients", params={"limit": limit}, headers=admin)
        assert response.status_code == status, (limit, response.text)
        if status == 422:
            assert [e["field"] for e in problem(response, 422)["errors"]] == ["limit"]
