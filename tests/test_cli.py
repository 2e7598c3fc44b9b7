"""The ``fieldwork`` command, run in-process against a fresh SQLite database in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import func, select

from api.cli import main
from api.clients.models import Client
from api.config import get_settings
from api.db import Database
from api.demo import DEMO_CLIENT, DEMO_LOGINS
from api.journeys.models import JourneyVersion
from api.main import create_app
from api.projects.models import Project

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("FIELDWORK_TEST_DATABASE_URL")),
    reason="the CLI builds its own schema; on PostgreSQL the schema belongs to the conftest fixture",
)

EXAMPLES = Path(__file__).resolve().parents[1] / "briefings" / "examples"
BROKEN_JOURNEY = """\
key: mini
name: Minimal store visit
phases:
  - key: orientation
    name: Orientation
    steps:
      - key: entrance
        name: Entering the store
        touchpoint: stor
        channel: physical
        questions:
          - key: greeted
            text: Were you greeted within a minute?
            type: yes_no
"""


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("FIELDWORK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FIELDWORK_DATABASE_URL", url)
    monkeypatch.delenv("FIELDWORK_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The CLI's database, for looking at what a command left behind."""
    assert main(["db", "upgrade"]) == 0
    database = Database(database_url)
    yield database
    database.dispose()


def make_project(db: Database) -> int:
    with db.session() as session:
        client = Client(name="Acme")
        session.add(client)
        session.flush()
        project = Project(client_id=client.id or 0, name="Alpha")
        session.add(project)
        session.flush()
        assert project.id is not None
        return project.id


def test_db_upgrade_creates_the_schema(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0

    assert "newest schema" in capsys.readouterr().out
    database = Database(database_url)
    try:
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {"users", "projects", "locations", "assignments", "alembic_version"} <= tables
    assert main(["db", "upgrade"]) == 0  # a second run is a no-op


def test_created_user_can_sign_in(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["create-user", "alice", "--role", "admin", "--password", "alice-secret-1"])

    assert code == 0
    assert "Created admin alice" in capsys.readouterr().out
    with TestClient(create_app(get_settings())) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "alice", "password": "alice-secret-1"}
        )
        assert token.status_code == 200, token.text
        me = client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
    assert (me.json()["username"], me.json()["role"]) == ("alice", "admin")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create-user", "bob", "--password", "short"], "at least 8 characters"),
        (["create-user", "a b", "--password", "long-enough-1"], "username"),
        (
            ["create-user", "carol", "--role", "client", "--password", "long-enough-1"],
            "needs the id of an existing client",
        ),
    ],
    ids=["short password", "bad username", "client user without client"],
)
def test_create_user_refuses_bad_input(
    db: Database, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1

    assert message in capsys.readouterr().err


def test_create_user_refuses_a_taken_username(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-user", "alice", "--password", "alice-secret-1"]) == 0

    assert main(["create-user", "alice", "--password", "other-secret-1"]) == 1
    assert "taken" in capsys.readouterr().err


def test_load_journey_prints_the_version(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    project_id = make_project(db)
    path = EXAMPLES / "store_visit.yaml"

    code = main(["load-journey", str(path), "--project", str(project_id), "--publish"])

    assert code == 0
    out = capsys.readouterr().out
    assert "as version 1 (published)" in out
    with db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None and project.journey_version_id is not None
        version = session.get(JourneyVersion, project.journey_version_id)
    assert version is not None
    assert f"id {version.id}." in out
    assert main(["load-journey", str(path), "--project", str(project_id)]) == 0
    assert "as version 2 (draft)" in capsys.readouterr().out


def test_load_journey_reports_file_and_line_of_a_broken_file(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_id = make_project(db)
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN_JOURNEY, encoding="utf-8")

    code = main(["load-journey", str(path), "--project", str(project_id)])

    assert code == 1
    err = capsys.readouterr().err
    assert f"{path}:9:" in err
    assert "phases[0].steps[0].touchpoint" in err
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(JourneyVersion)).one() == 0


@pytest.mark.parametrize(
    ("file", "project", "code", "message"),
    [
        (EXAMPLES / "store_visit.yaml", "999", 2, "No project 999"),
        (EXAMPLES / "no_such_file.yaml", None, 2, "no_such_file.yaml"),
    ],
    ids=["unknown project", "missing file"],
)
def test_load_journey_refuses_what_is_not_there(
    db: Database,
    capsys: pytest.CaptureFixture[str],
    file: Path,
    project: str | None,
    code: int,
    message: str,
) -> None:
    project_id = project or str(make_project(db))

    assert main(["load-journey", str(file), "--project", project_id]) == code
    assert message in capsys.readouterr().err


def test_demo_is_created_once(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (EXAMPLES / "qualification_test.yaml").exists()

    assert main(["demo"]) == 0
    assert "Demo project created." in capsys.readouterr().out
    assert main(["demo"]) == 0
    second = capsys.readouterr().out

    assert "Demo project already present." in second
    assert DEMO_LOGINS["manager"][0] in second
    database = Database(database_url)
    try:
        with database.session() as session:
            clients = session.exec(select(Client).where(Client.name == DEMO_CLIENT)).all()
            projects = session.exec(select(func.count()).select_from(Project)).one()
    finally:
        database.dispose()
    assert (len(clients), projects) == (1, 1)
    with TestClient(create_app(get_settings())) as client:
        username, password = DEMO_LOGINS["shopper"]
        token = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert token.status_code == 200, token.text
        mine = client.get(
            "/api/v1/me/assignments",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert mine.status_code == 200, mine.text


def test_expire_runs_on_an_upgraded_database(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["expire"]) == 0

    assert "Expired 0 assignment(s)." in capsys.readouterr().out


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])

    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
