"""Bearer tokens: a token's signature is checked once per process, its expiry on every use."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient

from api.accounts.security import read_token
from api.common import utcnow
from api.config import Settings
from api.db import Database
from tests.helpers import standard_world

API = "/api/v1"


def _token(user_id: int, secret: str, *, lifetime: timedelta) -> str:
    claims = {"sub": str(user_id), "exp": utcnow() + lifetime}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_token_stops_working_when_it_expires_though_it_was_accepted_before(
    client: TestClient, db: Database, settings: Settings
) -> None:
    world = standard_world(db)
    token = _token(
        world.ids["shopper-1"], settings.resolved_secret_key, lifetime=timedelta(seconds=1.5)
    )
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get(f"{API}/me", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["username"] == "shopper-1"
    time.sleep(1.6)
    late = client.get(f"{API}/me", headers=headers)
    assert late.status_code == 401, late.text
    assert read_token(token, secret=settings.resolved_secret_key) is None


def test_a_token_is_read_with_the_secret_it_is_checked_against() -> None:
    token = _token(7, "first-secret-" + "x" * 32, lifetime=timedelta(minutes=5))
    assert read_token(token, secret="first-secret-" + "x" * 32) == 7
    # The same token string, checked again under another deployment's secret, is refused.
    assert read_token(token, secret="other-secret-" + "x" * 32) is None
    assert read_token(token, secret="first-secret-" + "x" * 32) == 7


def test_a_tampered_or_malformed_token_is_refused() -> None:
    secret = "a-secret-" + "x" * 32
    token = _token(7, secret, lifetime=timedelta(minutes=5))
    header, _payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"1","exp":9999999999}').decode()
    assert read_token(f"{header}.{forged_payload}.{signature}", secret=secret) is None
    assert read_token("not-a-token", secret=secret) is None
    no_subject = jwt.encode({"exp": utcnow() + timedelta(minutes=5)}, secret, algorithm="HS256")
    assert read_token(no_subject, secret=secret) is None
    text_subject = jwt.encode(
        {"sub": "someone", "exp": utcnow() + timedelta(minutes=5)}, secret, algorithm="HS256"
    )
    assert read_token(text_subject, secret=secret) is None
