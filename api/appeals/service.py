"""Appeals: filing within the project's window, deciding (void or amend and re-score), statistics.

Who may do what:
- a user of the project's client files an appeal against an **approved** visit of the project,
  named by its visit id, within ``appeal_window_days`` days of the visit's (latest) approval;
  0 days turns appeals off. A visit the client may not see (another client's, or not approved)
  answers 404 like an id that does not exist. A visit has at most one open appeal.
- the project's managers (and admins) uphold or dismiss it. Upholding either voids the visit
  (its approval is revoked and it is rejected, so it leaves the results) or amends named answers
  (the step observations change, each change audited with before and after, and the visit's
  results rows are removed and re-materialised with the corrected answers).

Filing and deciding each send one ``appeal.changed`` event (the appeal's new status; live
streams of the project's staff and client users, and webhooks that take it), on commit.

Every step is in the audit log: ``appeal_filed`` and ``appeal_upheld`` / ``appeal_dismissed``
(entity ``appeal``), ``step_amended_on_appeal`` and ``rescored_on_appeal`` (entity ``visit``),
and the assignment's own ``approval_revoked`` and ``rejected`` transitions for a void.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.appeals.models import (
    Appeal,
    AppealableVisit,
    AppealAction,
    AppealCreate,
    AppealDecision,
    AppealPublic,
    AppealRate,
    AppealStats,
    AppealStatus,
    LocationAppealRate,
    ShopperAppealRate,
)
from api.assignments.models import Assignment, AssignmentStatus
from api.audit.models import AuditEntry
from api.audit.service import record
from api.common import PageParams, utcnow
from api.errors import Conflict, Invalid, NotFound
from api.events.service import appeal_changed
from api.locations.models import Location
from api.projects.access import get_project
from api.projects.models import Project
from api.qc.service import run_qc_and_store
from api.results.materialise import materialise_visit, remove_visit
from api.results.models import VisitResult
from api.reviews.models import ReviewAction
from api.reviews.outcomes import decide, lock_visit
from api.visits.models import StepObservation, StepWrite, Visit
from api.visits.service import journey_of, step_public
from api.visits.validation import step_write_errors
from api.webhooks.service import enqueue as enqueue_webhooks
from briefings import QuestionType

S = AssignmentStatus


# ---------------------------------------------------------------- reading


def approved_at(session: Session, *, assignment_id: int) -> datetime | None:
    """When the assignment last became approved (the audit log records every transition)."""
    return session.exec(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.entity == "assignment",
            AuditEntry.entity_id == assignment_id,
            AuditEntry.to_state == S.approved,
        )
    ).one()


def appeal_public(session: Session, appeal: Appeal) -> AppealPublic:
    return appeals_public(session, [appeal])[0]


def appeals_public(session: Session, appeals: list[Appeal]) -> list[AppealPublic]:
    places = {
        place.id: place
        for place in session.exec(
            select(Location).where(col(Location.id).in_({a.location_id for a in appeals}))
        )
    }
    return [
        AppealPublic.model_validate(
            appeal,
            from_attributes=True,
            update={
                "location_code": places[appeal.location_id].code,
                "location_name": places[appeal.location_id].name,
            },
        )
        for appeal in appeals
    ]


def get_appeal(session: Session, *, user: User, appeal_id: int, manage: bool = False) -> Appeal:
    """The appeal if ``user`` may see its project (and manage it when ``manage``), else 404."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"No appeal {appeal_id}.")
    try:
        get_project(session, user=user, project_id=appeal.project_id, manage=manage)
    except NotFound:
        raise NotFound(f"No appeal {appeal_id}.") from None
    return appeal


def list_appeals(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    status: AppealStatus | None,
    location_id: int | None,
) -> list[Appeal]:
    query = (
        select(Appeal)
        .where(Appeal.project_id == project.id)
        .order_by(col(Appeal.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(Appeal.id) > page.after_id)
    if status is not None:
        query = query.where(Appeal.status == status)
    if location_id is not None:
        query = query.where(Appeal.location_id == location_id)
    return list(session.exec(query))


def appealable_visits(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    location_id: int | None,
    now: datetime | None = None,
) -> list[AppealableVisit]:
    """Approved visits of the project whose appeal window is still open, by visit id."""
    days = project.appeal_window_days
    if days <= 0:
        return []
    now = now or utcnow()
    approvals = (
        select(
            col(AuditEntry.entity_id).label("assignment_id"),
            func.max(AuditEntry.at).label("approved_at"),
        )
        .where(
            AuditEntry.entity == "assignment",
            AuditEntry.to_state == S.approved,
            col(AuditEntry.entity_id).in_(
                select(Assignment.id).where(
                    Assignment.project_id == project.id, Assignment.status == S.approved
                )
            ),
        )
        .group_by(col(AuditEntry.entity_id))
        .subquery()
    )
    open_appeals = select(Appeal.id).where(Appeal.open_visit_id == Visit.id).scalar_subquery()
    query = (
        select(
            Visit.id,
            Visit.started_at,
            Location,
            approvals.c.approved_at,
            VisitResult.score,
            open_appeals.label("open_appeal_id"),
        )
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .join(approvals, approvals.c.assignment_id == Assignment.id)
        .join(Location, col(Location.id) == Assignment.location_id)
        .outerjoin(VisitResult, col(VisitResult.visit_id) == Visit.id)
        .where(
            Assignment.project_id == project.id,
            Assignment.status == S.approved,
            approvals.c.approved_at >= now - timedelta(days=days),
        )
        .order_by(col(Visit.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(Visit.id) > page.after_id)
    if location_id is not None:
        query = query.where(Assignment.location_id == location_id)
    return [
        AppealableVisit(
            visit_id=visit_id,
            location_id=place.id,
            location_code=place.code,
            location_name=place.name,
            visit_day=started_at.date(),
            score=score,
            approved_at=approved,
            appeal_until=approved + timedelta(days=days),
            open_appeal_id=open_id,
        )
        for visit_id, started_at, place, approved, score, open_id in session.exec(query)
    ]


# ---------------------------------------------------------------- filing


def _client_visit(session: Session, *, user: User, visit_id: int) -> tuple[Visit, Assignment]:
    """The visit if it is an approved visit of a project of the user's client, else 404."""
    missing = NotFound(f"No visit {visit_id}.")
    row = session.exec(
        select(Visit, Assignment, Project)
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .join(Project, col(Project.id) == Assignment.project_id)
        .where(Visit.id == visit_id)
    ).first()
    if row is None:
        raise missing
    visit, assignment, project = row
    if user.role != Role.client or user.client_id is None or project.client_id != user.client_id:
        raise missing
    if assignment.status != S.approved:  # clients never see a visit before it is approved
        raise missing
    return visit, assignment


def file_appeal(
    session: Session,
    *,
    user: User,
    visit_id: int,
    data: AppealCreate,
    now: datetime | None = None,
) -> Appeal:
    visit, assignment = _client_visit(session, user=user, visit_id=visit_id)
    assert visit.id is not None and assignment.id is not None and user.id is not None
    project = session.get(Project, assignment.project_id)
    assert project is not None
    days = project.appeal_window_days
    if days <= 0:
        raise Conflict("This project takes no appeals.", rule="appeal_window", window_days=0)
    lock_visit(session, visit_id=visit.id, assignment=assignment)
    if assignment.status != S.approved:  # changed while waiting for the lock
        raise NotFound(f"No visit {visit_id}.")
    approved = approved_at(session, assignment_id=assignment.id)
    assert approved is not None, "an approved assignment has an audited approval"
    now = now or utcnow()
    deadline = approved + timedelta(days=days)
    if now > deadline:
        raise Conflict(
            f"Visits may be appealed within {days} day(s) of their approval; this one was "
            f"approved on {approved.isoformat()} and could be appealed until "
            f"{deadline.isoformat()}.",
            rule="appeal_window",
            window_days=days,
            appeal_until=deadline.isoformat(),
        )
    open_id = session.exec(select(Appeal.id).where(Appeal.open_visit_id == visit.id)).first()
    if open_id is not None:
        raise Conflict(
            f"Visit {visit_id} has an open appeal ({open_id}); wait for its decision.",
            rule="one_open_appeal",
            appeal_id=open_id,
        )
    appeal = Appeal(
        project_id=assignment.project_id,
        visit_id=visit.id,
        location_id=assignment.location_id,
        open_visit_id=visit.id,
        reason=data.reason.strip(),
        filed_by=user.id,
        approved_at=approved,
    )
    session.add(appeal)
    session.flush()
    assert appeal.id is not None
    record(
        session,
        actor_id=user.id,
        entity="appeal",
        entity_id=appeal.id,
        action="appeal_filed",
        to_state=AppealStatus.open,
        comment=appeal.reason,
        data={"visit_id": visit.id},
    )
    session.flush()
    _announce(session, appeal)
    return appeal


def _announce(session: Session, appeal: Appeal) -> None:
    """``appeal.changed`` on the stream, and the same event in the webhooks' outbox."""
    enqueue_webhooks(session, event=appeal_changed(session, appeal=appeal))


# ---------------------------------------------------------------- deciding


def _visit_score(session: Session, visit_id: int) -> float | None:
    return session.exec(select(VisitResult.score).where(VisitResult.visit_id == visit_id)).first()


def _amend(
    session: Session,
    *,
    appeal: Appeal,
    assignment: Assignment,
    amendments: dict[str, dict[str, Any]],
    actor: User,
) -> None:
    """Check every correction first, then apply them all, each audited with before and after."""
    definition = journey_of(session, version_id=assignment.journey_version_id)
    rows = {
        row.step_key: row
        for row in session.exec(
            select(StepObservation).where(StepObservation.visit_id == appeal.visit_id)
        )
    }
    steps = {step.key: step for _, step in definition.steps()}
    errors: list[dict[str, Any]] = []
    for step_key, answers in amendments.items():
        row = rows.get(step_key)
        if row is None:
            errors.append(
                {
                    "step": step_key,
                    "field": f"amendments.{step_key}",
                    "message": "the visit has no observation of this step",
                }
            )
            continue
        step = steps.get(step_key)
        questions = step.questions if step is not None else ()
        photos = {q.key for q in questions if q.type is QuestionType.photo}
        for key in sorted(photos & set(answers)):
            errors.append(
                {
                    "step": step_key,
                    "field": f"amendments.{step_key}.{key}",
                    "message": "photos cannot be changed on appeal",
                }
            )
        # Only the answers are checked: the rest of the observation stays as the shopper wrote it.
        write = StepWrite.model_validate({"client_uuid": row.client_uuid, "answers": answers})
        for problem in step_write_errors(definition, step_key, write):
            field = str(problem["field"]).removeprefix("answers.")
            errors.append({**problem, "field": f"amendments.{step_key}.{field}"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Invalid(f"The corrections do not fit the visit's journey: {detail}", errors)
    for step_key, answers in amendments.items():
        row = rows[step_key]
        before = step_public(row).model_dump(mode="json", exclude={"updated_at"})
        row.answers = {**row.answers, **answers}
        row.revision += 1
        row.updated_at = utcnow()
        session.add(row)
        record(
            session,
            actor_id=actor.id,
            entity="visit",
            entity_id=appeal.visit_id,
            action="step_amended_on_appeal",
            comment=step_key,
            data={
                "appeal_id": appeal.id,
                "step_key": step_key,
                "before": before,
                "after": step_public(row).model_dump(mode="json", exclude={"updated_at"}),
            },
        )
    session.flush()


def decide_appeal(session: Session, *, user: User, appeal_id: int, data: AppealDecision) -> Appeal:
    """Uphold (void or amend and re-score) or dismiss an open appeal, in one transaction."""
    appeal = get_appeal(session, user=user, appeal_id=appeal_id, manage=True)
    visit = session.get(Visit, appeal.visit_id)
    assert visit is not None and visit.id is not None
    assignment = session.get(Assignment, visit.assignment_id)
    assert assignment is not None
    lock_visit(session, visit_id=visit.id, assignment=assignment)
    session.refresh(appeal)  # another decision may have committed while this one waited
    if appeal.status != AppealStatus.open:
        raise Conflict(
            f"Appeal {appeal_id} was {appeal.status} already.", appeal_status=appeal.status
        )
    comment = data.comment.strip()
    note = f"appeal {appeal_id}: {comment}"
    if data.outcome == "upheld" and assignment.status != S.approved:
        raise Conflict(
            f"Visit {visit.id} is {assignment.status} now; only an approved visit can be voided "
            "or amended (dismiss the appeal instead).",
            rule="visit_approved",
        )
    score_before = _visit_score(session, visit.id)
    if data.action == AppealAction.void:
        for action, target in (
            (ReviewAction.revoke, S.submitted),
            (ReviewAction.reject, S.rejected),
        ):
            decide(
                session,
                visit_id=visit.id,
                assignment=assignment,
                action=action,
                target=target,
                actor_id=user.id,
                comment=note,
                refresh_rating=target == S.rejected,
            )
        appeal.score_before = score_before
    elif data.action == AppealAction.amend:
        assert data.amendments
        _amend(
            session, appeal=appeal, assignment=assignment, amendments=data.amendments, actor=user
        )
        remove_visit(session, visit_id=visit.id)
        materialise_visit(session, visit_id=visit.id)
        appeal.score_before, appeal.score_after = score_before, _visit_score(session, visit.id)
        # The visit stays approved; its QC flags are brought up to date for the record.
        flags, _ = run_qc_and_store(
            session,
            visit=visit,
            assignment=assignment,
            journey=journey_of(session, version_id=assignment.journey_version_id),
        )
        record(
            session,
            actor_id=user.id,
            entity="visit",
            entity_id=visit.id,
            action="rescored_on_appeal",
            comment=note,
            data={
                "appeal_id": appeal_id,
                "score_before": appeal.score_before,
                "score_after": appeal.score_after,
                "qc_flags": sorted(str(flag.rule) for flag in flags),
            },
        )
    status = AppealStatus.upheld if data.outcome == "upheld" else AppealStatus.dismissed
    appeal.status = status
    appeal.open_visit_id = None
    appeal.decided_by = user.id
    appeal.decided_at = utcnow()
    appeal.decision_comment = comment
    appeal.action = data.action
    appeal.amendments = data.amendments or {}
    session.add(appeal)
    record(
        session,
        actor_id=user.id,
        entity="appeal",
        entity_id=appeal_id,
        action=f"appeal_{status}",
        from_state=AppealStatus.open,
        to_state=status,
        comment=comment,
        data={
            "visit_id": visit.id,
            "action": data.action,
            "amendments": appeal.amendments,
            "score_before": appeal.score_before,
            "score_after": appeal.score_after,
        },
    )
    session.flush()
    _announce(session, appeal)
    return appeal


# ---------------------------------------------------------------- statistics


def _rate(approved: int, counts: Counter[AppealStatus]) -> dict[str, Any]:
    appeals = sum(counts.values())
    decided = counts[AppealStatus.upheld] + counts[AppealStatus.dismissed]
    return {
        "approved_visits": approved,
        "appeals": appeals,
        "open": counts[AppealStatus.open],
        "upheld": counts[AppealStatus.upheld],
        "dismissed": counts[AppealStatus.dismissed],
        "appeal_rate": appeals / approved if approved else None,
        "upheld_rate": counts[AppealStatus.upheld] / decided if decided else None,
    }


def _most_appealed(keys: Iterable[Any], counts: dict[Any, Counter[AppealStatus]]) -> list[Any]:
    return sorted(keys, key=lambda key: (-sum(counts[key].values()), key is None, key or 0))


def appeal_stats(session: Session, *, project: Project) -> AppealStats:
    """Appeals and their outcomes against approved visits, per location and per shopper.

    The denominator counts the visits approved now plus those voided on appeal: every appealed
    visit was approved when it was appealed, so a void does not shrink what it is a share of.
    """
    approved: Counter[tuple[int, int | None]] = Counter()
    for location_id, shopper_id, count in session.exec(
        select(Assignment.location_id, Assignment.shopper_id, func.count())
        .where(Assignment.project_id == project.id, Assignment.status == S.approved)
        .group_by(col(Assignment.location_id), col(Assignment.shopper_id))
    ):
        approved[(location_id, shopper_id)] += count
    by_location: dict[int, Counter[AppealStatus]] = {}
    by_shopper: dict[int | None, Counter[AppealStatus]] = {}
    total: Counter[AppealStatus] = Counter()
    no_longer_approved: set[tuple[int, int, int | None]] = set()
    for visit_id, status, location_id, shopper_id, state in session.exec(
        select(
            Appeal.visit_id,
            Appeal.status,
            Assignment.location_id,
            Assignment.shopper_id,
            Assignment.status,
        )
        .join(Visit, col(Visit.id) == Appeal.visit_id)
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .where(Appeal.project_id == project.id)
    ):
        by_location.setdefault(location_id, Counter())[status] += 1
        by_shopper.setdefault(shopper_id, Counter())[status] += 1
        total[status] += 1
        if state != S.approved:
            no_longer_approved.add((visit_id, location_id, shopper_id))
    for _, location_id, shopper_id in no_longer_approved:
        approved[(location_id, shopper_id)] += 1

    location_visits: Counter[int] = Counter()
    shopper_visits: Counter[int | None] = Counter()
    for (location_id, shopper_id), count in approved.items():
        location_visits[location_id] += count
        shopper_visits[shopper_id] += count
    location_ids = set(location_visits) | set(by_location)
    shopper_ids = set(shopper_visits) | set(by_shopper)
    places = {
        place.id: place
        for place in session.exec(select(Location).where(col(Location.id).in_(location_ids)))
    }
    names = dict(
        session.exec(
            select(User.id, User.username).where(
                col(User.id).in_([i for i in shopper_ids if i is not None])
            )
        ).all()
    )
    empty: Counter[AppealStatus] = Counter()
    for key in location_ids:
        by_location.setdefault(key, empty)
    for key in shopper_ids:
        by_shopper.setdefault(key, empty)
    return AppealStats(
        total=AppealRate(**_rate(sum(location_visits.values()), total)),
        locations=[
            LocationAppealRate(
                location_id=location_id,
                code=places[location_id].code,
                name=places[location_id].name,
                **_rate(location_visits[location_id], by_location[location_id]),
            )
            for location_id in _most_appealed(location_ids, by_location)
        ],
        shoppers=[
            ShopperAppealRate(
                shopper_id=shopper_id,
                username=names.get(shopper_id) if shopper_id is not None else None,
                **_rate(shopper_visits[shopper_id], by_shopper[shopper_id]),
            )
            for shopper_id in _most_appealed(shopper_ids, by_shopper)
        ],
    )
