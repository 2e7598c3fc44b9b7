"""Review outcomes: the state change, its review record, the results hook and the shopper's rating.

Shopper quality rating (0–100, on ``ShopperProfile.rating``), recomputed on every outcome over the
shopper's *decided* visits (approved or rejected; visits awaiting review or correction do not count):

    points(visit) = max(0, base − 0.25 · [the visit's first QC run raised a fail flag])
    base          = 1 approved without being returned · 0.5 approved after one or more returns
                    · 0 rejected (by a reviewer or past the resubmission deadline)
    rating        = 100 · Σ points / number of decided visits     (null while there are none)

Each visit weighs the same and each term lies in [0, 1], so the rating stays in 0–100. A revoked
approval leaves the decided set until the visit is decided again. ``approved_visits`` counts the
shopper's approved visits (the job board's experience rule reads it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from api.assignments.models import Assignment, AssignmentStatus
from api.assignments.states import transition
from api.common import utcnow
from api.events.models import Event, EventType, new_event_id
from api.qc.models import QcRun
from api.reviews.models import Review, ReviewAction
from api.shoppers.models import ShopperProfile
from api.visits.models import Visit
from api.webhooks.service import enqueue as enqueue_webhooks

S = AssignmentStatus

APPROVED_FIRST_TIME = 1.0
APPROVED_AFTER_RETURN = 0.5
REJECTED = 0.0
FIRST_RUN_FAIL_PENALTY = 0.25

# The audit log's action for each review action.
AUDIT_ACTIONS = {
    ReviewAction.approve: "approved",
    ReviewAction.reject: "rejected",
    ReviewAction.return_: "returned",
    ReviewAction.revoke: "approval_revoked",
    ReviewAction.auto_approve: "auto_approved",
    ReviewAction.deadline_reject: "rejected_past_deadline",
}


def _results() -> Any:
    # api.results scores visits with api.visits' helpers, and api.visits runs QC (which may
    # auto-approve) on submit: importing at call time keeps that loop out of module imports.
    from api.results import materialise

    return materialise


def lock_visit(session: Session, *, visit_id: int, assignment: Assignment) -> None:
    """Serialise a decision with the shopper's writes to the visit (they lock the visit row too).

    SQLite holds the database write lock already; on PostgreSQL the rows are re-read under lock,
    so a decision sees a resubmission that committed while it waited.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.exec(
        select(Visit.id)
        .where(Visit.id == visit_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    session.exec(
        select(Assignment)
        .where(Assignment.id == assignment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def current_run(session: Session, *, visit_id: int) -> int | None:
    return session.exec(
        select(QcRun.run).where(QcRun.visit_id == visit_id, col(QcRun.current))
    ).first()


def decide(
    session: Session,
    *,
    visit_id: int,
    assignment: Assignment,
    action: ReviewAction,
    target: AssignmentStatus,
    actor_id: int | None,
    comment: str = "",
    resubmit_by: datetime | None = None,
    refresh_rating: bool = True,
) -> Review:
    """Move the visit's assignment to ``target`` (audited) and record the review.

    InvalidTransition (409) when the current state does not allow it.
    """
    before = assignment.status
    # visit.approved and visit.revoked go to the live stream and to webhooks as one event, by one id.
    event_id = new_event_id()
    transition(
        session,
        assignment,
        target,
        actor_id=actor_id,
        action=AUDIT_ACTIONS[action],
        comment=comment,
        visit_id=visit_id,
        visit_event_id=event_id,
    )
    assert assignment.id is not None
    review = Review(
        visit_id=visit_id,
        assignment_id=assignment.id,
        reviewer_id=actor_id,
        action=action,
        from_state=before,
        to_state=target,
        comment=comment,
        qc_run=current_run(session, visit_id=visit_id),
        resubmit_by=resubmit_by,
    )
    session.add(review)
    session.flush()
    if target == S.approved:
        _results().materialise_visit(session, visit_id=visit_id)
        _queue_webhooks(
            session, EventType.visit_approved, assignment, visit_id=visit_id, event_id=event_id
        )
    elif before == S.approved:
        _results().remove_visit(session, visit_id=visit_id)
        _queue_webhooks(
            session, EventType.visit_revoked, assignment, visit_id=visit_id, event_id=event_id
        )
    if refresh_rating and assignment.shopper_id is not None:
        update_rating(session, shopper_id=assignment.shopper_id)
    return review


def _queue_webhooks(
    session: Session, kind: EventType, assignment: Assignment, *, visit_id: int, event_id: str
) -> None:
    """Outbox rows for the project's webhooks: the visit event the transition sent to the live
    stream (its id and time; the webhook leaves out the assignment's state)."""
    enqueue_webhooks(
        session,
        event=Event(
            id=event_id,
            type=kind,
            project_id=assignment.project_id,
            visit_id=visit_id,
            assignment_id=assignment.id,
            at=assignment.updated_at or utcnow(),
        ),
    )


def auto_approve(session: Session, *, visit_id: int, assignment: Assignment) -> Review:
    return decide(
        session,
        visit_id=visit_id,
        assignment=assignment,
        action=ReviewAction.auto_approve,
        target=S.approved,
        actor_id=None,
        comment="QC raised no warn or fail flag",
    )


def rating_points(*, approved: bool, returns: int, first_run_failed: bool) -> float:
    """One decided visit's share of the rating (see the module docstring)."""
    if not approved:
        base = REJECTED
    elif returns:
        base = APPROVED_AFTER_RETURN
    else:
        base = APPROVED_FIRST_TIME
    return max(0.0, base - (FIRST_RUN_FAIL_PENALTY if first_run_failed else 0.0))


def update_rating(session: Session, *, shopper_id: int) -> ShopperProfile | None:
    """Recompute the shopper's rating and approved-visit count from their decided visits."""
    profile = session.get(ShopperProfile, shopper_id)
    if profile is None:
        return None
    decided = session.exec(
        select(Visit.id, Assignment.status)
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .where(
            Assignment.shopper_id == shopper_id,
            col(Assignment.status).in_([S.approved, S.rejected]),
        )
    ).all()
    visit_ids = [visit_id for visit_id, _ in decided]
    returns: dict[int, int] = {}
    failed_first: set[int] = set()
    if visit_ids:
        returns = {
            visit_id: int(count)
            for visit_id, count in session.exec(
                select(Review.visit_id, func.count())
                .where(col(Review.visit_id).in_(visit_ids), Review.action == ReviewAction.return_)
                .group_by(col(Review.visit_id))
            )
        }
        failed_first = set(
            session.exec(
                select(QcRun.visit_id).where(
                    col(QcRun.visit_id).in_(visit_ids), QcRun.run == 1, QcRun.fail_count > 0
                )
            )
        )
    points = [
        rating_points(
            approved=status == S.approved,
            returns=returns.get(visit_id, 0),
            first_run_failed=visit_id in failed_first,
        )
        for visit_id, status in decided
        if visit_id is not None
    ]
    profile.rating = round(100 * sum(points) / len(points), 1) if points else None
    profile.approved_visits = sum(1 for _, status in decided if status == S.approved)
    session.add(profile)
    session.flush()
    return profile
