from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.accounts.models import User
from api.common import Page, paginate
from api.deps import PageDep, ProjectReader, SessionDep, StaffUser
from api.projects import service
from api.projects.access import get_project
from api.projects.models import (
    MemberCreate,
    MemberPublic,
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectStatus,
    ProjectUpdate,
    WaveCreate,
    WavePublic,
)

router = APIRouter(prefix="/projects", tags=["projects"])


def _member(user: User) -> MemberPublic:
    return MemberPublic(
        user_id=user.id or 0, username=user.username, full_name=user.full_name, role=user.role
    )


def _public(project: Project) -> ProjectPublic:
    return ProjectPublic.model_validate(
        project, update={"caps": project.cap_rules, "qc": project.qc_config}
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(data: ProjectCreate, session: SessionDep, actor: StaffUser) -> ProjectPublic:
    """Create a project for a client; its creator becomes a member."""
    return _public(service.create_project(session, data=data, actor=actor))


@router.get("")
def list_projects(
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    client_id: int | None = None,
    status: ProjectStatus | None = None,
) -> Page[ProjectPublic]:
    """Projects you may see, oldest first."""
    rows = service.list_projects(session, user=user, page=page, client_id=client_id, status=status)
    return paginate(rows, page, _public)


@router.get("/{project_id}")
def read_project(project_id: int, session: SessionDep, user: ProjectReader) -> ProjectPublic:
    """One project."""
    return _public(get_project(session, user=user, project_id=project_id))


@router.patch("/{project_id}")
def update_project(
    project_id: int, data: ProjectUpdate, session: SessionDep, user: StaffUser
) -> ProjectPublic:
    """Change a project's name, status, caps or current journey version."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return _public(service.update_project(session, project=project, data=data, actor_id=user.id))


@router.get("/{project_id}/members")
def list_members(project_id: int, session: SessionDep, user: StaffUser) -> list[MemberPublic]:
    """The managers of a project."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return [_member(u) for u in service.list_members(session, project=project)]


@router.post("/{project_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(
    project_id: int, data: MemberCreate, session: SessionDep, user: StaffUser
) -> MemberPublic:
    """Make a manager a member of the project."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return _member(service.add_member(session, project=project, user_id=data.user_id))


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(project_id: int, user_id: int, session: SessionDep, user: StaffUser) -> Response:
    """Remove a manager from the project."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    service.remove_member(session, project=project, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{project_id}/waves", status_code=status.HTTP_201_CREATED)
def create_wave(
    project_id: int, data: WaveCreate, session: SessionDep, user: StaffUser
) -> WavePublic:
    """Add a wave (a fieldwork period) to the project."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return WavePublic.model_validate(service.create_wave(session, project=project, data=data))


@router.get("/{project_id}/waves")
def list_waves(project_id: int, session: SessionDep, user: ProjectReader) -> list[WavePublic]:
    """The project's waves in date order."""
    project = get_project(session, user=user, project_id=project_id)
    return [WavePublic.model_validate(w) for w in service.list_waves(session, project=project)]
