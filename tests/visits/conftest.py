"""A project whose journey has every question type the visit API checks, and an accepted visit."""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import func, select

from api.db import Database
from api.journeys.service import load_version
from api.projects.models import Project, ProjectCaps
from tests.helpers import BRIEFING, World, login, standard_world

FIELD_JOURNEY = """\
key: field
name: Field test journey
phases:
  - key: orientation
    name: Orientation
    steps:
      - key: entrance
        name: Entrance
        touchpoint: store
        channel: physical
        questions:
          - {key: greeted, text: "Greeted?", type: yes_no}
          - {key: friendliness, text: "How friendly?", type: scale, scale: {min: 1, max: 5}}
          - {key: greeting_friendly, text: "Friendly greeting?", type: yes_no, allow_na: true}
          - key: extras
            text: Extras?
            type: multi_choice
            required: false
            options:
              - {key: bag, label: Bag, score: 0.5}
              - {key: receipt, label: Receipt, score: 0.5}
        emotions:
          probes:
            - {stimulus: step, kind: valence}
            - {stimulus: "word:welcome", kind: face, deadline_ms: 2000}
  - key: purchase
    name: Purchase
    steps:
      - key: till
        name: Till
        touchpoint: store
        channel: physical
        questions:
          - {key: wait_minutes, text: "Minutes waited?", type: number, number: {min: 0, max: 60}}
          - {key: price_correct, text: "Price correct?", type: yes_no, evidence_required: true}
          - {key: receipt_photo, text: Receipt photo, type: photo, evidence_required: true}
          - {key: served_at, text: Served at, type: time}
          - {key: comment, text: Comment, type: text, required: false}
        emotions:
          probes: []
"""

QUIZ_RIGHT = {"when": "a"}
QUIZ_WRONG = {"when": "b"}


def new_uuid() -> str:
    return str(uuid.uuid4())


def photo_bytes(fmt: str = "JPEG", size: tuple[int, int] = (32, 24), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def now_iso(offset_minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=offset_minutes)).isoformat()


def entrance_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_uuid": new_uuid(),
        "started_at": now_iso(-10),
        "ended_at": now_iso(-8),
        "latitude": 52.1,
        "longitude": 4.3,
        "accuracy_m": 12,
        "answers": {
            "greeted": "yes",
            "friendliness": 4,
            "greeting_friendly": {"na": True},
            "extras": ["bag"],
        },
        "notes": "busy",
        "conscious": {"valence": 2, "arousal": 4, "emotion": "joy", "intensity": 3},
        "probes": [
            {
                "stimulus": "step",
                "kind": "valence",
                "choice": 1,
                "latency_ms": 612,
                "deadline_ms": 1500,
                "shown_at": now_iso(-8),
            },
            {
                "stimulus": "word:welcome",
                "kind": "face",
                "choice": "happy",
                "latency_ms": 700,
                "deadline_ms": 2000,
                "fixation_ms": 500,
            },
        ],
    }
    body.update(overrides)
    return body


def till_body(receipt: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_uuid": new_uuid(),
        "started_at": now_iso(-7),
        "ended_at": now_iso(-5),
        "answers": {
            "wait_minutes": 3,
            "price_correct": "yes",
            "receipt_photo": [receipt],
            "served_at": "14:05",
        },
        "conscious": {"valence": -1},
    }
    body.update(overrides)
    return body


@dataclass
class Field:
    client: TestClient
    db: Database
    world: World
    shopper: dict[str, str]
    other: dict[str, str]
    manager: dict[str, str]

    def assignment(
        self, *, accept: bool = True, start_offset_h: float = -1, hours: float = 24
    ) -> int:
        start = datetime.now(UTC) + timedelta(hours=start_offset_h)
        created = self.client.post(
            f"/api/v1/projects/{self.world.ids['Alpha']}/assignments",
            json={
                "location_id": self.world.ids["Alpha/loc0"],
                "shopper_id": self.world.ids["shopper-1"],
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=hours)).isoformat(),
            },
            headers=self.manager,
        )
        assert created.status_code == 201, created.text
        assignment_id: int = created.json()["id"]
        if accept:
            accepted = self.client.post(
                f"/api/v1/assignments/{assignment_id}/accept", headers=self.shopper
            )
            assert accepted.status_code == 200, accepted.text
        return assignment_id

    def pass_quiz(self, assignment_id: int) -> None:
        response = self.client.post(
            f"/api/v1/assignments/{assignment_id}/briefing/quiz",
            json={"answers": QUIZ_RIGHT},
            headers=self.shopper,
        )
        assert response.status_code == 201, response.text
        assert response.json()["passed"] is True

    def start(self, assignment_id: int | None = None) -> dict[str, Any]:
        assignment_id = assignment_id or self.assignment()
        self.pass_quiz(assignment_id)
        response = self.client.post(
            f"/api/v1/assignments/{assignment_id}/visit",
            json={
                "client_uuid": new_uuid(),
                "started_at": now_iso(-15),
                "latitude": 52.0,
                "longitude": 4.0,
                "accuracy_m": 8,
                "device": {"platform": "test"},
            },
            headers=self.shopper,
        )
        assert response.status_code == 201, response.text
        visit: dict[str, Any] = response.json()
        return visit

    def put_step(self, visit_id: int, step: str, body: dict[str, Any]) -> Any:
        return self.client.put(
            f"/api/v1/visits/{visit_id}/steps/{step}", json=body, headers=self.shopper
        )

    def upload(
        self,
        visit_id: int,
        media_uuid: str,
        data: bytes | None = None,
        *,
        step: str = "till",
        question: str | None = "receipt_photo",
        filename: str = "photo.jpg",
        content_type: str = "image/jpeg",
    ) -> Any:
        form = {"client_uuid": media_uuid, "step_key": step}
        if question:
            form["question_key"] = question
        return self.client.post(
            f"/api/v1/visits/{visit_id}/media",
            data=form,
            files={"file": (filename, data if data is not None else photo_bytes(), content_type)},
            headers=self.shopper,
        )

    def submit(self, visit_id: int, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(
            f"/api/v1/visits/{visit_id}/submit",
            json=body or {"client_uuid": new_uuid(), "ended_at": now_iso()},
            headers=self.shopper,
        )

    def world_login(self, username: str) -> dict[str, str]:
        return login(self.client, username)

    def count(self, model: Any) -> int:
        with self.db.session() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def field(client: TestClient, db: Database) -> Field:
    caps = ProjectCaps(
        max_open_per_shopper=50,
        max_visits_per_shopper_per_day=50,
        max_visits_per_shopper_per_period=50,
        location_lockout_days=0,
        max_visits_per_location_per_day=50,
    )
    world = standard_world(db, caps=caps)
    with db.session() as session:
        project = session.get(Project, world.ids["Alpha"])
        assert project is not None
        version = load_version(
            session,
            project=project,
            source=FIELD_JOURNEY + BRIEFING.format(traits="{}"),
            filename="field.yaml",
            publish=True,
            actor=None,
        )
        project.journey_version_id = version.id
        session.add(project)
    return Field(
        client=client,
        db=db,
        world=world,
        shopper=login(client, "shopper-1"),
        other=login(client, "shopper-2"),
        manager=login(client, "mgr-a"),
    )
