"""Review endpoints: the project's queue, one visit's review, bulk approval, the return notice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.common import Page
from api.deps import FieldUser, PageDep, SessionDep, StaffUser
from api.projects.access import get_project
from api.reviews import service
from api.reviews.models import (
    BulkApproveRequest,
    BulkApproveResult,
    QueueItem,
    ReturnNoticePublic,
    ReviewPublic,
    ReviewRequest,
    VisitReviewPublic,
)
from scoring import Severity

router = APIRouter(tags=["reviews"])


@router.get("/projects/{project_id}/review-queue")
def review_queue(
    project_id: int,
    session: SessionDep,
    user: StaffUser,
    page: PageDep,
    location_id: int | None = None,
    severity: Annotated[
        Severity | None, Query(description="Worst flag of the current QC run.")
    ] = None,
    rule: Annotated[
        str | None, Query(description="A flag of this rule in the current run.")
    ] = None,
    sort: Annotated[
        service.QueueSort,
        Query(description="severity: fail, warn, info, clean, each oldest first; oldest: by wait."),
    ] = "severity",
) -> Page[QueueItem]:
    """Submitted visits awaiting review: worst QC outcome first, then the longest waiting."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return service.review_queue(
        session,
        project=project,
        page=page,
        location_id=location_id,
        severity=severity,
        rule=rule,
        sort=sort,
    )


@router.post("/projects/{project_id}/review-queue/approve")
def bulk_approve(
    project_id: int, data: BulkApproveRequest, session: SessionDep, user: StaffUser
) -> BulkApproveResult:
    """Approve every clean submitted visit (no warn or fail flag) that matches the filters."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return service.bulk_approve(session, user=user, project=project, data=data)


@router.get("/visits/{visit_id}/review")
def read_review(visit_id: int, session: SessionDep, user: StaffUser) -> VisitReviewPublic:
    """A visit with its steps, media, emotions, QC flags (current and earlier runs) and reviews."""
    return service.review_detail(session, user=user, visit_id=visit_id)


@router.post("/visits/{visit_id}/review")
def review_visit(
    visit_id: int, data: ReviewRequest, session: SessionDep, user: StaffUser
) -> ReviewPublic:
    """Approve, reject, return (comment required) or revoke the approval of a visit."""
    return service.review_visit(session, user=user, visit_id=visit_id, data=data)


@router.get("/visits/{visit_id}/return")
def read_return_notice(visit_id: int, session: SessionDep, user: FieldUser) -> ReturnNoticePublic:
    """What to fix in a returned visit and the deadline to resubmit it."""
    return service.return_notice(session, user=user, visit_id=visit_id)
