"""Submitted visits of the field-test journey (tests/visits), built through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db import Database
from tests.visits.conftest import (
    Field,
    entrance_body,
    new_uuid,
    now_iso,
    photo_bytes,
    till_body,
)
from tests.visits.conftest import field as visits_field

SHOP = (52.0, 4.0)  # Alpha/loc0; loc1 is 1.1 km north


@dataclass
class Visits:
    """Builds visits of shopper-1 in project Alpha, each through the shopper's API calls."""

    field: Field

    @property
    def client(self) -> TestClient:
        return self.field.client

    @property
    def manager(self) -> dict[str, str]:
        return self.field.manager

    @property
    def shopper(self) -> dict[str, str]:
        return self.field.shopper

    def ids(self, name: str) -> int:
        return self.field.world.ids[name]

    def assignment(self, *, location: int = 0) -> int:
        start = datetime.now(UTC) - timedelta(hours=1)
        created = self.client.post(
            f"/api/v1/projects/{self.ids('Alpha')}/assignments",
            json={
                "location_id": self.ids(f"Alpha/loc{location}"),
                "shopper_id": self.ids("shopper-1"),
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=24)).isoformat(),
            },
            headers=self.manager,
        )
        assert created.status_code == 201, created.text
        assignment_id: int = created.json()["id"]
        accepted = self.client.post(
            f"/api/v1/assignments/{assignment_id}/accept", headers=self.shopper
        )
        assert accepted.status_code == 200, accepted.text
        self.field.pass_quiz(assignment_id)
        return assignment_id

    def started(
        self, *, location: int = 0, checkin: tuple[float, float] | None = SHOP
    ) -> dict[str, Any]:
        assignment_id = self.assignment(location=location)
        body: dict[str, Any] = {"client_uuid": new_uuid(), "started_at": now_iso(-15)}
        if checkin is not None:
            body |= {"latitude": checkin[0], "longitude": checkin[1], "accuracy_m": 8}
        response = self.client.post(
            f"/api/v1/assignments/{assignment_id}/visit", json=body, headers=self.shopper
        )
        assert response.status_code == 201, response.text
        visit: dict[str, Any] = response.json()
        return visit

    def fill(self, visit_id: int, *, receipt_photo: bytes | None = None) -> None:
        """Both steps with every required answer; unique photos unless ``receipt_photo``."""
        assert self.field.put_step(visit_id, "entrance", entrance_body()).status_code == 200
        receipt, evidence = new_uuid(), new_uuid()
        till = till_body(receipt, evidence={"price_correct": [evidence]})
        assert self.field.put_step(visit_id, "till", till).status_code == 200
        photo = receipt_photo if receipt_photo is not None else photo_bytes(noise=True)
        assert self.field.upload(visit_id, receipt, photo).status_code == 201
        uploaded = self.field.upload(
            visit_id, evidence, photo_bytes("PNG", noise=True), question="price_correct"
        )
        assert uploaded.status_code == 201, uploaded.text

    def submit(self, visit_id: int) -> dict[str, Any]:
        response = self.field.submit(visit_id)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def submitted(
        self,
        *,
        location: int = 0,
        checkin: tuple[float, float] | None = SHOP,
        receipt_photo: bytes | None = None,
    ) -> dict[str, Any]:
        """A complete visit, submitted; returns the visit as the submit call answered."""
        visit = self.started(location=location, checkin=checkin)
        self.fill(visit["id"], receipt_photo=receipt_photo)
        return self.submit(visit["id"])

    def review(self, visit_id: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(
            f"/api/v1/visits/{visit_id}/review", headers=headers or self.manager
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def decide(self, visit_id: int, action: str, comment: str = "") -> Any:
        return self.client.post(
            f"/api/v1/visits/{visit_id}/review",
            json={"action": action, "comment": comment},
            headers=self.manager,
        )

    def set_qc(self, **qc: Any) -> None:
        response = self.client.patch(
            f"/api/v1/projects/{self.ids('Alpha')}", json={"qc": qc}, headers=self.manager
        )
        assert response.status_code == 200, response.text

    def history(self, assignment_id: int) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/api/v1/assignments/{assignment_id}/history", headers=self.manager
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries


field = visits_field


@pytest.fixture
def visits(field: Field, db: Database) -> Visits:
    return Visits(field)
