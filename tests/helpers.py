"""Seeding through the services (fast) and signing in through the API (real)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from api.accounts.models import Role, User, UserCreate
from api.accounts.service import create_user
from api.clients.models import Client
from api.db import Database
from api.journeys.service import load_version
from api.locations.models import Location, LocationCreate
from api.locations.service import create_location
from api.projects.models import Project, ProjectCaps, ProjectMember
from api.shoppers.models import ShopperRegister
from api.shoppers.service import register, set_qualified

PASSWORD = "correct-horse-battery"

MINIMAL_JOURNEY = """\
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
        questions:
          - key: greeted
            text: Were you greeted within a minute?
            type: yes_no
{briefing}"""

BRIEFING = """\
briefing:
  scenario: You are looking for a new phone.
  persona:
    name: Busy parent
    description: Short on time.
    traits: {traits}
  quiz:
    pass_mark: 100
    questions:
      - key: when
        text: When do you visit?
        options: [{{key: a, label: On a weekday}}, {{key: b, label: On Sunday}}]
        correct: a
"""


def journey_text(traits: str = "{}") -> str:
    return MINIMAL_JOURNEY.format(briefing=BRIEFING.format(traits=traits))


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def window(day: date, days: int = 3) -> dict[str, str]:
    return {
        "window_start": at(day).isoformat(),
        "window_end": (at(day) + timedelta(days=days)).isoformat(),
    }


@dataclass
class World:
    """Two clients with a project each, their managers and client users, and shoppers."""

    db: Database
    ids: dict[str, int] = field(default_factory=dict)

    def user(self, session: Any, username: str, role: Role, client_id: int | None = None) -> int:
        user = create_user(
            session,
            data=UserCreate(username=username, password=PASSWORD, role=role, client_id=client_id),
            actor=None,
        )
        assert user.id is not None
        self.ids[username] = user.id
        return user.id

    def shopper(
        self,
        username: str,
        *,
        qualified: bool = True,
        born: date = date(1990, 1, 1),
        region: str = "north",
        languages: tuple[str, ...] = ("nl",),
        gender: str | None = None,
        rating: float | None = None,
        approved_visits: int = 0,
    ) -> int:
        with self.db.session() as session:
            user, profile = register(
                session,
                data=ShopperRegister(
                    username=username,
                    password=PASSWORD,
                    date_of_birth=born,
                    region=region,
                    languages=list(languages),
                    gender=gender,
                ),
            )
            if qualified:
                set_qualified(
                    session, profile=profile, qualified=True, actor_id=None, reason="test"
                )
            profile.rating = rating
            profile.approved_visits = approved_visits
            session.add(profile)
            assert user.id is not None
            self.ids[username] = user.id
            return user.id

    def project(
        self,
        name: str,
        *,
        client: str,
        manager: str,
        caps: ProjectCaps | None = None,
        traits: str = "{}",
        locations: int = 3,
        region: str = "north",
    ) -> int:
        with self.db.session() as session:
            client_row = Client(name=client)
            session.add(client_row)
            session.flush()
            assert client_row.id is not None
            self.ids[client] = client_row.id
            project = Project(
                client_id=client_row.id,
                name=name,
                caps=(caps or ProjectCaps()).model_dump(mode="json"),
            )
            session.add(project)
            session.flush()
            assert project.id is not None
            self.ids[name] = project.id
            manager_id = self.user(session, manager, Role.manager)
            session.add(ProjectMember(project_id=project.id, user_id=manager_id))
            self.user(
                session, f"{client.lower().replace(' ', '-')}-viewer", Role.client, client_row.id
            )
            load_version(
                session,
                project=project,
                source=journey_text(traits),
                filename="mini.yaml",
                publish=True,
                actor=None,
            )
            for i in range(locations):
                loc = create_location(
                    session,
                    project=project,
                    data=LocationCreate(
                        code=f"{name[:3].upper()}-{i}",
                        name=f"Shop {i}",
                        latitude=52.0 + i / 100,
                        longitude=4.0,
                        region=region,
                    ),
                )
                assert loc.id is not None
                self.ids[f"{name}/loc{i}"] = loc.id
            return project.id

    def set_caps(self, project: str, **caps: Any) -> None:
        with self.db.session() as session:
            row = session.get(Project, self.ids[project])
            assert row is not None
            row.caps = ProjectCaps.model_validate(row.caps | caps).model_dump(mode="json")
            session.add(row)

    def location(self, project: str, index: int) -> Location:
        with self.db.session() as session:
            loc = session.get(Location, self.ids[f"{project}/loc{index}"])
            assert loc is not None
            return loc

    def user_row(self, username: str) -> User:
        with self.db.session() as session:
            row = session.get(User, self.ids[username])
            assert row is not None
            return row


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def standard_world(db: Database, *, caps: ProjectCaps | None = None) -> World:
    """Project "Alpha" (client Acme, manager "mgr-a") and "Beta" (client Bolt, manager "mgr-b")."""
    world = World(db)
    with db.session() as session:
        world.user(session, "admin", Role.admin)
    world.project("Alpha", client="Acme", manager="mgr-a", caps=caps)
    world.project("Beta", client="Bolt", manager="mgr-b")
    world.shopper("shopper-1")
    world.shopper("shopper-2")
    world.shopper("rookie", qualified=False)
    return world
