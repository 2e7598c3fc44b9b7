"""Each cap and eligibility rule refuses exactly at its limit; bulk creation reports it per row."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from api.assignments.caps import Booking, CapLedger, PersonaTraits, ShopperFacts
from api.assignments.models import Assignment, AssignmentStatus
from api.db import Database
from api.projects.models import ProjectCaps
from tests.helpers import World, login, standard_world, window

S = AssignmentStatus
TODAY = date(2026, 6, 15)  # a Monday
DAY = date(2026, 6, 17)  # the candidate visit: Wednesday of ISO week 25
SHOPPER, OTHER = 1, 2
HERE, THERE, ELSEWHERE = 10, 11, 12
LOOSE: dict[str, Any] = {
    "max_open_per_shopper": 100,
    "max_visits_per_shopper_per_day": 100,
    "max_visits_per_shopper_per_period": 100,
    "max_visits_per_location_per_day": 100,
    "location_lockout_days": 0,
}
FACTS = ShopperFacts(
    id=SHOPPER,
    is_active=True,
    qualified=True,
    date_of_birth=date(1990, 3, 1),
    region="north",
    languages=("nl", "en"),
    gender="female",
    rating=None,
    approved_visits=0,
)


def booking(
    day: date,
    *,
    location: int = THERE,
    status: AssignmentStatus = S.submitted,
    shopper: int | None = SHOPPER,
    wave: int | None = None,
) -> Booking:
    return Booking(location, day, status, shopper, wave)


def days_apart(count: int, start: date = date(2026, 1, 1)) -> list[Booking]:
    """``count`` visits by the shopper, each at its own location far apart in time."""
    return [
        booking(start + timedelta(days=7 * i), location=100 + i, status=S.submitted)
        for i in range(count)
    ]


@dataclass
class Case:
    caps: dict[str, Any]
    bookings: list[Booking]
    refused_by: str | None
    shopper: ShopperFacts = FACTS
    persona: PersonaTraits = field(default_factory=PersonaTraits)
    self_claim: bool = False
    location_region: str = "north"
    wave: int | None = None
    day: date = DAY


def seventeen_today() -> date:
    return TODAY.replace(year=TODAY.year - 18) + timedelta(days=1)


SHOPPER_CASES: dict[str, Case] = {
    # max_open_per_shopper: offered, accepted, in progress and returned count; done work does not.
    "open cap: one below": Case(
        {"max_open_per_shopper": 3},
        [booking(date(2026, 1, d), location=100 + d, status=S.accepted) for d in (1, 2)],
        None,
    ),
    "open cap: at the limit": Case(
        {"max_open_per_shopper": 3},
        [
            booking(date(2026, 1, 1), location=101, status=S.offered),
            booking(date(2026, 1, 2), location=102, status=S.in_progress),
            booking(date(2026, 1, 3), location=103, status=S.returned),
        ],
        "max_open_per_shopper",
    ),
    "open cap: submitted and approved are not open": Case(
        {"max_open_per_shopper": 2},
        [
            booking(date(2026, 1, 1), location=101, status=S.submitted),
            booking(date(2026, 1, 2), location=102, status=S.approved),
            booking(date(2026, 1, 3), location=103, status=S.rejected),
        ],
        None,
    ),
    "open cap: another shopper's work does not count": Case(
        {"max_open_per_shopper": 1},
        [booking(date(2026, 1, 1), status=S.accepted, shopper=OTHER)],
        None,
    ),
    # max_visits_per_shopper_per_day
    "daily cap: one below": Case(
        {"max_visits_per_shopper_per_day": 2}, [booking(DAY, location=THERE)], None
    ),
    "daily cap: at the limit": Case(
        {"max_visits_per_shopper_per_day": 2},
        [booking(DAY, location=THERE), booking(DAY, location=ELSEWHERE)],
        "max_visits_per_shopper_per_day",
    ),
    "daily cap: the day before does not count": Case(
        {"max_visits_per_shopper_per_day": 1}, [booking(DAY - timedelta(days=1))], None
    ),
    # max_visits_per_shopper_per_period, month
    "month cap: one below": Case(
        {"max_visits_per_shopper_per_period": 3, "period": "month"},
        [booking(date(2026, 6, 1), location=101), booking(date(2026, 6, 30), location=102)],
        None,
    ),
    "month cap: at the limit": Case(
        {"max_visits_per_shopper_per_period": 3, "period": "month"},
        [booking(date(2026, 6, d), location=100 + d) for d in (1, 2, 30)],
        "max_visits_per_shopper_per_period",
    ),
    "month cap: other months do not count": Case(
        {"max_visits_per_shopper_per_period": 1, "period": "month"},
        [booking(date(2026, 5, 31), location=101), booking(date(2026, 7, 1), location=102)],
        None,
    ),
    # week (ISO: Monday 15 June to Sunday 21 June 2026)
    "week cap: at the limit": Case(
        {"max_visits_per_shopper_per_period": 2, "period": "week"},
        [booking(date(2026, 6, 15), location=101), booking(date(2026, 6, 21), location=102)],
        "max_visits_per_shopper_per_period",
    ),
    "week cap: neighbouring weeks do not count": Case(
        {"max_visits_per_shopper_per_period": 1, "period": "week"},
        [booking(date(2026, 6, 14), location=101), booking(date(2026, 6, 22), location=102)],
        None,
    ),
    # wave: counted per wave, whatever the dates
    "wave cap: at the limit": Case(
        {"max_visits_per_shopper_per_period": 2, "period": "wave"},
        [
            booking(date(2026, 3, 1), location=101, wave=1),
            booking(date(2026, 9, 1), location=102, wave=1),
        ],
        "max_visits_per_shopper_per_period",
        wave=1,
    ),
    "wave cap: another wave does not count": Case(
        {"max_visits_per_shopper_per_period": 2, "period": "wave"},
        [
            booking(DAY, location=101, wave=1),
            booking(DAY - timedelta(days=1), location=102, wave=1),
        ],
        None,
        wave=2,
    ),
    "wave cap: without a wave it counts by month": Case(
        {"max_visits_per_shopper_per_period": 1, "period": "wave"},
        [booking(date(2026, 6, 1), location=101)],
        "max_visits_per_shopper_per_period",
    ),
    # location_lockout_days: the gap counts in both directions
    "lockout: earlier visit just inside": Case(
        {"location_lockout_days": 30},
        [booking(DAY - timedelta(days=29), location=HERE)],
        "location_lockout_days",
    ),
    "lockout: earlier visit just outside": Case(
        {"location_lockout_days": 30}, [booking(DAY - timedelta(days=30), location=HERE)], None
    ),
    "lockout: later visit just inside": Case(
        {"location_lockout_days": 30},
        [booking(DAY + timedelta(days=29), location=HERE, status=S.offered)],
        "location_lockout_days",
    ),
    "lockout: later visit just outside": Case(
        {"location_lockout_days": 30},
        [booking(DAY + timedelta(days=30), location=HERE, status=S.offered)],
        None,
    ),
    "lockout: another location does not count": Case(
        {"location_lockout_days": 30}, [booking(DAY, location=THERE)], None
    ),
    "lockout: another shopper at the location does not count": Case(
        {"location_lockout_days": 30}, [booking(DAY, location=HERE, shopper=OTHER)], None
    ),
    # min_rating_to_claim and min_experience_to_claim: only when the shopper claims
    "rating: just below when claiming": Case(
        {"min_rating_to_claim": 80},
        [],
        "min_rating_to_claim",
        shopper=replace(FACTS, rating=79.9),
        self_claim=True,
    ),
    "rating: at the minimum when claiming": Case(
        {"min_rating_to_claim": 80}, [], None, shopper=replace(FACTS, rating=80), self_claim=True
    ),
    "rating: none yet when claiming": Case(
        {"min_rating_to_claim": 1}, [], "min_rating_to_claim", self_claim=True
    ),
    "rating: ignored when a manager assigns": Case(
        {"min_rating_to_claim": 80}, [], None, shopper=replace(FACTS, rating=10)
    ),
    "experience: one short when claiming": Case(
        {"min_experience_to_claim": 3},
        [],
        "min_experience_to_claim",
        shopper=replace(FACTS, approved_visits=2),
        self_claim=True,
    ),
    "experience: enough when claiming": Case(
        {"min_experience_to_claim": 3},
        [],
        None,
        shopper=replace(FACTS, approved_visits=3),
        self_claim=True,
    ),
    "experience: ignored when a manager assigns": Case({"min_experience_to_claim": 3}, [], None),
    # eligibility
    "eligibility: not qualified": Case(
        {}, [], "eligibility.qualified", shopper=replace(FACTS, qualified=False)
    ),
    "eligibility: account disabled": Case(
        {}, [], "eligibility.active", shopper=replace(FACTS, is_active=False)
    ),
    "eligibility: 17 today": Case(
        {}, [], "eligibility.age", shopper=replace(FACTS, date_of_birth=seventeen_today())
    ),
    "eligibility: 18 today": Case(
        {},
        [],
        None,
        shopper=replace(FACTS, date_of_birth=TODAY.replace(year=TODAY.year - 18)),
    ),
    "region: mismatch when required": Case(
        {"require_region_match": True}, [], "eligibility.region", location_region="south"
    ),
    "region: match when required": Case({"require_region_match": True}, [], None),
    "region: location without region": Case(
        {"require_region_match": True}, [], None, location_region=""
    ),
    "region: mismatch when not required": Case({}, [], None, location_region="south"),
    # persona of the briefing
    "persona: younger than age_min": Case(
        {}, [], "eligibility.persona", persona=PersonaTraits(age_min=37)
    ),
    "persona: exactly age_min": Case({}, [], None, persona=PersonaTraits(age_min=36)),
    "persona: older than age_max": Case(
        {}, [], "eligibility.persona", persona=PersonaTraits(age_max=35)
    ),
    "persona: exactly age_max": Case({}, [], None, persona=PersonaTraits(age_max=36)),
    "persona: other gender": Case(
        {}, [], "eligibility.persona", persona=PersonaTraits(gender="male")
    ),
    "persona: gender in another case": Case({}, [], None, persona=PersonaTraits(gender="Female")),
    "persona: gender unknown": Case(
        {},
        [],
        "eligibility.persona",
        shopper=replace(FACTS, gender=None),
        persona=PersonaTraits(gender="female"),
    ),
    "persona: missing language": Case(
        {}, [], "eligibility.persona", persona=PersonaTraits(languages=("nl", "de"))
    ),
    "persona: all languages spoken": Case(
        {}, [], None, persona=PersonaTraits(languages=("en", "nl"))
    ),
    "persona: other region": Case(
        {}, [], "eligibility.persona", persona=PersonaTraits(region="south")
    ),
    "persona: same region": Case({}, [], None, persona=PersonaTraits(region="north")),
    # bookings that will never be visits count against nothing
    "void bookings count against nothing": Case(
        {
            "max_open_per_shopper": 1,
            "max_visits_per_shopper_per_day": 1,
            "max_visits_per_shopper_per_period": 1,
            "location_lockout_days": 365,
        },
        [
            booking(DAY, location=HERE, status=status)
            for status in (S.cancelled, S.declined, S.expired)
            for _ in range(3)
        ],
        None,
    ),
}


@pytest.mark.parametrize("case", SHOPPER_CASES.values(), ids=SHOPPER_CASES.keys())
def test_shopper_rule(case: Case) -> None:
    caps = ProjectCaps.model_validate(LOOSE | case.caps)
    ledger = CapLedger.of(caps, case.bookings)

    refusal = ledger.check_shopper(
        shopper=case.shopper,
        location_id=HERE,
        location_region=case.location_region,
        visit_day=case.day,
        wave_id=case.wave,
        persona=case.persona,
        self_claim=case.self_claim,
        today=TODAY,
    )

    assert (refusal.rule if refusal else None) == case.refused_by
    if refusal is not None:
        assert refusal.detail


LOCATION_CASES: dict[str, tuple[list[Booking], str | None]] = {
    "one below": ([booking(DAY, location=HERE, shopper=OTHER)], None),
    "at the limit, job-board visits count too": (
        [booking(DAY, location=HERE, shopper=OTHER), booking(DAY, location=HERE, shopper=None)],
        "max_visits_per_location_per_day",
    ),
    "another day": (
        [booking(DAY + timedelta(days=1), location=HERE, shopper=s) for s in (SHOPPER, OTHER)],
        None,
    ),
    "another location": (
        [booking(DAY, location=THERE, shopper=s) for s in (SHOPPER, OTHER)],
        None,
    ),
    "void bookings": (
        [booking(DAY, location=HERE, status=s) for s in (S.cancelled, S.declined, S.expired)],
        None,
    ),
}


@pytest.mark.parametrize(
    ("bookings", "refused_by"), LOCATION_CASES.values(), ids=LOCATION_CASES.keys()
)
def test_location_daily_cap(bookings: list[Booking], refused_by: str | None) -> None:
    ledger = CapLedger.of(
        ProjectCaps.model_validate(LOOSE | {"max_visits_per_location_per_day": 2}), bookings
    )

    refusal = ledger.check_location(location_id=HERE, visit_day=DAY)

    assert (refusal.rule if refusal else None) == refused_by
    if refusal is not None:
        assert (refusal.limit, refusal.current) == (2, 2)


def test_refusal_reports_limit_and_count() -> None:
    ledger = CapLedger.of(
        ProjectCaps.model_validate(LOOSE | {"max_visits_per_shopper_per_period": 4}),
        days_apart(5, start=date(2026, 6, 1)),
    )

    refusal = ledger.check_shopper(
        shopper=FACTS,
        location_id=HERE,
        location_region="north",
        visit_day=DAY,
        wave_id=None,
        persona=PersonaTraits(),
        self_claim=False,
        today=TODAY,
    )

    assert refusal is not None
    assert refusal.extra() == {"limit": 4, "current": 5}


def test_eligibility_is_checked_before_the_counts() -> None:
    ledger = CapLedger.of(
        ProjectCaps.model_validate(LOOSE | {"max_open_per_shopper": 1}),
        [booking(DAY, status=S.offered)],
    )

    refusal = ledger.check_shopper(
        shopper=replace(FACTS, qualified=False),
        location_id=HERE,
        location_region="north",
        visit_day=DAY,
        wave_id=None,
        persona=PersonaTraits(),
        self_claim=False,
        today=TODAY,
    )

    assert refusal is not None and refusal.rule == "eligibility.qualified"


# ---------------------------------------------------------------- bulk creation through the API

TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture
def world(db: Database) -> World:
    world = standard_world(db)
    world.set_caps("Alpha", **(LOOSE | {"max_open_per_shopper": 2}))
    return world


def row(world: World, shopper: str | None, *, location: int = 0, days: int = 0) -> dict[str, Any]:
    return {
        "location_id": world.ids[f"Alpha/loc{location}"],
        "shopper_id": world.ids[shopper] if shopper else None,
        **window(TOMORROW + timedelta(days=days)),
    }


def mixed_batch(world: World) -> list[dict[str, Any]]:
    """Rows 0 and 1 pass; row 2 hits the open cap set by rows 0 and 1; row 3 is unqualified."""
    return [
        row(world, "shopper-1", location=0, days=0),
        row(world, "shopper-1", location=1, days=1),
        row(world, "shopper-1", location=2, days=2),
        row(world, "rookie", location=0, days=3),
        row(world, None, location=1, days=4),
    ]


def assignment_count(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Assignment)).one()


def bulk(client: TestClient, world: World, items: list[dict[str, Any]], **options: Any) -> Any:
    return client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments/bulk",
        json={"items": items, **options},
        headers=login(client, "mgr-a"),
    )


def test_bulk_dry_run_gives_a_verdict_per_row_and_creates_nothing(
    client: TestClient, db: Database, world: World
) -> None:
    response = bulk(client, world, mixed_batch(world), dry_run=True)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["refused"], body["dry_run"]) == (0, 2, True)
    assert [(r["index"], r["ok"], r["rule"]) for r in body["rows"]] == [
        (0, True, None),
        (1, True, None),
        (2, False, "max_open_per_shopper"),
        (3, False, "eligibility.qualified"),
        (4, True, None),
    ]
    assert all(r["assignment_id"] is None for r in body["rows"])
    assert all(r["detail"] for r in body["rows"] if not r["ok"])
    assert assignment_count(db) == 0


def test_bulk_all_or_nothing_refuses_the_whole_batch(
    client: TestClient, db: Database, world: World
) -> None:
    response = bulk(client, world, mixed_batch(world), all_or_nothing=True)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["rule"] == "max_open_per_shopper"
    assert [(r["index"], r["rule"]) for r in problem["rows"]] == [
        (2, "max_open_per_shopper"),
        (3, "eligibility.qualified"),
    ]
    assert assignment_count(db) == 0


def test_bulk_without_all_or_nothing_creates_the_good_rows(
    client: TestClient, db: Database, world: World
) -> None:
    response = bulk(client, world, mixed_batch(world), all_or_nothing=False)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["created"], body["refused"]) == (3, 2)
    made = {r["index"]: r["assignment_id"] for r in body["rows"] if r["ok"]}
    assert set(made) == {0, 1, 4}
    assert all(made.values())
    with db.session() as session:
        rows = session.exec(select(Assignment).order_by(Assignment.id)).all()
    assert [(a.id, a.status) for a in rows] == [
        (made[0], S.offered),
        (made[1], S.offered),
        (made[4], S.open),
    ]


def test_bulk_rows_count_against_each_other_for_the_location_cap(
    client: TestClient, db: Database, world: World
) -> None:
    world.set_caps("Alpha", max_visits_per_location_per_day=1)
    items = [row(world, None), row(world, "shopper-1"), row(world, None, location=1)]

    response = bulk(client, world, items, dry_run=True)

    assert [r["rule"] for r in response.json()["rows"]] == [
        None,
        "max_visits_per_location_per_day",
        None,
    ]


def test_bulk_rows_count_against_existing_assignments(
    client: TestClient, db: Database, world: World
) -> None:
    first = bulk(client, world, [row(world, "shopper-1"), row(world, "shopper-1", location=1)])
    assert first.status_code == 201, first.text

    second = bulk(client, world, [row(world, "shopper-1", location=2, days=5)], dry_run=True)

    assert second.json()["rows"][0]["rule"] == "max_open_per_shopper"
    assert assignment_count(db) == 2


def test_single_create_names_the_refusing_rule(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/projects/{world.ids['Alpha']}/assignments",
        json=row(world, "rookie"),
        headers=login(client, "mgr-a"),
    )

    assert response.status_code == 409, response.text
    assert response.json()["rule"] == "eligibility.qualified"
    assert response.json()["type"].endswith("/cap-exceeded")


def test_claim_checks_the_claim_rules(client: TestClient, db: Database, world: World) -> None:
    world.set_caps("Alpha", min_experience_to_claim=1)
    made = bulk(client, world, [row(world, None)]).json()["rows"][0]["assignment_id"]
    shopper = login(client, "shopper-1")

    refused = client.post(f"/api/v1/assignments/{made}/claim", headers=shopper)
    assert refused.status_code == 409, refused.text
    assert (refused.json()["rule"], refused.json()["limit"], refused.json()["current"]) == (
        "min_experience_to_claim",
        1,
        0,
    )

    offered = client.post(
        f"/api/v1/assignments/{made}/offer",
        json={"shopper_id": world.ids["shopper-1"]},
        headers=login(client, "mgr-a"),
    )
    assert offered.status_code == 200, offered.text
