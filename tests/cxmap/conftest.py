"""A project whose approved visits are generated so that the CX map's answers are known.

Five steps, each scored by a basis and an ease question on a 0–10 scale, so a step scores
5·(basis + ease) and the visit (equal weights, no knock-outs) the mean of its five steps:

- ``greet``: 80–90, warm (valence +2, probe +1) — nothing to flag;
- ``advice``: 10–100 following a per-visit "quality" draw — it alone moves the visit score, so it
  is the one moment of truth (and, at a mean near 55, a pain point by score);
- ``queue``: 20–40 before the action's completion day, 30–50 from it on — a pain point by score
  whose action plan shows a clear improvement;
- ``pay``: 70–90 but felt badly (valence −3, probe −1) — a pain point by emotion;
- ``farewell``: always 95 (basis 10, ease 9) and felt neutrally (valence 0, probe 0) — the
  opportunity.

Visit i of ``VISITS`` falls on day ``FIRST_DAY + i``; even visits play persona "Busy parent",
odd ones "Bargain hunter". The rows are written as the review workflow leaves them (approved
assignment, visit, step observations) and materialised by ``materialise_visit``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.assignments.models import Assignment, AssignmentStatus
from api.db import Database
from api.journeys.service import load_version
from api.personas.models import Persona
from api.projects.models import Project, ProjectCaps, Wave
from api.results.materialise import materialise_visit
from api.visits.models import StepObservation, Visit
from tests.helpers import BRIEFING, World, login, standard_world

API = "/api/v1"
VISITS = 40
FIRST_DAY = date.today() - timedelta(days=60)
QUEUE_FIXED_ON = FIRST_DAY + timedelta(days=25)  # visits 25…39 are "after": 25 before, 15 after
LATE_DONE_ON = FIRST_DAY + timedelta(days=37)  # 3 visits after: too few to tell
STEPS = ("greet", "advice", "queue", "pay", "farewell")
PHASES = {"arrival": ("greet",), "advice": ("advice",), "checkout": ("queue", "pay", "farewell")}
EMOTIONS = {
    "greet": (2, 1),
    "advice": (1, 1),
    "queue": (-1, 0),
    "pay": (-3, -1),
    "farewell": (0, 0),
}


def _journey() -> str:
    lines = ["key: cx", "name: CX map test journey", "phases:"]
    for phase, steps in PHASES.items():
        lines += [f"  - key: {phase}", f"    name: {phase.title()}", "    steps:"]
        for step in steps:
            lines += [
                f"      - key: {step}",
                f"        name: {step.title()}",
                f"        touchpoint: {'website' if step == 'advice' else 'store'}",
                f"        channel: {'online' if step == 'advice' else 'physical'}",
                "        questions:",
                f"          - {{key: {step}_basis, text: 'Right?', type: scale, "
                "scale: {min: 0, max: 10}}",
                f"          - {{key: {step}_ease, text: 'Easy?', type: scale, "
                "scale: {min: 0, max: 10}, level: ease}",
                "        emotions:",
                "          probes: [{stimulus: step, kind: valence}]",
            ]
    return "\n".join(lines) + "\n"


CX_JOURNEY = _journey()


@dataclass
class Generated:
    """Per visit: its day, persona name and step scores (as the journey scores them)."""

    days: list[date] = field(default_factory=list)
    personas: list[str] = field(default_factory=list)
    answers: list[dict[str, tuple[int, int]]] = field(default_factory=list)

    def step_scores(self, step: str) -> list[float]:
        return [5.0 * sum(visit[step]) for visit in self.answers]

    def visit_scores(self) -> list[float]:
        return [sum(5.0 * sum(visit[s]) for s in STEPS) / len(STEPS) for visit in self.answers]


def generate() -> Generated:
    rng = random.Random(20261123)
    data = Generated()
    for i in range(VISITS):
        day = FIRST_DAY + timedelta(days=i)
        quality = rng.randint(1, 10)
        queue_low = 3 if day >= QUEUE_FIXED_ON else 2
        data.days.append(day)
        data.personas.append("Busy parent" if i % 2 == 0 else "Bargain hunter")
        data.answers.append(
            {
                "greet": (rng.choice((8, 9)), rng.choice((8, 9))),
                "advice": (quality, quality),
                "queue": (queue_low + rng.randint(0, 2), queue_low + rng.randint(0, 2)),
                "pay": (rng.choice((7, 8, 9)), rng.choice((7, 8, 9))),
                "farewell": (10, 9),
            }
        )
    return data


@dataclass
class CxWorld:
    client: TestClient
    db: Database
    world: World
    data: Generated
    personas: dict[str, int]
    manager: dict[str, str]
    viewer: dict[str, str]

    @property
    def project_id(self) -> int:
        return self.world.ids["Alpha"]

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        response = self.client.get(f"{API}{path}", params=params, headers=headers or self.manager)
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.request(
            method, f"{API}{path}", json=body, headers=headers or self.manager
        )


def _seed_visits(
    db: Database,
    world: World,
    data: Generated,
    personas: dict[str, int],
    waves: dict[str, int] | None = None,
) -> None:
    with db.session() as session:
        project = session.get(Project, world.ids["Alpha"])
        assert project is not None and project.journey_version_id is not None
        visit_ids = []
        for day, persona, answers in zip(data.days, data.personas, data.answers, strict=True):
            start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
            assignment = Assignment(
                project_id=project.id or 0,
                location_id=world.ids["Alpha/loc0"],
                shopper_id=world.ids["shopper-1"],
                persona_id=personas[persona],
                wave_id=None if not waves else waves[wave_of(day)],
                journey_version_id=project.journey_version_id,
                status=AssignmentStatus.approved,
                window_start=start - timedelta(hours=2),
                window_end=start + timedelta(hours=8),
                visit_day=day,
            )
            session.add(assignment)
            session.flush()
            visit = Visit(
                assignment_id=assignment.id or 0,
                client_uuid=str(uuid.uuid4()),
                payload_hash="0" * 64,
                started_at=start,
                submitted_at=start + timedelta(minutes=30),
                ended_at=start + timedelta(minutes=30),
            )
            session.add(visit)
            session.flush()
            for minute, step in enumerate(STEPS):
                valence, choice = EMOTIONS[step]
                basis, ease = answers[step]
                session.add(
                    StepObservation(
                        visit_id=visit.id or 0,
                        step_key=step,
                        client_uuid=str(uuid.uuid4()),
                        payload_hash="0" * 64,
                        answers={f"{step}_basis": basis, f"{step}_ease": ease},
                        started_at=start + timedelta(minutes=5 * minute),
                        ended_at=start + timedelta(minutes=5 * minute + 3),
                        conscious={"valence": valence},
                        probes=[
                            {
                                "stimulus": "step",
                                "kind": "valence",
                                "choice": choice,
                                "latency_ms": 600,
                                "deadline_ms": 1500,
                            }
                        ],
                    )
                )
            session.flush()
            visit_ids.append(visit.id or 0)
        for visit_id in visit_ids:
            materialise_visit(session, visit_id=visit_id)


def wave_of(day: date) -> str:
    """With waves: the first 20 visits fall in "Wave 1", the last 20 in "Wave 2"."""
    return "Wave 1" if day < FIRST_DAY + timedelta(days=VISITS // 2) else "Wave 2"


@dataclass
class Seeded:
    world: World
    data: Generated
    personas: dict[str, int]
    waves: dict[str, int]


def seed_cx_project(db: Database, *, waves: bool = False) -> Seeded:
    """The generated project (Alpha of ``standard_world``) with its approved, materialised visits;
    ``waves`` splits them into two waves of 20."""
    world = standard_world(db, caps=ProjectCaps())
    wave_ids: dict[str, int] = {}
    with db.session() as session:
        project = session.get(Project, world.ids["Alpha"])
        assert project is not None
        version = load_version(
            session,
            project=project,
            source=CX_JOURNEY + BRIEFING.format(traits="{}"),
            filename="cx.yaml",
            publish=True,
            actor=None,
        )
        project.journey_version_id = version.id
        session.add(project)
        personas = {}
        for name in ("Busy parent", "Bargain hunter"):
            persona = Persona(project_id=project.id or 0, name=name, traits={"segment": name})
            session.add(persona)
            session.flush()
            personas[name] = persona.id or 0
        if waves:
            half = timedelta(days=VISITS // 2)
            for name, start in (("Wave 1", FIRST_DAY), ("Wave 2", FIRST_DAY + half)):
                wave = Wave(
                    project_id=project.id or 0,
                    name=name,
                    starts_on=start,
                    ends_on=start + half - timedelta(days=1),
                )
                session.add(wave)
                session.flush()
                wave_ids[name] = wave.id or 0
    data = generate()
    _seed_visits(db, world, data, personas, wave_ids)
    return Seeded(world=world, data=data, personas=personas, waves=wave_ids)


@pytest.fixture
def cx(client: TestClient, db: Database) -> CxWorld:
    seeded = seed_cx_project(db)
    return CxWorld(
        client=client,
        db=db,
        world=seeded.world,
        data=seeded.data,
        personas=seeded.personas,
        manager=login(client, "mgr-a"),
        viewer=login(client, "acme-viewer"),
    )
