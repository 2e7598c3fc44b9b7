"""Who may call which route on whose objects: one row per route, one expected outcome per actor.

The rules (DESIGN.md, "API shape"): admins see everything; a manager sees and changes the projects
they are a member of; a client user reads their own client's projects with their locations and
waves, never shoppers, assignments, visits, users or clients; a shopper sees their own assignments
and visits.

Outcomes, always problem+json when not 2xx:
- 401 without a token;
- 403 when the actor's role may never use the route, whatever the object (decided before the
  object is looked up, so it reveals nothing);
- 404 when the role may use the route but this object belongs to others (answered exactly like an
  id that does not exist);
- "ok" (2xx) otherwise.

Every row targets objects of project Alpha (client Acme, manager mgr-a). A refused request must
leave every table as it was. A write that succeeds runs in a world of its own, so one row's change
never decides another row's outcome.
"""

from __future__ import annotations

import io
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url

from api.accounts.models import User
from api.apikeys.models import ApiKeyCreate
from api.apikeys.service import create_key
from api.assignments.models import AssignmentCreate
from api.assignments.service import accept, create_assignments
from api.assignments.service import get_assignment as load_assignment
from api.config import Settings
from api.cxmap.models import ActionPlan, SourceKind
from api.db import Database
from api.journeys.service import load_version
from api.locations.models import LocationCreate
from api.locations.service import create_location
from api.main import create_app
from api.models import metadata
from api.personas.models import Persona
from api.projects.models import Project, ProjectCaps, WaveCreate
from api.projects.service import create_wave
from api.shoppers.models import ShopperProfile
from api.shoppers.service import set_qualified, set_test
from api.webhooks.models import Webhook
from briefings import load_quiz
from tests.conftest import PG_URL
from tests.helpers import PASSWORD, at, journey_text, login, standard_world, window

API = "/api/v1"
PUBLIC_ROUTES = {("POST", "/auth/token"), ("GET", "/health"), ("POST", "/shoppers/register")}
QUALIFICATION_TEST = (
    Path(__file__).parents[2] / "briefings" / "examples" / "qualification_test.yaml"
)

ADMIN, MGR_A, MGR_B = "admin", "mgr-a", "mgr-b"
ACME, BOLT = "acme-viewer", "bolt-viewer"
S1, S2 = "shopper-1", "shopper-2"
ANON = "anonymous"
ACTORS = (ADMIN, MGR_A, MGR_B, ACME, BOLT, S1, S2, ANON)
SIGNED_IN = ACTORS[:-1]
STAFF = (ADMIN, MGR_A, MGR_B)
SHOPPERS = (S1, S2)

Outcome = str | int  # "ok" or a status code
VISIT_DAY = date.today() + timedelta(days=5)


def expect(ok: tuple[str, ...] = (), hidden: tuple[str, ...] = ()) -> dict[str, Outcome]:
    """``ok`` succeed, ``hidden`` get 404, anonymous 401, every other actor 403."""
    return {
        actor: 401 if actor == ANON else "ok" if actor in ok else 404 if actor in hidden else 403
        for actor in ACTORS
    }


# Shoppers never use project routes and client users never use assignment or visit routes: 403,
# like any other route their role may not use (the API answered 404 when this was written).
ALPHA_STAFF = expect(ok=(ADMIN, MGR_A), hidden=(MGR_B,))
ALPHA_READERS = expect(ok=(ADMIN, MGR_A, ACME), hidden=(MGR_B, BOLT))
S1_AND_ALPHA_STAFF = expect(ok=(ADMIN, MGR_A, S1), hidden=(MGR_B, S2))
S1_ONLY = expect(ok=(S1,), hidden=(S2,))


# ---------------------------------------------------------------- the world every row runs in


def now_iso(minutes: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def new_uuid() -> str:
    return str(uuid.uuid4())


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


def entrance_step() -> dict[str, Any]:
    return {
        "client_uuid": new_uuid(),
        "started_at": now_iso(-10),
        "ended_at": now_iso(-8),
        "answers": {"greeted": "yes"},
        "conscious": {"valence": 2},
    }


def seed(db: Database, client: TestClient) -> dict[str, Any]:
    """standard_world plus, in Alpha: a wave, a draft journey version, and visits of shopper-1:
    offered (next week), accepted (window open now, briefing quiz passed) and in progress (its
    visit started, the step written, a photo uploaded); an open job-board visit; a qualification
    test. Returns the ids."""
    ids: dict[str, Any] = dict(standard_world(db, caps=ProjectCaps(max_open_per_shopper=5)).ids)
    now = datetime.now(UTC)
    with db.session() as session:
        project = session.get(Project, ids["Alpha"])
        admin = session.get(User, ids[ADMIN])
        shopper = session.get(User, ids[S1])
        assert project is not None and admin is not None and shopper is not None
        assert project.journey_version_id is not None
        ids["Alpha/v1"] = project.journey_version_id
        draft = load_version(
            session,
            project=project,
            source=journey_text().replace("Minimal store visit", "Minimal store visit, v2"),
            filename="mini.yaml",
            publish=False,
            actor=admin,
        )
        ids["Alpha/draft"] = draft.id
        # Revocations only: no row here revokes, so no delivery is ever queued in the matrix.
        webhook = Webhook(
            project_id=ids["Alpha"], url="http://127.0.0.1:9/", events=["visit.revoked"], secret="s"
        )
        session.add(webhook)
        session.flush()
        ids["webhook"] = webhook.id
        ids["Alpha/wave"] = create_wave(
            session,
            project=project,
            data=WaveCreate(
                name="Spring", starts_on=date.today(), ends_on=VISIT_DAY + timedelta(60)
            ),
        ).id
        for index in (3, 4):
            ids[f"Alpha/loc{index}"] = create_location(
                session,
                project=project,
                data=LocationCreate(
                    code=f"ALP-{index}", name=f"Shop {index}", latitude=52.1, longitude=4.1
                ),
            ).id
        later = {"window_start": at(VISIT_DAY), "window_end": at(VISIT_DAY + timedelta(days=3))}
        current = {"window_start": now - timedelta(hours=1), "window_end": now + timedelta(days=2)}
        result = create_assignments(
            session,
            project=project,
            items=[
                AssignmentCreate(location_id=ids["Alpha/loc0"], shopper_id=ids[S1], **later),
                AssignmentCreate(location_id=ids["Alpha/loc2"], **later),
                AssignmentCreate(location_id=ids["Alpha/loc3"], shopper_id=ids[S1], **current),
                AssignmentCreate(location_id=ids["Alpha/loc4"], shopper_id=ids[S1], **current),
            ],
            actor=admin,
        )
        ids["offered"], ids["open"], ids["accepted"], ids["in_progress"] = (
            row.assignment_id for row in result.rows
        )
        for key in ("accepted", "in_progress"):
            assignment = load_assignment(session, user=shopper, assignment_id=ids[key])
            accept(session, assignment=assignment, shopper=shopper)
        ids["api_key"] = create_key(
            session, client_id=ids["Acme"], data=ApiKeyCreate(name="BI"), actor=admin
        )[0].id
        persona = Persona(project_id=ids["Alpha"], name="Busy parent")
        plan = ActionPlan(
            project_id=ids["Alpha"],
            title="Greet within a minute",
            source_kind=SourceKind.manual,
            step_keys=["entrance"],
            recheck_on=date.today() + timedelta(days=182),
        )
        session.add_all([persona, plan])
        session.flush()
        ids["persona"], ids["action_plan"] = persona.id, plan.id
        set_test(
            session,
            title="General",
            quiz=load_quiz(QUALIFICATION_TEST.read_text(), filename="qualification_test.yaml"),
        )

    # The visit itself through the API, as the shopper's phone would.
    s1 = login(client, S1)
    for key in ("accepted", "in_progress"):
        quiz = client.post(
            f"{API}/assignments/{ids[key]}/briefing/quiz",
            json={"answers": {"when": "a"}},
            headers=s1,
        )
        assert quiz.status_code == 201 and quiz.json()["passed"], quiz.text
    started = client.post(
        f"{API}/assignments/{ids['in_progress']}/visit",
        json={
            "client_uuid": new_uuid(),
            "started_at": now_iso(-15),
            "latitude": 52.1,
            "longitude": 4.1,
        },
        headers=s1,
    )
    assert started.status_code == 201, started.text
    ids["visit"] = started.json()["id"]
    step = client.put(
        f"{API}/visits/{ids['visit']}/steps/entrance", json=entrance_step(), headers=s1
    )
    assert step.status_code == 200, step.text
    ids["step"] = "entrance"
    ids["photo"] = new_uuid()
    uploaded = client.post(
        f"{API}/visits/{ids['visit']}/media",
        data={"client_uuid": ids["photo"], "step_key": "entrance"},
        files={"file": ("shelf.png", photo(), "image/png")},
        headers=s1,
    )
    assert uploaded.status_code == 201, uploaded.text
    return ids


@pytest.fixture(scope="module")
def _app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app for the module (building one costs more than most rows); each test binds it to
    its own database below. Media land in the module's data directory."""
    data_dir = tmp_path_factory.mktemp("authz-data")
    settings = Settings(
        data_dir=data_dir, secret_key="test-secret-" + "x" * 32, expiry_interval_seconds=0
    )
    return create_app(settings, database=Database(f"sqlite:///{data_dir / 'unused.sqlite3'}"))


@pytest.fixture
def app(_app: FastAPI, db: Database) -> FastAPI:
    _app.state.db = db
    return _app


@pytest.fixture(scope="module")
def _seeded_template(
    _template: str, _app: FastAPI, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """On SQLite the world is seeded once and its file copied for every test."""
    if PG_URL:
        return None
    path = tmp_path_factory.mktemp("authz") / "seeded.sqlite3"
    shutil.copyfile(_template, path)
    db = Database(f"sqlite:///{path}")
    _app.state.db = db
    with TestClient(_app) as client:
        ids = seed(db, client)
    db.dispose()  # folds the WAL back into the file
    return path, ids


@pytest.fixture
def database_url(database_url: str, _seeded_template: Any) -> str:
    if _seeded_template is not None:
        shutil.copyfile(_seeded_template[0], make_url(database_url).database or "")
    return database_url


@dataclass
class Ctx:
    client: TestClient
    db: Database
    ids: dict[str, Any]
    _tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """Signs in through the API the first time an actor is needed."""
        if actor == ANON:
            return {}
        if actor not in self._tokens:
            self._tokens[actor] = login(self.client, actor)
        return self._tokens[actor]


@pytest.fixture
def ctx(app: FastAPI, db: Database, _seeded_template: Any) -> Iterator[Ctx]:
    # A server error is an outcome here (500), not an exception that hides the other actors.
    with TestClient(app, raise_server_exceptions=False) as client:
        ids = dict(_seeded_template[1]) if _seeded_template is not None else seed(db, client)
        yield Ctx(client=client, db=db, ids=ids)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with db.session(read_only=True) as session:
        conn = session.connection()
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(sa_select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def problem_issues(response: httpx.Response) -> list[str]:
    """What keeps an error response from being RFC 9457 problem+json (nothing, ideally)."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return [f"content-type {response.headers.get('content-type')!r}"]
    body = response.json()
    issues = []
    missing = {"type", "title", "status", "detail"} - set(body)
    if missing:
        issues.append(f"problem without {sorted(missing)}")
    if body.get("status") != response.status_code:
        issues.append(f"problem status {body.get('status')} != {response.status_code}")
    if response.status_code == 401 and response.headers.get("www-authenticate") != "Bearer":
        issues.append("401 without WWW-Authenticate: Bearer")
    return issues


def outcome(response: httpx.Response) -> Outcome:
    return "ok" if response.is_success else response.status_code


# ---------------------------------------------------------------- the table


Body = Callable[[Ctx], dict[str, Any]]


def json_body(make: Callable[[Ctx], Any]) -> Body:
    return lambda ctx: {"json": make(ctx)}


DEFAULT_TARGETS = {
    "project_id": "Alpha",
    "location_id": "Alpha/loc0",
    "version_id": "Alpha/v1",
    "assignment_id": "offered",
    "visit_id": "visit",
    "step_key": "step",
    "client_uuid": "photo",
    "client_id": "Acme",
    "shopper_id": S1,
    "user_id": ACME,
    "appeal_id": "appeal",
    "key_id": "api_key",
    "persona_id": "persona",
    "action_plan_id": "action_plan",
    "webhook_id": "webhook",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the OpenAPI document, without the /api/v1 prefix
    expected: dict[str, Outcome]
    body: Body | None = None
    targets: dict[str, str] = field(default_factory=dict)  # path parameter → key in Ctx.ids
    setup: Callable[[Ctx, str], None] | None = None  # runs before the actor's request

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, ctx: Ctx) -> str:
        targets = DEFAULT_TARGETS | self.targets
        return API + re.sub(r"\{(\w+)\}", lambda m: str(ctx.ids[targets[m[1]]]), self.path)

    def send(self, ctx: Ctx, actor: str) -> httpx.Response:
        kwargs = self.body(ctx) if self.body else {}
        return ctx.client.request(self.method, self.url(ctx), headers=ctx.headers(actor), **kwargs)


def _unqualify(ctx: Ctx, actor: str) -> None:
    """Only an unqualified shopper may take the qualification test."""
    if actor not in SHOPPERS:
        return
    with ctx.db.session() as session:
        profile = session.get(ShopperProfile, ctx.ids[actor])
        assert profile is not None
        set_qualified(session, profile=profile, qualified=False, actor_id=None, reason="test")


def _new_assignment(ctx: Ctx) -> dict[str, Any]:
    return {
        "location_id": ctx.ids["Alpha/loc1"],
        "shopper_id": ctx.ids[S2],
        **window(VISIT_DAY + timedelta(days=1)),
    }


def _new_shopper(_: Ctx) -> dict[str, Any]:
    return {
        "username": "new-shopper",
        "password": PASSWORD,
        "date_of_birth": "1990-05-05",
        "region": "north",
    }


def _submit_visit(ctx: Ctx, _: str) -> None:
    """Review routes need a submitted visit: the seeded one, submitted by its shopper once."""
    s1 = ctx.headers(S1)
    visit = ctx.client.get(f"{API}/visits/{ctx.ids['visit']}", headers=s1).json()
    if visit["status"] != "in_progress":
        return
    submitted = ctx.client.post(
        f"{API}/visits/{ctx.ids['visit']}/submit",
        json={"client_uuid": new_uuid(), "ended_at": now_iso()},
        headers=s1,
    )
    assert submitted.status_code == 200, submitted.text


def _approve_visit(ctx: Ctx, actor: str) -> None:
    """Appeal routes need an approved visit: the seeded one, submitted and approved once."""
    _submit_visit(ctx, actor)
    visit = ctx.client.get(f"{API}/visits/{ctx.ids['visit']}", headers=ctx.headers(ADMIN)).json()
    if visit["status"] != "submitted":
        return
    approved = ctx.client.post(
        f"{API}/visits/{ctx.ids['visit']}/review",
        json={"action": "approve"},
        headers=ctx.headers(ADMIN),
    )
    assert approved.status_code == 200, approved.text


def _file_appeal(ctx: Ctx, actor: str) -> None:
    """An open appeal of Acme's user against the approved seeded visit, filed once."""
    _approve_visit(ctx, actor)
    if "appeal" in ctx.ids:
        return
    filed = ctx.client.post(
        f"{API}/visits/{ctx.ids['visit']}/appeals",
        json={"reason": "The shop was closed that day."},
        headers=ctx.headers(ACME),
    )
    assert filed.status_code == 201, filed.text
    ctx.ids["appeal"] = filed.json()["id"]


def _import_figures(ctx: Ctx, _: str) -> None:
    """Outside-data reads need a figure: one NPS value of Alpha's first location, once."""
    if "figures" in ctx.ids:
        return
    imported = ctx.client.post(
        f"{API}/projects/{ctx.ids['Alpha']}/outside-data",
        files={"file": ("nps.csv", b"location_code,metric,value\nALP-0,NPS,42\n")},
        headers=ctx.headers(ADMIN),
    )
    assert imported.status_code == 201, imported.text
    ctx.ids["figures"] = imported.json()["import_id"]


def _upload(_: Ctx) -> dict[str, Any]:
    return {
        "data": {"client_uuid": new_uuid(), "step_key": "entrance"},
        "files": {"file": ("door.png", photo(), "image/png")},
    }


ROUTES: list[Route] = [
    # accounts
    Route("GET", "/me", expect(ok=SIGNED_IN)),
    Route(
        "POST",
        "/users",
        # A client user of Acme reads all of Acme's projects: mgr-b, who manages none of them,
        # must not mint one (and sign in as it).
        expect(ok=(ADMIN, MGR_A)),
        json_body(
            lambda ctx: {
                "username": "acme-analyst",
                "password": PASSWORD,
                "role": "client",
                "client_id": ctx.ids["Acme"],
            }
        ),
    ),
    Route("GET", "/users", expect(ok=STAFF)),
    Route("GET", "/users/{user_id}", expect(ok=STAFF)),
    Route(
        "PATCH",
        "/users/{user_id}",
        # Your own account, or staff; mgr-b may see the Acme client user but not change it (a new
        # password would let mgr-b read Alpha as that user).
        {**expect(ok=(ADMIN, MGR_A, ACME), hidden=(BOLT, S1, S2)), MGR_B: 403},
        json_body(lambda _: {"full_name": "Anna Analyst"}),
    ),
    # clients
    Route("POST", "/clients", expect(ok=STAFF), json_body(lambda _: {"name": "Cobalt"})),
    Route("GET", "/clients", expect(ok=STAFF)),
    Route("GET", "/clients/{client_id}", expect(ok=STAFF)),
    Route("PATCH", "/clients/{client_id}", expect(ok=STAFF), json_body(lambda _: {"notes": "VIP"})),
    # projects
    Route(
        "POST",
        "/projects",
        expect(ok=STAFF),
        json_body(lambda ctx: {"client_id": ctx.ids["Acme"], "name": "Gamma"}),
    ),
    Route("GET", "/projects", expect(ok=(ADMIN, MGR_A, MGR_B, ACME, BOLT))),
    Route("GET", "/projects/{project_id}", ALPHA_READERS),
    Route(
        "PATCH",
        "/projects/{project_id}",
        ALPHA_STAFF,
        json_body(lambda _: {"description": "Second wave"}),
    ),
    Route("GET", "/projects/{project_id}/members", ALPHA_STAFF),
    Route(
        "POST",
        "/projects/{project_id}/members",
        ALPHA_STAFF,
        json_body(lambda ctx: {"user_id": ctx.ids[MGR_B]}),
    ),
    Route(
        "DELETE",
        "/projects/{project_id}/members/{user_id}",
        ALPHA_STAFF,
        targets={"user_id": MGR_A},
    ),
    Route(
        "POST",
        "/projects/{project_id}/waves",
        ALPHA_STAFF,
        json_body(lambda _: {"name": "Autumn", "starts_on": "2031-09-01", "ends_on": "2031-11-30"}),
    ),
    Route("GET", "/projects/{project_id}/waves", ALPHA_READERS),
    # locations
    Route(
        "POST",
        "/projects/{project_id}/locations",
        ALPHA_STAFF,
        json_body(lambda _: {"code": "NEW-1", "name": "New shop", "latitude": 52, "longitude": 4}),
    ),
    Route("GET", "/projects/{project_id}/locations", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/locations/{location_id}", ALPHA_READERS),
    Route(
        "PATCH",
        "/projects/{project_id}/locations/{location_id}",
        ALPHA_STAFF,
        json_body(lambda _: {"name": "Renamed shop"}),
    ),
    Route(
        "POST",
        "/projects/{project_id}/locations/import",
        ALPHA_STAFF,
        lambda _: {
            "files": {
                "file": ("shops.csv", b"code,name,latitude,longitude\nIMP-1,Imported,52.1,4.1\n")
            }
        },
    ),
    # journeys
    Route(
        "POST",
        "/projects/{project_id}/journeys",
        ALPHA_STAFF,
        json_body(lambda _: {"source": journey_text(), "filename": "mini.yaml"}),
    ),
    # Client users may read a version of their project's journey but not list them (as built).
    Route("GET", "/projects/{project_id}/journeys", ALPHA_STAFF),
    Route(
        "POST",
        "/projects/{project_id}/journeys/upload",
        ALPHA_STAFF,
        lambda _: {"files": {"file": ("mini.yaml", journey_text().encode())}},
    ),
    Route("GET", "/journey-versions/{version_id}", ALPHA_READERS),
    Route(
        "PUT",
        "/journey-versions/{version_id}",
        ALPHA_STAFF,
        json_body(lambda _: {"source": journey_text(), "filename": "mini.yaml"}),
        targets={"version_id": "Alpha/draft"},
    ),
    Route(
        "POST",
        "/journey-versions/{version_id}/publish",
        ALPHA_STAFF,
        targets={"version_id": "Alpha/draft"},
    ),
    # shoppers
    Route("POST", "/shoppers", expect(ok=STAFF), json_body(_new_shopper)),
    Route("GET", "/shoppers", expect(ok=STAFF)),
    Route("GET", "/shoppers/{shopper_id}", expect(ok=STAFF)),
    Route(
        "PATCH",
        "/shoppers/{shopper_id}",
        expect(ok=STAFF),
        json_body(lambda _: {"region": "south"}),
    ),
    Route("GET", "/me/profile", expect(ok=SHOPPERS)),
    Route(
        "PATCH", "/me/profile", expect(ok=SHOPPERS), json_body(lambda _: {"postcode": "1234 AB"})
    ),
    Route("GET", "/qualification-test", expect(ok=SHOPPERS)),
    Route(
        "PUT",
        "/qualification-test",
        expect(ok=STAFF),
        json_body(
            lambda _: {"title": "General, 2nd ed.", "source": QUALIFICATION_TEST.read_text()}
        ),
    ),
    Route(
        "POST",
        "/qualification-test/attempts",
        expect(ok=SHOPPERS),
        json_body(lambda _: {"answers": {"reveal_identity": "stay_in_role"}}),
        setup=_unqualify,
    ),
    Route("GET", "/me/qualification-attempts", expect(ok=SHOPPERS)),
    # assignments
    Route("POST", "/projects/{project_id}/assignments", ALPHA_STAFF, json_body(_new_assignment)),
    Route("GET", "/projects/{project_id}/assignments", ALPHA_STAFF),
    Route(
        "POST",
        "/projects/{project_id}/assignments/bulk",
        ALPHA_STAFF,
        json_body(lambda ctx: {"items": [_new_assignment(ctx)]}),
    ),
    Route("GET", "/assignments/{assignment_id}", S1_AND_ALPHA_STAFF),
    Route("GET", "/assignments/{assignment_id}/history", ALPHA_STAFF),
    Route("POST", "/assignments/{assignment_id}/accept", S1_ONLY),
    Route(
        "POST",
        "/assignments/{assignment_id}/decline",
        S1_ONLY,
        json_body(lambda _: {"comment": "Out of town"}),
    ),
    Route(
        "POST",
        "/assignments/{assignment_id}/claim",
        expect(ok=SHOPPERS),
        targets={"assignment_id": "open"},
    ),
    Route(
        "POST",
        "/assignments/{assignment_id}/offer",
        ALPHA_STAFF,
        json_body(lambda ctx: {"shopper_id": ctx.ids[S2]}),
        targets={"assignment_id": "open"},
    ),
    Route(
        "POST",
        "/assignments/{assignment_id}/cancel",
        ALPHA_STAFF,
        json_body(lambda _: {"comment": "Shop closed"}),
    ),
    Route("GET", "/me/assignments", expect(ok=SHOPPERS)),
    Route("GET", "/job-board", expect(ok=SHOPPERS)),
    Route("POST", "/assignments/expire", expect(ok=(ADMIN,))),
    # briefings and visits
    Route("GET", "/assignments/{assignment_id}/briefing", S1_AND_ALPHA_STAFF),
    Route(
        "POST",
        "/assignments/{assignment_id}/briefing/quiz",
        S1_ONLY,
        json_body(lambda _: {"answers": {"when": "a"}}),
    ),
    Route(
        "POST",
        "/assignments/{assignment_id}/visit",
        S1_ONLY,
        json_body(lambda _: {"client_uuid": new_uuid(), "started_at": now_iso(-1)}),
        targets={"assignment_id": "accepted"},
    ),
    Route(
        "GET",
        "/assignments/{assignment_id}/visit",
        S1_AND_ALPHA_STAFF,
        targets={"assignment_id": "in_progress"},
    ),
    Route("GET", "/visits/{visit_id}", S1_AND_ALPHA_STAFF),
    Route(
        "PUT", "/visits/{visit_id}/steps/{step_key}", S1_ONLY, json_body(lambda _: entrance_step())
    ),
    Route(
        "POST",
        "/visits/{visit_id}/submit",
        S1_ONLY,
        json_body(lambda _: {"client_uuid": new_uuid(), "ended_at": now_iso()}),
    ),
    Route(
        "POST",
        "/visits/{visit_id}/batch",
        S1_ONLY,
        json_body(
            lambda _: {
                "operations": [{"op": "step", "step_key": "entrance", "body": entrance_step()}]
            }
        ),
    ),
    Route(
        "POST",
        "/assignments/{assignment_id}/visit/batch",
        S1_ONLY,
        json_body(
            lambda _: {
                "operations": [
                    {"op": "start", "body": {"client_uuid": new_uuid(), "started_at": now_iso(-1)}}
                ]
            }
        ),
        targets={"assignment_id": "accepted"},
    ),
    Route("POST", "/visits/{visit_id}/media", S1_ONLY, _upload),
    Route("GET", "/media/{client_uuid}", S1_AND_ALPHA_STAFF),
    # results
    Route("GET", "/projects/{project_id}/results/summary", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/phases", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/steps", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/locations", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/regions", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/trend", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/pain-points", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/results/gaps", ALPHA_READERS),
    # personas
    Route(
        "POST",
        "/projects/{project_id}/personas",
        ALPHA_STAFF,
        json_body(lambda _: {"name": "Bargain hunter", "traits": {"budget": "low"}}),
    ),
    Route("GET", "/projects/{project_id}/personas", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/personas/{persona_id}", ALPHA_READERS),
    Route(
        "PATCH",
        "/projects/{project_id}/personas/{persona_id}",
        ALPHA_STAFF,
        json_body(lambda _: {"description": "Short on time."}),
    ),
    Route("DELETE", "/projects/{project_id}/personas/{persona_id}", ALPHA_STAFF),
    # desired journey, CX map and action plans (client users write action plans too)
    Route("GET", "/projects/{project_id}/desired-journey", ALPHA_READERS),
    Route(
        "PUT",
        "/projects/{project_id}/desired-journey",
        ALPHA_STAFF,
        json_body(lambda _: {"step_targets": {"entrance": 80}, "level_targets": {"basis": 75}}),
    ),
    Route("GET", "/projects/{project_id}/desired-journey/versions", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/cx-map", ALPHA_READERS),
    Route(
        "POST",
        "/projects/{project_id}/action-plans",
        ALPHA_READERS,
        json_body(
            lambda _: {
                "title": "Train greeting",
                "source": {"kind": "manual", "step_keys": ["entrance"]},
            }
        ),
    ),
    Route("GET", "/projects/{project_id}/action-plans", ALPHA_READERS),
    Route("GET", "/action-plans/{action_plan_id}", ALPHA_READERS),
    Route(
        "PATCH",
        "/action-plans/{action_plan_id}",
        ALPHA_READERS,
        json_body(lambda _: {"owner": "Store manager", "status": "in_progress"}),
    ),
    Route("GET", "/action-plans/{action_plan_id}/impact", ALPHA_READERS),
    # reviews
    Route("GET", "/projects/{project_id}/review-queue", ALPHA_STAFF, setup=_submit_visit),
    Route(
        "POST",
        "/projects/{project_id}/review-queue/approve",
        ALPHA_STAFF,
        json_body(lambda _: {"comment": "Clean"}),
        setup=_submit_visit,
    ),
    Route("GET", "/visits/{visit_id}/review", ALPHA_STAFF, setup=_submit_visit),
    Route(
        "POST",
        "/visits/{visit_id}/review",
        ALPHA_STAFF,
        json_body(lambda _: {"action": "return", "comment": "The photo is blurred."}),
        setup=_submit_visit,
    ),
    Route("GET", "/visits/{visit_id}/return", S1_AND_ALPHA_STAFF),
    # outside data
    Route(
        "POST",
        "/projects/{project_id}/outside-data",
        ALPHA_STAFF,
        lambda _: {"files": {"file": ("nps.csv", b"location_code,metric,value\nALP-0,NPS,42\n")}},
    ),
    Route("GET", "/projects/{project_id}/outside-data", ALPHA_READERS, setup=_import_figures),
    Route(
        "GET", "/projects/{project_id}/outside-data/metrics", ALPHA_READERS, setup=_import_figures
    ),
    Route(
        "GET",
        "/projects/{project_id}/outside-data/correlation",
        ALPHA_READERS,
        lambda _: {"params": {"metric": "NPS"}},
        setup=_import_figures,
    ),
    # appeals: filed by the client's users only, decided by the project's managers
    Route(
        "POST",
        "/visits/{visit_id}/appeals",
        expect(ok=(ACME,), hidden=(BOLT,)),
        json_body(lambda _: {"reason": "The shop was closed that day."}),
        setup=_approve_visit,
    ),
    Route("GET", "/projects/{project_id}/appealable-visits", ALPHA_READERS, setup=_approve_visit),
    Route("GET", "/projects/{project_id}/appeals", ALPHA_READERS, setup=_file_appeal),
    Route("GET", "/projects/{project_id}/appeals/stats", ALPHA_STAFF, setup=_file_appeal),
    Route("GET", "/appeals/{appeal_id}", ALPHA_READERS, setup=_file_appeal),
    Route(
        "POST",
        "/appeals/{appeal_id}/decision",
        ALPHA_STAFF,
        json_body(lambda _: {"outcome": "dismissed", "comment": "The photos show it open."}),
        setup=_file_appeal,
    ),
    # progress (manager console)
    Route("GET", "/projects/{project_id}/progress", ALPHA_STAFF),
    Route("GET", "/projects/progress", expect(ok=(ADMIN, MGR_A, MGR_B))),
    Route("GET", "/projects/{project_id}/shopper-load", ALPHA_STAFF),
    # API keys: admins and the managers of a project of the key's client (Acme: mgr-a)
    Route(
        "POST",
        "/clients/{client_id}/api-keys",
        expect(ok=(ADMIN, MGR_A)),
        json_body(lambda _: {"name": "Dashboard feed"}),
    ),
    Route("GET", "/clients/{client_id}/api-keys", expect(ok=(ADMIN, MGR_A))),
    Route("POST", "/api-keys/{key_id}/revoke", expect(ok=(ADMIN, MGR_A))),
    # exports
    Route("GET", "/projects/{project_id}/exports/visits.csv", ALPHA_READERS),
    Route("GET", "/projects/{project_id}/exports/visits.xlsx", ALPHA_READERS),
    # live updates: the stream is endless, so the row asks it to end at once
    Route(
        "GET",
        "/projects/{project_id}/events",
        ALPHA_READERS,
        lambda _: {"params": {"max_seconds": 0.05}},
    ),
    # webhooks
    Route(
        "POST",
        "/projects/{project_id}/webhooks",
        ALPHA_STAFF,
        json_body(lambda _: {"url": "https://bi.example/hook", "events": ["visit.approved"]}),
    ),
    Route("GET", "/projects/{project_id}/webhooks", ALPHA_STAFF),
    Route("DELETE", "/webhooks/{webhook_id}", ALPHA_STAFF),
    Route("GET", "/webhooks/{webhook_id}/deliveries", ALPHA_STAFF),
]


def _cases() -> Iterator[Any]:
    """Reads: every actor in one world. Writes: the refused actors share a world (each must
    change nothing), and each actor whose write succeeds gets a world of its own."""
    for route in ROUTES:
        if route.method == "GET":
            yield pytest.param(route, ACTORS, id=f"{route} all")
            continue
        refused = tuple(a for a in ACTORS if route.expected[a] != "ok")
        yield pytest.param(route, refused, id=f"{route} refused")
        for actor in ACTORS:
            if route.expected[actor] == "ok":
                yield pytest.param(route, (actor,), id=f"{route} {actor}")


# ---------------------------------------------------------------- the matrix


def test_table_covers_every_route(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    served = {
        (method.upper(), path.removeprefix(API))
        for path, operations in spec["paths"].items()
        for method in operations
    } - PUBLIC_ROUTES
    tabled = [(route.method, route.path) for route in ROUTES]
    assert len(tabled) == len(set(tabled)), "a route has two rows"
    assert sorted(served - set(tabled)) == [], "routes without a row in ROUTES"
    assert sorted(set(tabled) - served) == [], "rows for routes the API does not serve"


@pytest.mark.parametrize(("route", "actors"), list(_cases()))
def test_route_matrix(ctx: Ctx, route: Route, actors: tuple[str, ...]) -> None:
    got: dict[str, Outcome] = {}
    issues: list[str] = []
    before = snapshot(ctx.db)
    for actor in actors:
        if route.setup:
            route.setup(ctx, actor)
            before = snapshot(ctx.db)
        response = route.send(ctx, actor)
        got[actor] = outcome(response)
        if got[actor] != route.expected[actor]:
            issues.append(f"{actor}: {response.status_code} {response.text[:300]}")
        if not response.is_success:
            issues += [f"{actor}: {issue}" for issue in problem_issues(response)]
        elif route.method != "GET":
            before = snapshot(ctx.db)
            continue
        after = snapshot(ctx.db)
        if after != before:
            changed = sorted(name for name in after if after[name] != before[name])
            issues.append(f"{actor}: {response.status_code}, yet {changed} changed")
            before = after
    assert got == {actor: route.expected[actor] for actor in actors}, "\n".join(issues)
    assert issues == []


# ---------------------------------------------------------------- the rules one by one


def test_shopper_never_sees_another_shoppers_assignment(ctx: Ctx) -> None:
    theirs = ctx.ids["offered"]
    s2 = ctx.headers(S2)
    response = ctx.client.get(f"{API}/assignments/{theirs}", headers=s2)
    assert response.status_code == 404
    assert problem_issues(response) == []
    missing = ctx.client.get(f"{API}/assignments/999999", headers=s2)
    assert (missing.status_code, missing.json()["title"]) == (404, response.json()["title"])
    for scope in ("active", "offered", "all"):
        mine = ctx.client.get(f"{API}/me/assignments", params={"scope": scope}, headers=s2)
        assert mine.status_code == 200
        assert mine.json()["items"] == []
    for action in ("accept", "decline", "claim"):
        attempt = ctx.client.post(f"{API}/assignments/{theirs}/{action}", headers=s2)
        assert attempt.status_code == 404, (action, attempt.text)
    own = ctx.client.get(f"{API}/me/assignments", params={"scope": "all"}, headers=ctx.headers(S1))
    assert theirs in [a["id"] for a in own.json()["items"]]


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_client_user_never_receives_shopper_identities(ctx: Ctx) -> None:
    identity_keys = {"shopper", "shopper_id", "shoppers", "username", "full_name", "email"}
    readable = []
    for route in ROUTES:
        if route.method != "GET":
            continue
        if route.setup:  # the object the route reads (an appeal, a figure …)
            route.setup(ctx, ACME)
        response = route.send(ctx, ACME)
        if not response.is_success:
            continue
        readable.append(route.path)
        for name in (S1, S2, "rookie"):
            assert name not in response.text, (str(route), name)
        if not response.headers["content-type"].startswith("application/json"):
            continue  # exports: tests/api/test_exports.py reads their contents
        if route.path == "/me":  # their own account
            assert response.json()["username"] == ACME
            continue
        if response.headers["content-type"].startswith("text/event-stream"):
            continue  # no JSON body; the events' own fields are tested in tests/events
        keys = set(_keys(response.json()))
        assert keys.isdisjoint(identity_keys), (str(route), keys & identity_keys)
    assert "/projects/{project_id}/locations" in readable


def test_manager_lists_only_projects_they_are_a_member_of(ctx: Ctx) -> None:
    def names(actor: str, **params: Any) -> list[str]:
        response = ctx.client.get(f"{API}/projects", params=params, headers=ctx.headers(actor))
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["items"]]

    assert names(MGR_B) == ["Beta"]
    assert names(MGR_B, client_id=ctx.ids["Acme"]) == []
    assert names(MGR_A) == ["Alpha"]
    assert names(ACME) == ["Alpha"]
    assert names(BOLT) == ["Beta"]
    assert names(ADMIN) == ["Alpha", "Beta"]


def test_hidden_project_answers_like_a_missing_one(ctx: Ctx) -> None:
    hidden = ctx.client.get(f"{API}/projects/{ctx.ids['Alpha']}", headers=ctx.headers(MGR_B))
    missing = ctx.client.get(f"{API}/projects/999999", headers=ctx.headers(MGR_B))
    assert hidden.status_code == missing.status_code == 404
    assert (hidden.json()["type"], hidden.json()["title"]) == (
        missing.json()["type"],
        missing.json()["title"],
    )


def test_disabled_users_token_stops_working(ctx: Ctx) -> None:
    token = ctx.headers(S1)
    assert ctx.client.get(f"{API}/me", headers=token).status_code == 200
    disabled = ctx.client.patch(
        f"{API}/users/{ctx.ids[S1]}", json={"is_active": False}, headers=ctx.headers(ADMIN)
    )
    assert disabled.status_code == 200, disabled.text
    for path in ("/me", "/me/assignments", "/job-board", f"/assignments/{ctx.ids['offered']}"):
        response = ctx.client.get(API + path, headers=token)
        assert response.status_code == 401, (path, response.text)
        assert problem_issues(response) == []
    again = ctx.client.post(f"{API}/auth/token", data={"username": S1, "password": PASSWORD})
    assert again.status_code == 401


def test_api_key_gets_what_its_client_user_gets_and_only_reads(ctx: Ctx) -> None:
    """An Acme key acts as Acme's client user on every read (ok, 403 or 404 alike) but /me (a key
    is no account), and is refused every write, even those the user may make (their own account)."""
    with ctx.db.session() as session:
        admin = session.get(User, ctx.ids[ADMIN])
        assert admin is not None
        _, key = create_key(
            session,
            client_id=ctx.ids["Acme"],
            data=ApiKeyCreate(name="matrix", rate_limit_per_minute=10_000),
            actor=admin,
        )
    ctx._tokens["acme-key"] = {"Authorization": f"Bearer {key}"}
    before = {name: rows for name, rows in snapshot(ctx.db).items() if name != "api_keys"}
    issues = []
    for route in ROUTES:
        if route.setup or route.path.endswith("/events"):  # set-up writes; endless streams
            continue
        reads = route.method == "GET" and route.path != "/me"
        expected = route.expected[ACME] if reads else 403
        response = route.send(ctx, "acme-key")
        if outcome(response) != expected:
            issues.append(f"{route}: {response.status_code} (expected {expected})")
        if not response.is_success:
            issues += [f"{route}: {issue}" for issue in problem_issues(response)]
    assert issues == []
    after = {name: rows for name, rows in snapshot(ctx.db).items() if name != "api_keys"}
    assert after == before
