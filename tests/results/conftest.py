"""A project with a small, hand-scorable journey, and visits submitted through the API and then
approved (or rejected, or revoked) in the database the way the review workflow does it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.assignments.models import Assignment, AssignmentStatus
from api.assignments.states import transition
from api.db import Database
from api.journeys.service import load_version
from api.locations.models import LocationCreate, LocationKind
from api.locations.service import create_location
from api.projects.models import Project, ProjectCaps, WaveCreate
from api.projects.service import create_wave
from api.results.materialise import materialise_visit, remove_visit
from api.visits.models import Visit
from tests.helpers import BRIEFING, World, login, standard_world

API = "/api/v1"
CHECKIN_BEFORE = timedelta(minutes=15)  # a seeded visit checks in this long before it is sent


def checkin_day() -> date:
    """The results' day of a visit seeded now: the UTC day of its check-in (which, just after
    midnight, is yesterday)."""
    return (datetime.now(UTC) - CHECKIN_BEFORE).date()


# Scores by hand (docs/scoring.md): entry = 100·(greeted + (friendly−1)/4)/2, till (weight 2) =
# 100·(price_ok + quick)/2, visit = (entry + 2·till)/3, and a "no" to price_ok knocks the visit
# out. Levels: basis = (greeted + 2·price_ok)/3, ease = quick, emotion = (friendly−1)/4.
RESULTS_JOURNEY = """\
key: results
name: Results test journey
phases:
  - key: arrival
    name: Arrival
    steps:
      - key: entry
        name: Entry
        touchpoint: store
        channel: physical
        questions:
          - {key: greeted, text: "Greeted?", type: yes_no}
          - {key: friendly, text: "Friendly?", type: scale, scale: {min: 1, max: 5}, level: emotion}
        emotions:
          probes: [{stimulus: step, kind: valence}]
  - key: pay
    name: Pay
    steps:
      - key: till
        name: Till
        touchpoint: store
        channel: physical
        weight: 2
        questions:
          - {key: price_ok, text: "Price right?", type: yes_no, knockout: visit}
          - {key: quick, text: "Quick?", type: yes_no, level: ease}
        emotions:
          probes: [{stimulus: step, kind: valence}]
"""


@dataclass(frozen=True)
class Answers:
    greeted: str = "yes"
    friendly: int = 5
    price_ok: str = "yes"
    quick: str = "yes"
    entry_valence: int = 3
    till_valence: int = 3
    entry_probe: int = 1
    till_probe: int = 1


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Results:
    client: TestClient | httpx.Client
    db: Database
    world: World
    manager: dict[str, str]
    shopper: dict[str, str]

    @property
    def project_id(self) -> int:
        return self.world.ids["Alpha"]

    def get(self, endpoint: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = self.client.get(
            f"{API}/projects/{self.project_id}/results/{endpoint}",
            params=params,
            headers=headers or self.manager,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def submitted_visit(
        self, answers: Answers, *, location: str = "Alpha/loc0", wave: str | None = None
    ) -> int:
        """A visit of shopper-1 through the API, submitted; returns its id."""
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "location_id": self.world.ids[location],
            "shopper_id": self.world.ids["shopper-1"],
            "window_start": _iso(now - timedelta(hours=1)),
            "window_end": _iso(now + timedelta(hours=23)),
        }
        if wave:
            body["wave_id"] = self.world.ids[wave]
        created = self.client.post(
            f"{API}/projects/{self.project_id}/assignments", json=body, headers=self.manager
        )
        assert created.status_code == 201, created.text
        assignment_id = created.json()["id"]
        for path, payload, expected in (
            ("accept", None, 200),
            ("briefing/quiz", {"answers": {"when": "a"}}, 201),
        ):
            response = self.client.post(
                f"{API}/assignments/{assignment_id}/{path}", json=payload, headers=self.shopper
            )
            assert response.status_code == expected, response.text
        started = self.client.post(
            f"{API}/assignments/{assignment_id}/visit",
            json={
                "client_uuid": str(uuid.uuid4()),
                "started_at": _iso(now - CHECKIN_BEFORE),
                "latitude": 52.0,
                "longitude": 4.0,
                "accuracy_m": 5,
            },
            headers=self.shopper,
        )
        assert started.status_code == 201, started.text
        visit_id: int = started.json()["id"]
        steps = {
            "entry": (
                {"greeted": answers.greeted, "friendly": answers.friendly},
                answers.entry_valence,
                answers.entry_probe,
            ),
            "till": (
                {"price_ok": answers.price_ok, "quick": answers.quick},
                answers.till_valence,
                answers.till_probe,
            ),
        }
        for minute, (step_key, (step_answers, valence, choice)) in enumerate(steps.items()):
            written = self.client.put(
                f"{API}/visits/{visit_id}/steps/{step_key}",
                json={
                    "client_uuid": str(uuid.uuid4()),
                    "started_at": _iso(now - timedelta(minutes=12 - 4 * minute)),
                    "ended_at": _iso(now - timedelta(minutes=10 - 4 * minute)),
                    "answers": step_answers,
                    "conscious": {"valence": valence},
                    "probes": [
                        {
                            "stimulus": "step",
                            "kind": "valence",
                            "choice": choice,
                            "latency_ms": 600,
                            "deadline_ms": 1500,
                        }
                    ],
                },
                headers=self.shopper,
            )
            assert written.status_code == 200, written.text
        submitted = self.client.post(
            f"{API}/visits/{visit_id}/submit",
            json={"client_uuid": str(uuid.uuid4()), "ended_at": _iso(now)},
            headers=self.shopper,
        )
        assert submitted.status_code == 200, submitted.text
        return visit_id

    def _decide(self, visit_id: int, target: AssignmentStatus, action: str) -> None:
        with self.db.session() as session:
            visit = session.get(Visit, visit_id)
            assert visit is not None
            assignment = session.get(Assignment, visit.assignment_id)
            assert assignment is not None
            if assignment.status != AssignmentStatus.submitted:  # e.g. auto-approved by QC
                return
            transition(session, assignment, target, actor_id=self.world.ids["mgr-a"], action=action)
            if target == AssignmentStatus.approved:
                materialise_visit(session, visit_id=visit_id)

    def approve(self, visit_id: int) -> None:
        self._decide(visit_id, AssignmentStatus.approved, "approved")

    def reject(self, visit_id: int) -> None:
        self._decide(visit_id, AssignmentStatus.rejected, "rejected")

    def revoke(self, visit_id: int) -> None:
        with self.db.session() as session:
            visit = session.get(Visit, visit_id)
            assert visit is not None
            assignment = session.get(Assignment, visit.assignment_id)
            assert assignment is not None
            transition(
                session,
                assignment,
                AssignmentStatus.submitted,
                actor_id=self.world.ids["mgr-a"],
                action="approval_revoked",
            )
            remove_visit(session, visit_id=visit_id)

    def approved_visit(self, answers: Answers, **where: Any) -> int:
        visit_id = self.submitted_visit(answers, **where)
        self.approve(visit_id)
        return visit_id


@pytest.fixture
def results(client: TestClient, db: Database) -> Results:
    return build_results(client, db)


def build_results(client: TestClient | httpx.Client, db: Database) -> Results:
    """The standard world with project Alpha measuring RESULTS_JOURNEY: targets, a web shop
    (region south) next to the three shops (north), and the waves Spring and Autumn."""
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
            source=RESULTS_JOURNEY + BRIEFING.format(traits="{}"),
            filename="results.yaml",
            publish=True,
            actor=None,
        )
        project.journey_version_id = version.id
        project.targets = {"entry": 80.0, "till": 60.0}
        session.add(project)
        world.ids["Alpha/web"] = create_location(
            session,
            project=project,
            data=LocationCreate(
                code="ALP-WEB",
                name="Web shop",
                kind=LocationKind.online,
                url="https://shop.example",
                region="south",
            ),
        ).id
        today = date.today()
        for name in ("Spring", "Autumn"):
            world.ids[name] = create_wave(
                session,
                project=project,
                data=WaveCreate(
                    name=name,
                    starts_on=today - timedelta(days=30 if name == "Spring" else 1),
                    ends_on=today + timedelta(days=30),
                ),
            ).id
    return Results(
        client=client,
        db=db,
        world=world,
        manager=login(client, "mgr-a"),
        shopper=login(client, "shopper-1"),
    )
