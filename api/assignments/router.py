from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlmodel import col, select

from api.assignments import service
from api.assignments.models import (
    AssignmentCreate,
    AssignmentPublic,
    AssignmentStatus,
    BulkAssignmentCreate,
    BulkResult,
    CommentRequest,
    OfferRequest,
)
from api.audit.models import AuditEntry, AuditPublic
from api.common import Page, paginate
from api.deps import AdminUser, FieldUser, PageDep, SessionDep, ShopperUser, StaffUser
from api.projects.access import get_project

router = APIRouter(tags=["assignments"])


def _same(row: AssignmentPublic) -> AssignmentPublic:
    return row


@router.post("/projects/{project_id}/assignments", status_code=status.HTTP_201_CREATED)
def create_assignment(
    project_id: int, data: AssignmentCreate, session: SessionDep, user: StaffUser
) -> AssignmentPublic:
    """Offer a visit to a shopper, or put it on the job board (no shopper); caps are checked."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    assignment = service.create_one(session, project=project, item=data, actor=user)
    return service.public(session, assignment)


@router.post("/projects/{project_id}/assignments/bulk")
def create_assignments(
    project_id: int,
    data: BulkAssignmentCreate,
    session: SessionDep,
    user: StaffUser,
    response: Response,
) -> BulkResult:
    """Create many assignments at once, or check them (dry_run); a verdict per row."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    result = service.create_assignments(
        session,
        project=project,
        items=data.items,
        actor=user,
        dry_run=data.dry_run,
        all_or_nothing=data.all_or_nothing,
    )
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return result


@router.get("/projects/{project_id}/assignments")
def list_assignments(
    project_id: int,
    session: SessionDep,
    user: StaffUser,
    page: PageDep,
    status: AssignmentStatus | None = None,
    shopper_id: int | None = None,
    location_id: int | None = None,
    wave_id: int | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> Page[AssignmentPublic]:
    """The project's assignments, oldest first, filtered."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    rows = service.list_for_project(
        session,
        project=project,
        page=page,
        status=status,
        shopper_id=shopper_id,
        location_id=location_id,
        wave_id=wave_id,
        day_from=day_from,
        day_to=day_to,
    )
    return paginate(rows, page, _same)


@router.get("/assignments/{assignment_id}")
def read_assignment(assignment_id: int, session: SessionDep, user: FieldUser) -> AssignmentPublic:
    """One assignment (its shopper or the project's managers)."""
    return service.public(
        session, service.get_assignment(session, user=user, assignment_id=assignment_id)
    )


@router.get("/assignments/{assignment_id}/history")
def assignment_history(
    assignment_id: int, session: SessionDep, user: StaffUser
) -> list[AuditPublic]:
    """Every state change of the assignment, oldest first."""
    service.get_assignment(session, user=user, assignment_id=assignment_id)
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity == "assignment", AuditEntry.entity_id == assignment_id)
        .order_by(col(AuditEntry.id))
    )
    return [AuditPublic.model_validate(row) for row in rows]


@router.post("/assignments/{assignment_id}/accept")
def accept(assignment_id: int, session: SessionDep, user: ShopperUser) -> AssignmentPublic:
    """Accept a visit offered to you."""
    assignment = service.get_assignment(session, user=user, assignment_id=assignment_id)
    return service.public(session, service.accept(session, assignment=assignment, shopper=user))


@router.post("/assignments/{assignment_id}/decline")
def decline(
    assignment_id: int, session: SessionDep, user: ShopperUser, data: CommentRequest | None = None
) -> AssignmentPublic:
    """Decline a visit offered to you, optionally saying why."""
    assignment = service.get_assignment(session, user=user, assignment_id=assignment_id)
    comment = data.comment if data else ""
    return service.public(
        session, service.decline(session, assignment=assignment, shopper=user, comment=comment)
    )


@router.post("/assignments/{assignment_id}/claim")
def claim(assignment_id: int, session: SessionDep, user: ShopperUser) -> AssignmentPublic:
    """Take an open visit from the job board (caps and eligibility are checked)."""
    return service.public(
        session, service.claim(session, assignment_id=assignment_id, shopper=user)
    )


@router.post("/assignments/{assignment_id}/offer")
def offer(
    assignment_id: int, data: OfferRequest, session: SessionDep, user: StaffUser
) -> AssignmentPublic:
    """Offer an open (job board) visit to a particular shopper."""
    assignment = service.get_assignment(
        session, user=user, assignment_id=assignment_id, manage=True
    )
    return service.public(
        session,
        service.offer(session, assignment=assignment, shopper_id=data.shopper_id, actor=user),
    )


@router.post("/assignments/{assignment_id}/cancel")
def cancel(
    assignment_id: int, session: SessionDep, user: StaffUser, data: CommentRequest | None = None
) -> AssignmentPublic:
    """Cancel a visit that is not submitted yet."""
    assignment = service.get_assignment(
        session, user=user, assignment_id=assignment_id, manage=True
    )
    comment = data.comment if data else ""
    return service.public(
        session, service.cancel(session, assignment=assignment, actor=user, comment=comment)
    )


@router.get("/me/assignments")
def my_assignments(
    session: SessionDep,
    user: ShopperUser,
    page: PageDep,
    scope: Annotated[
        Literal["active", "offered", "returned", "done", "all"],
        Query(description="active: offered, accepted, in progress or returned."),
    ] = "active",
    day: Annotated[date | None, Query(description="Only visits counting on this day.")] = None,
) -> Page[AssignmentPublic]:
    """Your assignments, oldest first."""
    rows = service.list_for_shopper(session, shopper=user, page=page, scope=scope, day=day)
    return paginate(rows, page, _same)


@router.get("/job-board")
def job_board(
    session: SessionDep, _: ShopperUser, page: PageDep, region: str | None = None
) -> Page[AssignmentPublic]:
    """Open visits you may claim, oldest first."""
    return paginate(service.job_board(session, page=page, region=region), page, _same)


@router.post("/assignments/expire")
def expire_now(session: SessionDep, _: AdminUser) -> dict[str, int]:
    """Expire every assignment whose visit window has ended without a visit (also runs by itself)."""
    return {"expired": service.expire_overdue(session)}
