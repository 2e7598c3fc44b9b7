"""The review queue, decisions on single visits and in bulk, and the returned-visit deadline sweep."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, exists, literal, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from api.accounts.models import User
from api.assignments.models import Assignment, AssignmentStatus, LocationBrief
from api.common import Page, PageParams, utcnow
from api.errors import Invalid
from api.locations.models import Location
from api.projects.models import Project
from api.qc.models import FlagCounts, QcFlag, QcRun
from api.qc.service import flag_runs
from api.reviews.models import (
    BulkApproveRequest,
    BulkApproveResult,
    QueueItem,
    ReturnNoticePublic,
    Review,
    ReviewAction,
    ReviewPublic,
    ReviewRequest,
    ShopperBrief,
    VisitReviewPublic,
)
from api.reviews.outcomes import decide, lock_visit, update_rating
from api.shoppers.models import ShopperProfile
from api.visits.models import Visit
from api.visits.service import get_visit, visit_public
from scoring import Severity

S = AssignmentStatus

# What each requested action does: (review action, target state).
ACTIONS: dict[str, tuple[ReviewAction, AssignmentStatus]] = {
    "approve": (ReviewAction.approve, S.approved),
    "reject": (ReviewAction.reject, S.rejected),
    "return": (ReviewAction.return_, S.returned),
    "revoke": (ReviewAction.revoke, S.submitted),
}


# ---------------------------------------------------------------- the queue


def _encode_cursor(rank: int, submitted_at: datetime, visit_id: int) -> str:
    raw = f"q:{rank}|{submitted_at.isoformat()}|{visit_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> tuple[int, datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, rest = raw.partition(":")
        rank, stamp, visit_id = rest.split("|")
        if kind != "q":
            raise ValueError(kind)
        return int(rank), datetime.fromisoformat(stamp), int(visit_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "The cursor is not one this API handed out.",
            [{"field": "cursor", "location": "query", "message": "unknown cursor"}],
        ) from None


def _submitted(
    project_id: int | None,
    *,
    location_id: int | None = None,
    severity: Severity | None = None,
    rule: str | None = None,
) -> Any:
    """Submitted visits of the project with their current QC run (outer join: none before QC)."""
    query = (
        select(Visit, Assignment, Location, User, QcRun)
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .join(Location, col(Location.id) == Assignment.location_id)
        .join(User, col(User.id) == Assignment.shopper_id)
        .outerjoin(QcRun, and_(col(QcRun.visit_id) == Visit.id, col(QcRun.current)))
        .where(Assignment.project_id == project_id, Assignment.status == S.submitted)
    )
    if location_id is not None:
        query = query.where(Assignment.location_id == location_id)
    if severity is not None:
        query = query.where(QcRun.worst_severity == severity)
    if rule is not None:
        query = query.where(
            exists().where(
                QcFlag.visit_id == Visit.id, QcFlag.run == QcRun.run, QcFlag.rule == rule
            )
        )
    return query


QueueSort = Literal["severity", "oldest"]


def _severity_rank() -> Any:
    """fail 0, warn 1, info 2, no flag (or no QC run) 3: the order a reviewer works in."""
    return case(
        (col(QcRun.worst_severity) == Severity.fail, 0),
        (col(QcRun.worst_severity) == Severity.warn, 1),
        (col(QcRun.worst_severity) == Severity.info, 2),
        else_=3,
    )


def _returns(session: Session, visit_ids: list[int]) -> dict[int, int]:
    if not visit_ids:
        return {}
    rows = session.exec(
        select(Review.visit_id, func.count())
        .where(col(Review.visit_id).in_(visit_ids), Review.action == ReviewAction.return_)
        .group_by(col(Review.visit_id))
    )
    return {visit_id: int(count) for visit_id, count in rows}


def _name(user: User) -> str:
    return user.full_name or user.username


def review_queue(
    session: Session,
    *,
    project: Project,
    page: PageParams,
    location_id: int | None = None,
    severity: Severity | None = None,
    rule: str | None = None,
    sort: QueueSort = "severity",
    now: datetime | None = None,
) -> Page[QueueItem]:
    """Submitted visits awaiting review: worst QC outcome first (or not), then longest waiting."""
    now = now or utcnow()
    query = _submitted(project.id, location_id=location_id, severity=severity, rule=rule)
    rank = _severity_rank() if sort == "severity" else literal(0)
    after = _decode_cursor(page.cursor)
    if after is not None:
        after_rank, stamp, visit_id = after
        query = query.where(
            or_(
                rank > after_rank,
                and_(rank == after_rank, col(Visit.submitted_at) > stamp),
                and_(
                    rank == after_rank, col(Visit.submitted_at) == stamp, col(Visit.id) > visit_id
                ),
            )
        )
    rows = session.exec(
        query.add_columns(rank.label("rank"))
        .order_by(rank, col(Visit.submitted_at), col(Visit.id))
        .limit(page.limit + 1)
    ).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    returns = _returns(session, [visit.id for visit, *_ in rows])
    items = []
    for visit, assignment, location, shopper, run, _ in rows:
        assert visit.submitted_at is not None
        items.append(
            QueueItem(
                visit_id=visit.id,
                assignment_id=assignment.id,
                location=LocationBrief.model_validate(location, from_attributes=True),
                shopper_id=shopper.id,
                shopper_name=_name(shopper),
                submitted_at=visit.submitted_at,
                waited_seconds=max(0, int((now - visit.submitted_at).total_seconds())),
                worst_severity=run.worst_severity if run else None,
                flag_counts=FlagCounts(
                    info=run.info_count, warn=run.warn_count, fail=run.fail_count
                )
                if run
                else FlagCounts(),
                qc_run=run.run if run else None,
                returns=returns.get(visit.id, 0),
            )
        )
    cursor = None
    if more and rows:
        last, last_rank = rows[-1][0], rows[-1][-1]
        assert last.submitted_at is not None and last.id is not None
        cursor = _encode_cursor(int(last_rank), last.submitted_at, last.id)
    return Page(items=items, next_cursor=cursor)


# ---------------------------------------------------------------- one visit


def _reviews(session: Session, visit_id: int) -> list[Review]:
    return list(
        session.exec(select(Review).where(Review.visit_id == visit_id).order_by(col(Review.id)))
    )


def _deadline(reviews: list[Review], assignment: Assignment) -> Review | None:
    """The return that put a returned visit in that state."""
    if assignment.status != S.returned:
        return None
    return next((r for r in reversed(reviews) if r.action == ReviewAction.return_), None)


def review_detail(session: Session, *, user: User, visit_id: int) -> VisitReviewPublic:
    """Everything a reviewer looks at; 404 unless ``user`` manages the visit's project."""
    visit, assignment = get_visit(session, user=user, visit_id=visit_id)
    assert visit.id is not None and assignment.shopper_id is not None
    location = session.get(Location, assignment.location_id)
    shopper = session.get(User, assignment.shopper_id)
    profile = session.get(ShopperProfile, assignment.shopper_id)
    assert location is not None and shopper is not None and shopper.id is not None
    runs = flag_runs(session, visit_id=visit.id)
    reviews = _reviews(session, visit.id)
    current = _deadline(reviews, assignment)
    return VisitReviewPublic(
        visit=visit_public(session, visit=visit, assignment=assignment),
        project_id=assignment.project_id,
        location=LocationBrief.model_validate(location, from_attributes=True),
        shopper=ShopperBrief(
            id=shopper.id,
            name=_name(shopper),
            rating=profile.rating if profile else None,
            approved_visits=profile.approved_visits if profile else 0,
        ),
        worst_severity=runs[0].worst_severity if runs else None,
        current_flags=runs[0].flags if runs else [],
        qc_runs=runs,
        reviews=[ReviewPublic.model_validate(r, from_attributes=True) for r in reviews],
        resubmit_by=current.resubmit_by if current else None,
    )


def review_visit(
    session: Session, *, user: User, visit_id: int, data: ReviewRequest
) -> ReviewPublic:
    """Approve, reject, return (with a resubmission deadline) or revoke an approval."""
    visit, assignment = get_visit(session, user=user, visit_id=visit_id)
    assert visit.id is not None
    lock_visit(session, visit_id=visit.id, assignment=assignment)
    action, target = ACTIONS[data.action]
    resubmit_by = None
    if action == ReviewAction.return_:
        project = session.get(Project, assignment.project_id)
        assert project is not None
        resubmit_by = data.resubmit_by or utcnow() + timedelta(
            hours=project.qc_config.return_deadline_hours
        )
        if resubmit_by <= utcnow():
            raise Invalid(
                "The resubmission deadline must lie in the future.",
                [{"field": "resubmit_by", "message": "in the past"}],
            )
    review = decide(
        session,
        visit_id=visit.id,
        assignment=assignment,
        action=action,
        target=target,
        actor_id=user.id,
        comment=data.comment.strip(),
        resubmit_by=resubmit_by,
    )
    return ReviewPublic.model_validate(review, from_attributes=True)


def return_notice(session: Session, *, user: User, visit_id: int) -> ReturnNoticePublic:
    """The comment and deadline of a returned visit, for its shopper (and its managers)."""
    visit, assignment = get_visit(session, user=user, visit_id=visit_id)
    assert visit.id is not None
    current = _deadline(_reviews(session, visit.id), assignment)
    return ReturnNoticePublic(
        visit_id=visit.id,
        status=assignment.status,
        comment=current.comment if current else None,
        returned_at=current.created_at if current else None,
        resubmit_by=current.resubmit_by if current else None,
    )


# ---------------------------------------------------------------- in bulk


def bulk_approve(
    session: Session, *, user: User, project: Project, data: BulkApproveRequest
) -> BulkApproveResult:
    """Approve the clean submitted visits that match; visits with a warn or fail flag never."""
    query = _submitted(project.id, location_id=data.location_id, rule=data.rule).where(
        QcRun.warn_count == 0, QcRun.fail_count == 0
    )
    if data.visit_ids is not None:
        query = query.where(col(Visit.id).in_(data.visit_ids))
    if data.submitted_before is not None:
        query = query.where(col(Visit.submitted_at) < data.submitted_before)
    rows = session.exec(
        query.order_by(col(Visit.submitted_at), col(Visit.id)).limit(data.limit)
    ).all()
    ids = [visit.id for visit, *_ in rows]
    if data.dry_run:
        return BulkApproveResult(dry_run=True, count=len(ids), visit_ids=ids)
    shoppers: set[int] = set()
    for visit, assignment, *_ in rows:
        lock_visit(session, visit_id=visit.id, assignment=assignment)
        decide(
            session,
            visit_id=visit.id,
            assignment=assignment,
            action=ReviewAction.approve,
            target=S.approved,
            actor_id=user.id,
            comment=data.comment.strip(),
            refresh_rating=False,
        )
        shoppers.add(assignment.shopper_id)
    for shopper_id in sorted(shoppers):
        update_rating(session, shopper_id=shopper_id)
    return BulkApproveResult(dry_run=False, count=len(ids), visit_ids=ids)


# ---------------------------------------------------------------- the deadline sweep


def reject_overdue_returns(session: Session, *, now: datetime | None = None) -> int:
    """Reject every returned visit whose resubmission deadline has passed (actor None)."""
    now = now or utcnow()
    later = aliased(Review)
    overdue = session.exec(
        select(Review, Assignment)
        .join(Assignment, col(Assignment.id) == Review.assignment_id)
        .where(
            Review.action == ReviewAction.return_,
            col(Review.resubmit_by) <= now,
            Assignment.status == S.returned,
            # Only the latest return counts: an earlier one's deadline was replaced.
            ~exists().where(
                later.visit_id == Review.visit_id,
                later.action == ReviewAction.return_,
                later.id > Review.id,
            ),
        )
    ).all()
    rejected = 0
    for review, assignment in overdue:
        lock_visit(session, visit_id=review.visit_id, assignment=assignment)
        if assignment.status != S.returned:  # resubmitted while we waited for the lock
            continue
        rejected += 1
        decide(
            session,
            visit_id=review.visit_id,
            assignment=assignment,
            action=ReviewAction.deadline_reject,
            target=S.rejected,
            actor_id=None,
            comment="not resubmitted before the deadline",
        )
    session.flush()
    return rejected
