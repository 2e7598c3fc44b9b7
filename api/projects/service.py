from __future__ import annotations

from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.clients.models import Client
from api.common import PageParams
from api.cxmap import desired
from api.errors import Conflict, Invalid, NotFound
from api.journeys.models import Journey, JourneyVersion, VersionStatus
from api.projects.access import visible_projects
from api.projects.models import (
    Project,
    ProjectCreate,
    ProjectMember,
    ProjectStatus,
    ProjectUpdate,
    Wave,
    WaveCreate,
)
from api.results.materialise import recount_short


def create_project(session: Session, *, data: ProjectCreate, actor: User) -> Project:
    if session.get(Client, data.client_id) is None:
        raise Invalid(
            f"No client {data.client_id}.",
            [{"field": "client_id", "location": "body", "message": "unknown client"}],
        )
    project = Project.model_validate(
        data,
        update={"caps": data.caps.model_dump(mode="json"), "qc": data.qc.model_dump(mode="json")},
    )
    session.add(project)
    session.flush()
    if actor.role == Role.manager:
        assert project.id is not None and actor.id is not None
        session.add(ProjectMember(project_id=project.id, user_id=actor.id))
    return project


def list_projects(
    session: Session,
    *,
    user: User,
    page: PageParams,
    client_id: int | None,
    status: ProjectStatus | None,
) -> list[Project]:
    query = visible_projects(user).order_by(col(Project.id)).limit(page.limit + 1)
    if page.after_id is not None:
        query = query.where(col(Project.id) > page.after_id)
    if client_id is not None:
        query = query.where(Project.client_id == client_id)
    if status is not None:
        query = query.where(Project.status == status)
    return list(session.exec(query))


def update_project(
    session: Session, *, project: Project, data: ProjectUpdate, actor_id: int | None = None
) -> Project:
    changes = data.model_dump(exclude_unset=True)
    if data.caps is not None:
        changes["caps"] = data.caps.model_dump(mode="json")
    if data.qc is not None:
        changes["qc"] = data.qc.model_dump(mode="json")
    if "journey_version_id" in changes:
        version_id = changes["journey_version_id"]
        version = session.exec(
            select(JourneyVersion)
            .join(Journey, col(Journey.id) == JourneyVersion.journey_id)
            .where(JourneyVersion.id == version_id, Journey.project_id == project.id)
        ).first()
        if version is None or version.status != VersionStatus.published:
            raise Invalid(
                "The journey version must be a published version of this project's journeys.",
                [
                    {
                        "field": "journey_version_id",
                        "location": "body",
                        "message": "not a published version",
                    }
                ],
            )
    retarget = "targets" in changes and changes["targets"] != project.targets
    project.sqlmodel_update(changes)
    session.add(project)
    session.flush()
    if retarget:
        recount_short(session, project=project)
        desired.targets_changed(session, project=project, actor_id=actor_id)
    return project


def add_member(session: Session, *, project: Project, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Invalid(
            f"No user {user_id}.",
            [{"field": "user_id", "location": "body", "message": "unknown user"}],
        )
    if user.role != Role.manager:
        raise Invalid(
            "Project members are managers; clients see their client's projects by themselves.",
            [{"field": "user_id", "location": "body", "message": "not a manager"}],
        )
    if session.get(ProjectMember, (project.id, user_id)) is None:
        assert project.id is not None
        session.add(ProjectMember(project_id=project.id, user_id=user_id))
        session.flush()
    return user


def list_members(session: Session, *, project: Project) -> list[User]:
    query = (
        select(User)
        .join(ProjectMember, col(ProjectMember.user_id) == User.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(col(User.id))
    )
    return list(session.exec(query))


def remove_member(session: Session, *, project: Project, user_id: int) -> None:
    member = session.get(ProjectMember, (project.id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of project {project.id}.")
    session.delete(member)
    session.flush()


def create_wave(session: Session, *, project: Project, data: WaveCreate) -> Wave:
    clash = session.exec(
        select(Wave.id).where(Wave.project_id == project.id, Wave.name == data.name)
    ).first()
    if clash is not None:
        raise Conflict(f"The project has a wave named {data.name!r}.", field="name")
    wave = Wave.model_validate(data, update={"project_id": project.id})
    session.add(wave)
    session.flush()
    return wave


def list_waves(session: Session, *, project: Project) -> list[Wave]:
    query = select(Wave).where(Wave.project_id == project.id).order_by(col(Wave.starts_on))
    return list(session.exec(query))


def get_wave(session: Session, *, project: Project, wave_id: int) -> Wave:
    wave = session.get(Wave, wave_id)
    if wave is None or wave.project_id != project.id:
        raise NotFound(f"No wave {wave_id} in project {project.id}.")
    return wave
