"""The demo (api/demo.py): on a fresh database it loads a project whose history the client
dashboard, the manager console and the shopper app can show at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from api.assignments.models import Assignment, AssignmentStatus
from api.audit.models import AuditEntry
from api.clients.models import Client
from api.config import Settings
from api.db import Database
from api.demo import DEMO_CLIENT, DEMO_LOGINS, load_demo
from api.journeys.models import JourneyVersion
from api.results.models import VisitResult
from api.visits.media import LocalMediaStore
from api.visits.models import Media, StepObservation, Visit
from briefings import JourneyDefinition, QuestionType
from tests.helpers import login

API = "/api/v1"
# Eight shops, three visits each in wave 1 and four in wave 2 (api/demo_data/history.yaml).
APPROVED = {"Wave 1": 24, "Wave 2": 32}
# Besides them: one rejected, four waiting for review, one returned.
VISITS = 24 + 32 + 1 + 4 + 1


def as_role(client: TestClient, role: str) -> dict[str, str]:
    return login(client, *DEMO_LOGINS[role])


@pytest.fixture
def demo(db: Database, settings: Settings) -> None:
    with db.session() as session:
        assert load_demo(session, media=LocalMediaStore(settings.data_dir / "media"))


def project_id(client: TestClient, headers: dict[str, str]) -> int:
    projects = client.get(f"{API}/projects", headers=headers)
    assert projects.status_code == 200, projects.text
    [project] = projects.json()["items"]
    return int(project["id"])


def results(client: TestClient, headers: dict[str, str], endpoint: str, **params: Any) -> Any:
    response = client.get(
        f"{API}/projects/{project_id(client, headers)}/results/{endpoint}",
        params=params,
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("demo")
def test_client_sees_approved_visits_of_two_waves_that_tell_a_story(client: TestClient) -> None:
    viewer = as_role(client, "client")

    summary = results(client, viewer, "summary")
    trend = results(client, viewer, "trend")

    assert summary["visits"] == sum(APPROVED.values())
    assert {point["wave_name"]: point["visits"] for point in trend} == APPROVED
    waves = {point["wave_name"]: point["wave_id"] for point in trend}
    first, second = (
        {step["step_key"]: step for step in results(client, viewer, "steps", wave_id=wave)}
        for wave in (waves["Wave 1"], waves["Wave 2"])
    )
    # Greeting and advice improved after wave 1.
    for step in ("entering_store", "advice_conversation"):
        assert second[step]["mean_score"] > first[step]["mean_score"] + 5, step
    regions = [region["region"] for region in results(client, viewer, "regions")]
    assert (regions[0], regions[-1]) == ("Noord-Holland", "Zuid-Holland")
    shops = {shop["code"]: shop for shop in results(client, viewer, "locations")["items"]}
    assert len(shops) == 8
    assert {code for code, shop in shops.items() if shop["levels"]["focus"] == "basis"} >= {
        "DHG-01",
        "UTR-02",
    }
    assert shops["AMS-01"]["levels"]["focus"] is None
    [worst] = results(client, viewer, "pain-points", by="emotion", limit=1)
    assert worst["step_key"] == "call_centre_question"
    assert worst["conscious"] < 0 and worst["implicit"] < 0
    steps = {step["step_key"]: step for step in results(client, viewer, "steps")}
    # Shoppers say the return went well; their gut reaction says otherwise.
    assert steps["return_at_counter"]["conscious"] > 0 > steps["return_at_counter"]["implicit"]
    assert all(step["probes_valid"] > 0 for key, step in steps.items() if key != "setup_at_home")
    assert results(client, viewer, "gaps")[0]["impact"] > 0


@pytest.mark.usefixtures("demo")
def test_review_queue_holds_the_waiting_visits_flagged_first(client: TestClient) -> None:
    manager = as_role(client, "manager")
    project = project_id(client, manager)

    queue = client.get(f"{API}/projects/{project}/review-queue", headers=manager)

    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    assert [item["worst_severity"] for item in items] == ["fail", "warn", None, None]
    assert all(item["waited_seconds"] > 3600 for item in items)
    flagged = client.get(f"{API}/visits/{items[0]['visit_id']}/review", headers=manager)
    assert flagged.status_code == 200, flagged.text
    assert [flag["rule"] for flag in flagged.json()["current_flags"]] == ["geofence"]
    assert flagged.json()["visit"]["media"], "the visit's photos were uploaded"


@pytest.mark.usefixtures("demo")
def test_returned_visit_waits_for_the_demo_shopper(client: TestClient) -> None:
    shopper = as_role(client, "shopper")

    returned = client.get(f"{API}/me/assignments", params={"scope": "returned"}, headers=shopper)

    assert returned.status_code == 200, returned.text
    [assignment] = returned.json()["items"]
    visit = client.get(f"{API}/assignments/{assignment['id']}/visit", headers=shopper).json()
    assert visit["status"] == "returned"
    assert "receipt" in visit["return_comment"]
    assert datetime.fromisoformat(visit["return_deadline"]) > datetime.now(UTC)
    notice = client.get(f"{API}/visits/{visit['id']}/return", headers=shopper)
    assert notice.json()["comment"] == visit["return_comment"]
    photo = client.get(f"{API}/media/{visit['media'][0]['client_uuid']}", headers=shopper)
    assert photo.status_code == 200, photo.text
    assert photo.headers["content-type"] == "image/jpeg"


@pytest.mark.usefixtures("demo")
def test_demo_is_created_once_with_every_question_type_answered(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        again = load_demo(session, media=LocalMediaStore(settings.data_dir / "media"))

    assert again is False
    with db.session() as session:
        assert len(session.exec(select(Client).where(Client.name == DEMO_CLIENT)).all()) == 1
        assert session.exec(select(func.count()).select_from(Visit)).one() == VISITS
        assert session.exec(select(func.count()).select_from(VisitResult)).one() == sum(
            APPROVED.values()
        )
        statuses = session.exec(
            select(Assignment.status, func.count()).group_by(col(Assignment.status))
        ).all()
        assert dict(statuses) == {
            AssignmentStatus.approved: sum(APPROVED.values()),
            AssignmentStatus.rejected: 1,
            AssignmentStatus.submitted: 4,
            AssignmentStatus.returned: 1,
            AssignmentStatus.offered: 2,
            AssignmentStatus.open: 4,
        }
        approvals = session.exec(select(func.count()).where(AuditEntry.action == "approved")).one()
        assert approvals == sum(APPROVED.values())
        version = session.exec(select(JourneyVersion)).one()
        journey = JourneyDefinition.model_validate(version.definition)
        answered = {
            key for answers in session.exec(select(StepObservation.answers)) for key in answers
        }
        media = session.exec(select(Media.storage_key)).all()
    types = {question.type for question in journey.questions() if question.key in answered}
    assert types == set(QuestionType)
    assert media and all(LocalMediaStore(settings.data_dir / "media").exists(k) for k in media)
