from __future__ import annotations

from sqlmodel import Session, col, select

from api.accounts.models import Role, User, UserCreate, UserUpdate
from api.accounts.security import hash_password, verify_password
from api.clients.models import Client
from api.common import PageParams
from api.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from api.projects.models import Project, ProjectMember


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("Unknown username or wrong password.")
    if not user.is_active:
        raise Unauthorized("This account is disabled.")
    return user


def ensure_username_free(session: Session, username: str) -> None:
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"The username {username!r} is taken.", field="username")


def create_user(session: Session, *, data: UserCreate, actor: User | None) -> User:
    if actor is not None and actor.role != Role.admin and data.role not in {Role.client}:
        raise Forbidden("Managers create client users here and shoppers under /shoppers.")
    if data.role == Role.client:
        if data.client_id is None or session.get(Client, data.client_id) is None:
            raise Invalid(
                "A client user needs the id of an existing client.",
                [{"field": "client_id", "location": "body", "message": "unknown client"}],
            )
        if actor is not None and actor.role == Role.manager:
            ensure_manages_client(session, manager=actor, client_id=data.client_id)
    elif data.client_id is not None:
        raise Invalid(
            "Only client users belong to a client.",
            [{"field": "client_id", "location": "body", "message": "must be empty for this role"}],
        )
    ensure_username_free(session, data.username)
    user = User.model_validate(data, update={"password_hash": hash_password(data.password)})
    session.add(user)
    session.flush()
    return user


def ensure_manages_client(session: Session, *, manager: User, client_id: int) -> None:
    """Managers act for a client only through a project of that client they manage."""
    managed = session.exec(
        select(Project.id)
        .join(ProjectMember, col(ProjectMember.project_id) == Project.id)
        .where(Project.client_id == client_id, ProjectMember.user_id == manager.id)
    ).first()
    if managed is None:
        raise Forbidden("You manage no project of this client.")


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def list_users(
    session: Session, *, page: PageParams, role: Role | None, search: str | None
) -> list[User]:
    query = select(User).order_by(col(User.id)).limit(page.limit + 1)
    if page.after_id is not None:
        query = query.where(col(User.id) > page.after_id)
    if role is not None:
        query = query.where(User.role == role)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(col(User.username).ilike(pattern) | col(User.full_name).ilike(pattern))
    return list(session.exec(query))


def update_user(session: Session, *, user: User, data: UserUpdate, actor: User) -> User:
    if actor.role != Role.admin and actor.id != user.id:
        if data.password is not None:
            raise Forbidden("Only the account's owner or an admin can set its password.")
        if user.role == Role.client and user.client_id is not None:
            ensure_manages_client(session, manager=actor, client_id=user.client_id)
        elif user.role != Role.shopper:
            raise Forbidden(
                "Managers may change only shopper accounts and their own clients' users."
            )
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
    if changes.get("is_active") is False and actor.id == user.id:
        raise Conflict("You cannot disable your own account.")
    user.sqlmodel_update(changes)
    session.add(user)
    session.flush()
    return user
