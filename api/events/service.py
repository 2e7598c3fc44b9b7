"""What happened, as events: assignment state changes, visit decisions, changed results, appeals."""

from __future__ import annotations

from sqlmodel import Session, select

from api.appeals.models import Appeal
from api.assignments.models import Assignment, AssignmentStatus
from api.common import utcnow
from api.events.bus import emit
from api.events.models import Event, EventType
from api.visits.models import Visit

S = AssignmentStatus


def visit_event(before: AssignmentStatus, after: AssignmentStatus) -> EventType | None:
    """The visit event an assignment transition means, if any."""
    if after == S.approved:
        return EventType.visit_approved
    if before == S.approved and after == S.submitted:
        return EventType.visit_revoked
    if after == S.submitted:
        return EventType.visit_submitted
    if after == S.returned:
        return EventType.visit_returned
    if after == S.rejected:
        return EventType.visit_rejected
    return None


def assignment_transitioned(
    session: Session,
    *,
    assignment: Assignment,
    before: AssignmentStatus,
    visit_id: int | None = None,
    visit_event_id: str | None = None,
) -> None:
    """``assignment.changed``, and the visit event the change means (sent on commit).

    ``visit_id``: the assignment's visit when the caller has it (saves a query).
    ``visit_event_id``: the visit event's id, when the caller sends that event elsewhere too."""
    assert assignment.id is not None
    kind = visit_event(before, assignment.status)
    if kind is not None and visit_id is None:
        visit_id = session.exec(
            select(Visit.id).where(Visit.assignment_id == assignment.id)
        ).first()
    at = assignment.updated_at or utcnow()
    common = {
        "project_id": assignment.project_id,
        "assignment_id": assignment.id,
        "visit_id": visit_id,
        "state": assignment.status.value,
        "at": at,
    }
    emit(session, Event(type=EventType.assignment_changed, **common))
    if kind is not None and visit_id is not None:
        ids = {"id": visit_event_id} if visit_event_id else {}
        emit(session, Event(type=kind, **common, **ids))


def results_changed(session: Session, *, project_id: int, visit_id: int) -> None:
    """``results.changed``: a visit entered, left or changed the project's materialised results
    (once per transaction and visit)."""
    event = Event(
        type=EventType.results_changed, project_id=project_id, visit_id=visit_id, at=utcnow()
    )
    emit(session, event, once=True)


def appeal_changed(session: Session, *, appeal: Appeal) -> Event:
    """``appeal.changed``: ``appeal`` was filed or decided and has its new status (sent on
    commit). Returns the event, so the caller can queue the same one for webhooks."""
    assert appeal.id is not None
    event = Event(
        type=EventType.appeal_changed,
        project_id=appeal.project_id,
        visit_id=appeal.visit_id,
        appeal_id=appeal.id,
        appeal_status=appeal.status.value,
        at=appeal.decided_at or appeal.filed_at,
    )
    emit(session, event)
    return event
