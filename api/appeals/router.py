"""Appeals: the client's users dispute approved visits; the project's managers decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.accounts.models import Role, User
from api.appeals import service
from api.appeals.models import (
    AppealableVisit,
    AppealCreate,
    AppealDecision,
    AppealPublic,
    AppealStats,
    AppealStatus,
)
from api.common import Page, paginate
from api.deps import PageDep, ProjectReader, SessionDep, StaffUser, require_roles
from api.projects.access import get_project

router = APIRouter(tags=["appeals"])

# Appeals are the client's voice: the agency decides them, it does not file them.
ClientUser = Annotated[User, Depends(require_roles(Role.client))]


@router.post("/visits/{visit_id}/appeals", status_code=status.HTTP_201_CREATED)
def file_appeal(
    visit_id: int, data: AppealCreate, session: SessionDep, user: ClientUser
) -> AppealPublic:
    """Dispute an approved visit of your project within the project's appeal window.

    The visit id comes from GET /projects/{project_id}/appealable-visits. 409 (rule
    appeal_window) outside the window or when the project takes no appeals, 409 (rule
    one_open_appeal) while the visit has an open appeal.
    """
    appeal = service.file_appeal(session, user=user, visit_id=visit_id, data=data)
    return service.appeal_public(session, appeal)


@router.get("/projects/{project_id}/appealable-visits")
def appealable_visits(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    location_id: int | None = None,
) -> Page[AppealableVisit]:
    """Approved visits that may still be appealed, with their location and deadline."""
    project = get_project(session, user=user, project_id=project_id)
    rows = service.appealable_visits(session, project=project, page=page, location_id=location_id)
    return paginate(rows, page, lambda row: row, key=lambda row: row.visit_id)


@router.get("/projects/{project_id}/appeals")
def list_appeals(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    status: AppealStatus | None = None,
    location_id: int | None = None,
) -> Page[AppealPublic]:
    """The project's appeals, oldest first (never with the shopper's identity)."""
    project = get_project(session, user=user, project_id=project_id)
    rows = service.list_appeals(
        session, project=project, page=page, status=status, location_id=location_id
    )
    page_of = paginate(rows, page, lambda row: row)
    return Page(
        items=service.appeals_public(session, page_of.items), next_cursor=page_of.next_cursor
    )


@router.get("/projects/{project_id}/appeals/stats")
def appeal_stats(project_id: int, session: SessionDep, user: StaffUser) -> AppealStats:
    """Appeal and upheld rates in total, per location and per shopper (staff only).

    appeal_rate = appeals / approved visits (approved now, plus those voided on appeal);
    upheld_rate = upheld / decided appeals.
    """
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return service.appeal_stats(session, project=project)


@router.get("/appeals/{appeal_id}")
def read_appeal(appeal_id: int, session: SessionDep, user: ProjectReader) -> AppealPublic:
    """One appeal, with its decision once decided."""
    appeal = service.get_appeal(session, user=user, appeal_id=appeal_id)
    return service.appeal_public(session, appeal)


@router.post("/appeals/{appeal_id}/decision")
def decide_appeal(
    appeal_id: int, data: AppealDecision, session: SessionDep, user: StaffUser
) -> AppealPublic:
    """Uphold (void the visit, or amend named answers and re-score it) or dismiss an appeal."""
    appeal = service.decide_appeal(session, user=user, appeal_id=appeal_id, data=data)
    return service.appeal_public(session, appeal)
