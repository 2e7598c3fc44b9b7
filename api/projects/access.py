"""Who may see and manage which project.

Admins see everything; managers the projects they are members of; client users the projects of
their client (read-only). Projects a user may not see answer 404, so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.accounts.models import Role, User
from api.errors import Forbidden, NotFound
from api.projects.models import Project, ProjectMember


def visible_projects(user: User) -> Any:
    query = select(Project)
    if user.role == Role.admin:
        return query
    if user.role == Role.manager:
        members = select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
        return query.where(col(Project.id).in_(members))
    if user.role == Role.client and user.client_id is not None:
        return query.where(Project.client_id == user.client_id)
    return query.where(col(Project.id).is_(None))


def get_project(session: Session, *, user: User, project_id: int, manage: bool = False) -> Project:
    """The project if ``user`` may see it (and manage it when ``manage``), else NotFound/Forbidden."""
    project = session.exec(visible_projects(user).where(Project.id == project_id)).first()
    if project is None:
        raise NotFound(f"No project {project_id}.")
    if manage and user.role not in {Role.admin, Role.manager}:
        raise Forbidden("Only the project's managers can change it.")
    return project


def lock_project(session: Session, project: Project) -> None:
    """Serialise rule-checked writes within one project.

    Caps count assignments across the project; two transactions that each counted before the other
    inserted would both pass. PostgreSQL takes a row lock on the project; SQLite already holds the
    database write lock from BEGIN IMMEDIATE.
    """
    if session.get_bind().dialect.name != "sqlite":
        session.exec(select(Project.id).where(Project.id == project.id).with_for_update())
