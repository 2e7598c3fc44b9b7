"""Progress endpoints for the manager console: stage counts and shopper load per project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.common import Page, encode_cursor, paginate
from api.deps import PageDep, SessionDep, StaffUser
from api.progress import service
from api.progress.models import ProjectProgress, ProjectProgressItem, ShopperLoad
from api.projects.access import get_project
from api.projects.models import ProjectStatus

router = APIRouter(tags=["progress"])


@router.get("/projects/progress")
def projects_progress(
    session: SessionDep,
    user: StaffUser,
    page: PageDep,
    client_id: int | None = None,
    status: ProjectStatus | None = None,
) -> Page[ProjectProgressItem]:
    """Every project you manage with its progress, paged like GET /projects (one request)."""
    items = service.list_progress(session, user=user, page=page, client_id=client_id, status=status)
    return paginate(items, page, lambda item: item, key=lambda item: item.project_id)


@router.get("/projects/{project_id}/progress")
def project_progress(project_id: int, session: SessionDep, user: StaffUser) -> ProjectProgress:
    """Assignments by fieldwork stage (planned, assigned, in the field, …) per wave and region."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return service.progress(session, project=project)


@router.get("/projects/{project_id}/shopper-load")
def shopper_load(
    project_id: int,
    session: SessionDep,
    user: StaffUser,
    page: PageDep,
    region: str | None = None,
    qualified: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of username or name.")] = None,
) -> Page[ShopperLoad]:
    """Shoppers with their rating and their open and period assignments against the caps."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    rows, loads = service.shopper_load(
        session, project=project, page=page, region=region, qualified=qualified, search=q
    )
    more = len(rows) > page.limit
    return Page(items=loads, next_cursor=encode_cursor(loads[-1].shopper_id) if more else None)
