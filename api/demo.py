"""The demo project that ``fieldwork serve --demo`` loads once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from api.accounts.models import Role, User
from api.accounts.security import hash_password
from api.assignments.models import AssignmentCreate
from api.assignments.service import create_assignments
from api.clients.models import Client
from api.journeys.service import load_version
from api.locations.models import Location
from api.locations.service import import_locations
from api.personas.models import Persona
from api.projects.models import Project, ProjectCaps, ProjectMember, Wave
from api.shoppers.models import ShopperRegister
from api.shoppers.service import register, set_qualified, set_test
from briefings import load_quiz

DEMO_CLIENT = "Demo Retail"
EXAMPLES = Path(__file__).resolve().parent.parent / "briefings" / "examples"
LOCATIONS_CSV = Path(__file__).resolve().parent / "demo_data" / "locations.csv"

# Demo accounts; the README lists them. Change or disable them before real use.
DEMO_LOGINS = {
    "admin": ("admin", "demo-admin-pass"),
    "manager": ("manager", "demo-manager-pass"),
    "shopper": ("shopper", "demo-shopper-pass"),
    "client": ("client", "demo-client-pass"),
}


def load_demo(session: Session, *, today: date | None = None) -> bool:
    """Create the demo project unless it exists; True when it was created now."""
    if session.exec(select(Client).where(Client.name == DEMO_CLIENT)).first() is not None:
        return False
    today = today or date.today()
    client = Client(
        name=DEMO_CLIENT, contact_name="Demo contact", notes="Created by fieldwork serve --demo"
    )
    session.add(client)
    session.flush()

    def account(role: Role, full_name: str) -> User:
        username, password = DEMO_LOGINS[role.value]
        user = User(
            username=username,
            full_name=full_name,
            role=role,
            password_hash=hash_password(password),
            client_id=client.id if role == Role.client else None,
        )
        session.add(user)
        session.flush()
        return user

    account(Role.admin, "Demo Admin")
    manager = account(Role.manager, "Demo Manager")
    account(Role.client, "Demo Client Viewer")

    set_test(
        session,
        title="Mystery shopper qualification",
        quiz=load_quiz(
            (EXAMPLES / "qualification_test.yaml").read_text(), filename="qualification_test.yaml"
        ),
    )
    shopper, profile = register(
        session,
        data=ShopperRegister(
            username=DEMO_LOGINS["shopper"][0],
            password=DEMO_LOGINS["shopper"][1],
            full_name="Demo Shopper",
            date_of_birth=date(1990, 5, 17),
            region="Noord-Holland",
            languages=["nl", "en"],
            gender="female",
        ),
    )
    set_qualified(session, profile=profile, qualified=True, actor_id=manager.id, reason="demo")
    register(
        session,
        data=ShopperRegister(
            username="newcomer",
            password="demo-newcomer-pass",
            full_name="New Shopper (not yet qualified)",
            date_of_birth=date(2001, 2, 3),
            region="Utrecht",
            languages=["nl"],
        ),
    )

    project = Project(
        client_id=client.id or 0,
        name="Store visits 2026",
        description="Five-phase store journey incl. a return at the counter.",
        caps=ProjectCaps(max_open_per_shopper=5, max_visits_per_shopper_per_day=3).model_dump(
            mode="json"
        ),
    )
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id or 0, user_id=manager.id or 0))
    wave = Wave(
        project_id=project.id or 0,
        name="Wave 1",
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=60),
    )
    session.add(wave)
    import_locations(session, project=project, content=LOCATIONS_CSV.read_bytes())
    store_source = (EXAMPLES / "store_visit.yaml").read_text()
    load_version(
        session,
        project=project,
        source=store_source,
        filename="store_visit.yaml",
        publish=True,
        actor=manager,
    )
    session.flush()

    personas = [
        Persona(
            project_id=project.id or 0,
            name="Busy parent",
            description="Shops with a toddler, short on time, wants quick help.",
            traits={"age": "30-45", "household": "family"},
        ),
        Persona(
            project_id=project.id or 0,
            name="Bargain hunter",
            description="Compares prices and asks for the best deal.",
            traits={"age": "20-35", "price_sensitive": True},
        ),
    ]
    session.add_all(personas)
    session.flush()

    locations = session.exec(
        select(Location)
        .where(Location.project_id == project.id, Location.kind == "physical")
        .order_by(Location.id)
    ).all()
    start = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    items = [
        AssignmentCreate(
            location_id=loc.id or 0,
            shopper_id=shopper.id if i < 2 else None,
            wave_id=wave.id,
            persona_id=personas[i % 2].id,
            window_start=start + timedelta(days=i),
            window_end=start + timedelta(days=i + 7, hours=12),
            notes="Visit between 10:00 and 17:00 on a weekday." if i < 2 else "",
        )
        for i, loc in enumerate(locations[:6])
    ]
    create_assignments(session, project=project, items=items, actor=manager, today=today)
    return True
