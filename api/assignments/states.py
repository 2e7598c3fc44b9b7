"""The assignment lifecycle of DESIGN.md; every change is audited."""

from __future__ import annotations

from sqlmodel import Session

from api.assignments.models import Assignment, AssignmentStatus
from api.audit.service import record
from api.common import utcnow
from api.errors import InvalidTransition
from api.events.service import assignment_transitioned

S = AssignmentStatus

TRANSITIONS: dict[AssignmentStatus, frozenset[AssignmentStatus]] = {
    S.open: frozenset({S.offered, S.accepted, S.cancelled, S.expired}),
    S.offered: frozenset({S.accepted, S.declined, S.cancelled, S.expired}),
    S.accepted: frozenset({S.in_progress, S.cancelled, S.expired}),
    S.in_progress: frozenset({S.submitted, S.cancelled}),
    S.submitted: frozenset({S.returned, S.approved, S.rejected}),
    S.returned: frozenset({S.submitted, S.rejected, S.cancelled}),
    S.approved: frozenset({S.submitted}),
    S.rejected: frozenset(),
    S.declined: frozenset(),
    S.expired: frozenset(),
    S.cancelled: frozenset(),
}


def can_transition(current: AssignmentStatus, target: AssignmentStatus) -> bool:
    return target in TRANSITIONS[current]


def transition(
    session: Session,
    assignment: Assignment,
    target: AssignmentStatus,
    *,
    actor_id: int | None,
    action: str,
    comment: str = "",
    visit_id: int | None = None,
    visit_event_id: str | None = None,
) -> Assignment:
    """Move ``assignment`` to ``target``, audited, with its events (``visit_id``: its visit's id,
    when the caller has it; ``visit_event_id``: the id of the visit event the move means, when the
    caller sends the same event elsewhere, e.g. to webhooks)."""
    current = assignment.status
    if not can_transition(current, target):
        allowed = sorted(TRANSITIONS[current])
        raise InvalidTransition(
            f"Assignment {assignment.id} is {current}; it cannot be {action}"
            + (
                f" (from {current} it can go to: {', '.join(allowed)})."
                if allowed
                else " any more."
            ),
            from_state=current,
            to_state=target,
        )
    assignment.status = target
    assignment.updated_at = utcnow()
    session.add(assignment)
    assert assignment.id is not None
    record(
        session,
        actor_id=actor_id,
        entity="assignment",
        entity_id=assignment.id,
        action=action,
        from_state=current,
        to_state=target,
        comment=comment,
    )
    assignment_transitioned(
        session,
        assignment=assignment,
        before=current,
        visit_id=visit_id,
        visit_event_id=visit_event_id,
    )
    return assignment
