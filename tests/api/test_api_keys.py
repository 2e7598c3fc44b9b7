"""API keys: created by staff for one client, shown once, stored hashed, read that client's
projects only, refused elsewhere, revoked at once, rate limited per key."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.apikeys.models import ApiKey
from api.common import utcnow
from api.db import Database
from tests.helpers import World, login, standard_world

API = "/api/v1"


class Clock:
    """Stands in for time.monotonic in the rate limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(db: Database) -> World:
    return standard_world(db)


@pytest.fixture
def manager(client: TestClient, world: World) -> dict[str, str]:
    return login(client, "mgr-a")


def create_key(
    client: TestClient,
    world: World,
    headers: dict[str, str],
    client_name: str = "Acme",
    **body: Any,
) -> dict[str, Any]:
    response = client.post(
        f"{API}/clients/{world.ids[client_name]}/api-keys",
        json={"name": "BI export", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_key_is_shown_once_and_only_its_hash_is_stored(
    client: TestClient, db: Database, world: World, manager: dict[str, str]
) -> None:
    created = create_key(client, world, manager)
    key = created["key"]
    assert key.startswith("fwk_") and len(key) >= 40
    assert created["prefix"] == key[:12]
    assert created["client_id"] == world.ids["Acme"]
    assert created["created_by"] == world.ids["mgr-a"]
    assert created["rate_limit_per_minute"] == 120  # the settings' default

    listed = client.get(f"{API}/clients/{world.ids['Acme']}/api-keys", headers=manager)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert "key" not in item and key not in listed.text
    assert (item["id"], item["prefix"], item["revoked_at"]) == (created["id"], key[:12], None)

    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_keys")).one()
    assert key not in [str(value) for value in row]
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_key_reads_its_clients_projects_and_results(
    client: TestClient, world: World, manager: dict[str, str], header: str
) -> None:
    key = create_key(client, world, manager)["key"]
    headers = bearer(key) if header == "authorization" else {"X-API-Key": key}
    alpha = world.ids["Alpha"]
    projects = client.get(f"{API}/projects", headers=headers)
    assert projects.status_code == 200, projects.text
    assert [p["name"] for p in projects.json()["items"]] == ["Alpha"]
    for path in (
        f"/projects/{alpha}",
        f"/projects/{alpha}/results/summary",
        f"/projects/{alpha}/appeals",
    ):
        response = client.get(API + path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    export = client.get(f"{API}/projects/{alpha}/exports/visits.csv", headers=headers)
    assert export.status_code == 200, export.text
    assert export.text.startswith("visit_id,")


def test_key_of_one_client_never_reaches_another_clients_project(
    client: TestClient, world: World, manager: dict[str, str]
) -> None:
    headers = bearer(create_key(client, world, manager)["key"])
    beta = world.ids["Beta"]
    for path in (
        f"/projects/{beta}",
        f"/projects/{beta}/results/summary",
        f"/projects/{beta}/results/steps",
        f"/projects/{beta}/appeals",
        f"/projects/{beta}/exports/visits.csv",
        f"/projects/{beta}/exports/visits.xlsx",
    ):
        response = client.get(API + path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_key_is_refused_where_clients_may_not_go_and_cannot_make_keys(
    client: TestClient, world: World, manager: dict[str, str]
) -> None:
    created = create_key(client, world, manager)
    headers = bearer(created["key"])
    acme, alpha = world.ids["Acme"], world.ids["Alpha"]
    for method, path, body in (
        ("POST", f"/clients/{acme}/api-keys", {"name": "another"}),
        ("GET", f"/clients/{acme}/api-keys", None),
        ("POST", f"/api-keys/{created['id']}/revoke", None),
        ("GET", "/clients", None),
        ("GET", "/users", None),
        ("GET", "/me", None),
        ("PATCH", f"/users/{world.ids['acme-viewer']}", {"full_name": "Key"}),
        ("GET", f"/projects/{alpha}/assignments", None),
        ("PATCH", f"/projects/{alpha}", {"description": "by key"}),
    ):
        response = client.request(method, API + path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
    listed = client.get(f"{API}/clients/{acme}/api-keys", headers=manager).json()["items"]
    assert len(listed) == 1


def test_revoked_key_stops_working_at_once_and_revoking_again_changes_nothing(
    client: TestClient, world: World, manager: dict[str, str]
) -> None:
    created = create_key(client, world, manager)
    headers = bearer(created["key"])
    summary = f"{API}/projects/{world.ids['Alpha']}/results/summary"
    assert client.get(summary, headers=headers).status_code == 200

    revoked = client.post(f"{API}/api-keys/{created['id']}/revoke", headers=manager)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    refused = client.get(summary, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get(summary, headers={"X-API-Key": created["key"]}).status_code == 401

    again = client.post(f"{API}/api-keys/{created['id']}/revoke", headers=manager)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_unknown_key_is_refused(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/projects", headers=bearer("fwk_" + "x" * 43))
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is unknown or revoked."


def test_only_admins_and_the_clients_managers_manage_its_keys(
    client: TestClient, world: World, manager: dict[str, str]
) -> None:
    created = create_key(client, world, manager)
    acme = world.ids["Acme"]
    admin = create_key(client, world, login(client, "admin"), rate_limit_per_minute=10)
    assert admin["rate_limit_per_minute"] == 10
    for user in ("mgr-b", "acme-viewer", "shopper-1"):
        headers = login(client, user)
        for method, path in (
            ("POST", f"/clients/{acme}/api-keys"),
            ("GET", f"/clients/{acme}/api-keys"),
            ("POST", f"/api-keys/{created['id']}/revoke"),
        ):
            response = client.request(method, API + path, json={"name": "x"}, headers=headers)
            assert response.status_code == 403, (user, method, path, response.text)
    missing = client.post(f"{API}/clients/999999/api-keys", json={"name": "x"}, headers=manager)
    assert missing.status_code == 404


def test_rate_limit_answers_429_with_retry_after_then_lets_requests_through_again(
    app: FastAPI, client: TestClient, world: World, manager: dict[str, str]
) -> None:
    clock = Clock()
    app.state.rate_limiter.clock = clock
    limited = bearer(create_key(client, world, manager, rate_limit_per_minute=3)["key"])
    other = bearer(create_key(client, world, manager, rate_limit_per_minute=3)["key"])
    path = f"{API}/projects/{world.ids['Alpha']}/results/summary"

    assert [client.get(path, headers=limited).status_code for _ in range(3)] == [200] * 3
    refused = client.get(path, headers=limited)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"  # 3 a minute: a token every 20 s
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["retry_after"] == 20
    assert client.get(path, headers=other).status_code == 200  # each key has its own budget

    clock.now += 19
    assert client.get(path, headers=limited).status_code == 429
    clock.now += 1
    assert client.get(path, headers=limited).status_code == 200
    assert client.get(path, headers=limited).status_code == 429
    clock.now += 60
    assert [client.get(path, headers=limited).status_code for _ in range(4)] == [200] * 3 + [429]


def test_last_use_is_recorded_at_most_once_a_minute(
    client: TestClient, db: Database, world: World, manager: dict[str, str]
) -> None:
    created = create_key(client, world, manager)
    headers = bearer(created["key"])
    path = f"{API}/projects/{world.ids['Alpha']}"

    def last_used() -> Any:
        with db.session(read_only=True) as session:
            row = session.get(ApiKey, created["id"])
            assert row is not None
            return row.last_used_at

    assert last_used() is None
    assert client.get(path, headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get(path, headers=headers).status_code == 200
    assert last_used() == first  # within the minute: no write

    with db.session() as session:
        row = session.get(ApiKey, created["id"])
        assert row is not None
        row.last_used_at = utcnow() - timedelta(minutes=2)
        session.add(row)
    assert client.get(path, headers=headers).status_code == 200
    assert last_used() > utcnow() - timedelta(minutes=1)
