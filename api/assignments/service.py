from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_
from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.assignments.caps import Booking, CapLedger, PersonaTraits, Refusal, ShopperFacts
from api.assignments.models import (
    Assignment,
    AssignmentCreate,
    AssignmentPublic,
    AssignmentStatus,
    BulkResult,
    LocationBrief,
    RowVerdict,
)
from api.assignments.states import transition
from api.audit.models import AuditEntry
from api.common import PageParams, utcnow
from api.errors import CapExceeded, Conflict, Invalid, NotFound
from api.journeys.models import JourneyVersion
from api.locations.models import Location
from api.personas.models import Persona, PersonaBrief
from api.projects.access import get_project, lock_project
from api.projects.models import Project, ProjectStatus, Wave
from api.shoppers.models import ShopperProfile
from briefings import JourneyDefinition

S = AssignmentStatus


# ---------------------------------------------------------------- loading what the rules need


def _ledger(
    session: Session,
    project: Project,
    *,
    shopper_ids: Iterable[int] = (),
    location_ids: Iterable[int] = (),
    everything: bool = False,
) -> CapLedger:
    query = select(
        Assignment.location_id,
        Assignment.visit_day,
        Assignment.status,
        Assignment.shopper_id,
        Assignment.wave_id,
        Assignment.id,
    ).where(
        Assignment.project_id == project.id,
        col(Assignment.status).not_in([S.declined, S.expired, S.cancelled]),
    )
    if not everything:
        shoppers, locations = list(set(shopper_ids)), list(set(location_ids))
        query = query.where(
            or_(
                col(Assignment.shopper_id).in_(shoppers), col(Assignment.location_id).in_(locations)
            )
        )
    bookings = (Booking(*row) for row in session.exec(query))
    return CapLedger.of(project.cap_rules, bookings)


def _shopper_facts(session: Session, shopper_ids: Iterable[int]) -> dict[int, ShopperFacts]:
    ids = list(set(shopper_ids))
    rows = session.exec(
        select(User, ShopperProfile)
        .join(ShopperProfile, col(ShopperProfile.user_id) == User.id)
        .where(col(User.id).in_(ids))
    )
    return {
        user.id: ShopperFacts(
            id=user.id,
            is_active=user.is_active,
            qualified=profile.qualified,
            date_of_birth=profile.date_of_birth,
            region=profile.region,
            languages=tuple(profile.languages),
            gender=profile.gender,
            rating=profile.rating,
            approved_visits=profile.approved_visits,
        )
        for user, profile in rows
        if user.id is not None
    }


def _persona(session: Session, version_id: int) -> PersonaTraits:
    version = session.get(JourneyVersion, version_id)
    if version is None:
        return PersonaTraits()
    definition = JourneyDefinition.model_validate(version.definition)
    briefing = definition.briefing
    traits = briefing.persona.traits if briefing and briefing.persona else None
    if traits is None:
        return PersonaTraits()
    return PersonaTraits(
        age_min=traits.age_min,
        age_max=traits.age_max,
        gender=traits.gender,
        languages=tuple(traits.languages or ()),
        region=traits.region,
    )


def _refuse(refusal: Refusal) -> CapExceeded:
    return CapExceeded(refusal.detail, rule=refusal.rule, **refusal.extra())


def _require_journey(project: Project) -> int:
    if project.journey_version_id is None:
        raise Conflict(
            "The project has no published journey yet; load and publish one before assigning visits.",
            rule="journey_published",
        )
    if project.status != ProjectStatus.active:
        raise Conflict(
            f"The project is {project.status}; only active projects take assignments.",
            rule="project_active",
        )
    return project.journey_version_id


# ---------------------------------------------------------------- creating


def create_assignments(
    session: Session,
    *,
    project: Project,
    items: Sequence[AssignmentCreate],
    actor: User,
    dry_run: bool = False,
    all_or_nothing: bool = True,
    today: date | None = None,
) -> BulkResult:
    """Check every row against the caps as if the rows before it were created, then create them."""
    lock_project(session, project)
    version_id = _require_journey(project)
    today = today or date.today()

    location_ids = {item.location_id for item in items}
    locations = {
        loc.id: loc
        for loc in session.exec(
            select(Location).where(
                Location.project_id == project.id, col(Location.id).in_(location_ids)
            )
        )
    }
    wave_ids = {item.wave_id for item in items if item.wave_id is not None}
    waves = {
        w.id: w
        for w in session.exec(
            select(Wave).where(Wave.project_id == project.id, col(Wave.id).in_(wave_ids))
        )
    }
    persona_ids = {item.persona_id for item in items if item.persona_id is not None}
    personas = set(
        session.exec(
            select(Persona.id).where(
                Persona.project_id == project.id, col(Persona.id).in_(persona_ids)
            )
        )
    )
    shopper_ids = {item.shopper_id for item in items if item.shopper_id is not None}
    shoppers = _shopper_facts(session, shopper_ids)
    bulk = len(items) > 50
    ledger = _ledger(
        session, project, shopper_ids=shopper_ids, location_ids=location_ids, everything=bulk
    )
    persona = _persona(session, version_id)

    verdicts: list[RowVerdict] = []
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        refusal = (
            Refusal("persona", f"No persona {item.persona_id} in this project.")
            if item.persona_id is not None and item.persona_id not in personas
            else _check_row(item, locations, waves, shoppers, ledger, persona, today)
        )
        if refusal is not None:
            verdicts.append(
                RowVerdict(index=index, ok=False, rule=refusal.rule, detail=refusal.detail)
            )
            continue
        visit_day = item.window_start.date()
        status = S.offered if item.shopper_id is not None else S.open
        ledger.add(Booking(item.location_id, visit_day, status, item.shopper_id, item.wave_id))
        verdicts.append(RowVerdict(index=index, ok=True))
        rows.append(
            {
                "project_id": project.id,
                "location_id": item.location_id,
                "shopper_id": item.shopper_id,
                "wave_id": item.wave_id,
                "persona_id": item.persona_id,
                "journey_version_id": version_id,
                "status": status,
                "window_start": item.window_start,
                "window_end": item.window_end,
                "visit_day": visit_day,
                "job_board": item.shopper_id is None,
                "notes": item.notes,
                "created_by": actor.id,
            }
        )
    refused = sum(1 for v in verdicts if not v.ok)
    if refused and all_or_nothing and not dry_run:
        first = next(v for v in verdicts if not v.ok)
        raise CapExceeded(
            f"{refused} of {len(items)} row(s) refused (first: row {first.index}, {first.detail}); "
            "nothing was created.",
            rule=first.rule or "unknown",
            rows=[v.model_dump() for v in verdicts if not v.ok],
        )
    if dry_run or not rows:
        return BulkResult(created=0, refused=refused, dry_run=dry_run, rows=verdicts)

    now = utcnow()
    for row in rows:
        row["created_at"] = row["updated_at"] = now
    ids = (
        session.connection()
        .execute(
            insert(Assignment).returning(col(Assignment.id), sort_by_parameter_order=True), rows
        )
        .scalars()
        .all()
    )
    session.connection().execute(
        insert(AuditEntry),
        [
            {
                "at": now,
                "actor_id": actor.id,
                "entity": "assignment",
                "entity_id": new_id,
                "action": "created",
                "from_state": None,
                "to_state": row["status"],
                "comment": "",
                "data": {},
            }
            for new_id, row in zip(ids, rows, strict=True)
        ],
    )
    ok_rows = iter(ids)
    for verdict in verdicts:
        if verdict.ok:
            verdict.assignment_id = next(ok_rows)
    return BulkResult(created=len(ids), refused=refused, dry_run=False, rows=verdicts)


def _check_row(
    item: AssignmentCreate,
    locations: dict[int | None, Location],
    waves: dict[int | None, Wave],
    shoppers: dict[int, ShopperFacts],
    ledger: CapLedger,
    persona: PersonaTraits,
    today: date,
) -> Refusal | None:
    location = locations.get(item.location_id)
    if location is None:
        return Refusal("location", f"No location {item.location_id} in this project.")
    if not location.active:
        return Refusal("location", f"Location {location.code} is inactive.")
    if item.wave_id is not None:
        wave = waves.get(item.wave_id)
        if wave is None:
            return Refusal("wave", f"No wave {item.wave_id} in this project.")
        if not wave.starts_on <= item.window_start.date() <= wave.ends_on:
            return Refusal(
                "wave",
                f"The visit window starts outside wave {wave.name} ({wave.starts_on}–{wave.ends_on}).",
            )
    if item.window_end <= utcnow():
        return Refusal("visit_window", f"The visit window ended at {item.window_end.isoformat()}.")
    visit_day = item.window_start.date()
    refusal = ledger.check_location(location_id=item.location_id, visit_day=visit_day)
    if refusal is not None or item.shopper_id is None:
        return refusal
    shopper = shoppers.get(item.shopper_id)
    if shopper is None:
        return Refusal("shopper", f"No shopper {item.shopper_id}.")
    return ledger.check_shopper(
        shopper=shopper,
        location_id=item.location_id,
        location_region=location.region,
        visit_day=visit_day,
        wave_id=item.wave_id,
        persona=persona,
        self_claim=False,
        today=today,
    )


def create_one(
    session: Session, *, project: Project, item: AssignmentCreate, actor: User
) -> Assignment:
    result = create_assignments(session, project=project, items=[item], actor=actor)
    verdict = result.rows[0]
    assert verdict.assignment_id is not None
    assignment = session.get(Assignment, verdict.assignment_id)
    assert assignment is not None
    return assignment


# ---------------------------------------------------------------- lifecycle


def get_assignment(
    session: Session, *, user: User, assignment_id: int, manage: bool = False
) -> Assignment:
    """The assignment if ``user`` may see it: its shopper, or a manager of its project."""
    assignment = session.get(Assignment, assignment_id)
    missing = NotFound(f"No assignment {assignment_id}.")
    if assignment is None:
        raise missing
    if user.role == Role.shopper:
        if assignment.shopper_id != user.id or manage:
            raise missing
        return assignment
    if user.role not in {Role.admin, Role.manager}:
        raise missing
    try:
        get_project(session, user=user, project_id=assignment.project_id, manage=True)
    except NotFound:
        raise missing from None
    return assignment


def _relock(session: Session, assignment: Assignment) -> Project:
    project = session.get(Project, assignment.project_id)
    assert project is not None
    lock_project(session, project)
    session.refresh(assignment)
    return project


def _window_open(assignment: Assignment, now: datetime) -> None:
    if assignment.window_end <= now:
        raise Conflict(
            f"The visit window ended at {assignment.window_end.isoformat()}.", rule="visit_window"
        )


def accept(session: Session, *, assignment: Assignment, shopper: User) -> Assignment:
    _relock(session, assignment)
    _window_open(assignment, utcnow())
    return transition(session, assignment, S.accepted, actor_id=shopper.id, action="accepted")


def decline(session: Session, *, assignment: Assignment, shopper: User, comment: str) -> Assignment:
    _relock(session, assignment)
    return transition(
        session, assignment, S.declined, actor_id=shopper.id, action="declined", comment=comment
    )


def cancel(session: Session, *, assignment: Assignment, actor: User, comment: str) -> Assignment:
    _relock(session, assignment)
    return transition(
        session, assignment, S.cancelled, actor_id=actor.id, action="cancelled", comment=comment
    )


def _attach_shopper(
    session: Session, *, assignment: Assignment, shopper_id: int, self_claim: bool, today: date
) -> None:
    project = _relock(session, assignment)
    if assignment.status != S.open:
        raise Conflict(
            f"Assignment {assignment.id} is {assignment.status}, no longer open.",
            rule="assignment_open",
        )
    _window_open(assignment, utcnow())
    if self_claim and not project.cap_rules.job_board:
        raise CapExceeded("This project does not use the job board.", rule="job_board")
    shoppers = _shopper_facts(session, [shopper_id])
    if shopper_id not in shoppers:
        raise Invalid(
            f"No shopper {shopper_id}.",
            [{"field": "shopper_id", "location": "body", "message": "unknown shopper"}],
        )
    location = session.get(Location, assignment.location_id)
    assert location is not None
    ledger = _ledger(
        session, project, shopper_ids=[shopper_id], location_ids=[assignment.location_id]
    )
    refusal = ledger.check_shopper(
        shopper=shoppers[shopper_id],
        location_id=assignment.location_id,
        location_region=location.region,
        visit_day=assignment.visit_day,
        wave_id=assignment.wave_id,
        persona=_persona(session, assignment.journey_version_id),
        self_claim=self_claim,
        today=today,
    )
    if refusal is not None:
        raise _refuse(refusal)
    assignment.shopper_id = shopper_id


def claim(
    session: Session, *, assignment_id: int, shopper: User, today: date | None = None
) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    # Job-board visits were public, so "taken" may be said; anything else of others stays unseen.
    if assignment is None or not (assignment.job_board or assignment.shopper_id == shopper.id):
        raise NotFound(f"No open assignment {assignment_id} on the job board.")
    assert shopper.id is not None
    _attach_shopper(
        session,
        assignment=assignment,
        shopper_id=shopper.id,
        self_claim=True,
        today=today or date.today(),
    )
    return transition(session, assignment, S.accepted, actor_id=shopper.id, action="claimed")


def offer(
    session: Session,
    *,
    assignment: Assignment,
    shopper_id: int,
    actor: User,
    today: date | None = None,
) -> Assignment:
    _attach_shopper(
        session,
        assignment=assignment,
        shopper_id=shopper_id,
        self_claim=False,
        today=today or date.today(),
    )
    return transition(session, assignment, S.offered, actor_id=actor.id, action="offered")


def expire_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Expire every open, offered or accepted assignment whose visit window has ended."""
    now = now or utcnow()
    overdue = session.exec(
        select(Assignment).where(
            col(Assignment.status).in_([S.open, S.offered, S.accepted]),
            Assignment.window_end <= now,
        )
    ).all()
    for assignment in overdue:
        transition(
            session,
            assignment,
            S.expired,
            actor_id=None,
            action="expired",
            comment="visit window ended",
        )
    session.flush()
    return len(overdue)


# ---------------------------------------------------------------- reading


def _public_rows(session: Session, query: Any) -> list[AssignmentPublic]:
    return [to_public(a, loc, name, persona) for a, loc, name, persona in session.exec(query)]


def to_public(
    assignment: Assignment, location: Location, project_name: str, persona: Persona | None = None
) -> AssignmentPublic:
    return AssignmentPublic.model_validate(
        assignment,
        update={
            "project_name": project_name,
            "location": LocationBrief.model_validate(location, from_attributes=True),
            "persona": None if persona is None else PersonaBrief.model_validate(persona),
        },
    )


def public(session: Session, assignment: Assignment) -> AssignmentPublic:
    location = session.get(Location, assignment.location_id)
    project = session.get(Project, assignment.project_id)
    assert location is not None and project is not None
    persona = None if assignment.persona_id is None else session.get(Persona, assignment.persona_id)
    return to_public(assignment, location, project.name, persona)


def _base_query(page: PageParams) -> Any:
    query = (
        select(Assignment, Location, Project.name, Persona)
        .join(Location, col(Location.id) == Assignment.location_id)
        .join(Project, col(Project.id) == Assignment.project_id)
        .outerjoin(Persona, col(Persona.id) == Assignment.persona_id)
        .order_by(col(Assignment.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(Assignment.id) > page.after_id)
    return query


def list_for_project(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    status: AssignmentStatus | None = None,
    shopper_id: int | None = None,
    location_id: int | None = None,
    wave_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> list[AssignmentPublic]:
    query = _base_query(page).where(Assignment.project_id == project.id)
    for column, value in (
        (Assignment.status, status),
        (Assignment.shopper_id, shopper_id),
        (Assignment.location_id, location_id),
        (Assignment.wave_id, wave_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if day_from is not None:
        query = query.where(Assignment.visit_day >= day_from)
    if day_to is not None:
        query = query.where(Assignment.visit_day <= day_to)
    return _public_rows(session, query)


MY_SCOPES: dict[str, tuple[AssignmentStatus, ...]] = {
    "active": (S.offered, S.accepted, S.in_progress, S.returned),
    "offered": (S.offered,),
    "returned": (S.returned,),
    "done": (S.submitted, S.approved, S.rejected),
    "all": tuple(S),
}


def list_for_shopper(
    session: Session,
    *,
    shopper: User,
    page: PageParams,
    scope: str,
    day: date | None = None,
) -> list[AssignmentPublic]:
    query = _base_query(page).where(
        Assignment.shopper_id == shopper.id, col(Assignment.status).in_(MY_SCOPES[scope])
    )
    if day is not None:
        query = query.where(Assignment.visit_day == day)
    return _public_rows(session, query)


def job_board(
    session: Session, *, page: PageParams, region: str | None, now: datetime | None = None
) -> list[AssignmentPublic]:
    """Open assignments of active projects that use the job board, oldest first."""
    now = now or utcnow()
    active = session.exec(select(Project).where(Project.status == ProjectStatus.active)).all()
    board_projects = [p.id for p in active if p.cap_rules.job_board]
    query = _base_query(page).where(
        Assignment.status == S.open,
        Assignment.window_end > now,
        col(Assignment.project_id).in_(board_projects),
    )
    if region:
        query = query.where(Location.region == region)
    return _public_rows(session, query)
