from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.security import OAuth2PasswordRequestForm

from api.accounts import service
from api.accounts.models import Role, Token, UserCreate, UserPublic, UserUpdate
from api.accounts.security import issue_token
from api.common import Page, paginate
from api.deps import CurrentUser, PageDep, SessionDep, SettingsDep, StaffUser
from api.errors import Forbidden, NotFound

router = APIRouter(tags=["accounts"])


@router.post("/auth/token")
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Exchange username and password for a bearer token."""
    user = service.authenticate(session, username=form.username, password=form.password)
    assert user.id is not None
    token, expires = issue_token(
        user_id=user.id,
        secret=settings.resolved_secret_key,
        lifetime_minutes=settings.token_lifetime_minutes,
    )
    return Token(access_token=token, expires_at=expires, user=UserPublic.model_validate(user))


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    if user.id is None:
        raise Forbidden("An API key is not an account; /me is for people who sign in.")
    return UserPublic.model_validate(user)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, actor: StaffUser) -> UserPublic:
    """Create an account (admins: any role; managers: client users)."""
    return UserPublic.model_validate(service.create_user(session, data=data, actor=actor))


@router.get("/users")
def list_users(
    session: SessionDep,
    _: StaffUser,
    page: PageDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of username or name.")] = None,
) -> Page[UserPublic]:
    """List accounts, oldest first."""
    rows = service.list_users(session, page=page, role=role, search=q)
    return paginate(rows, page, UserPublic.model_validate)


@router.get("/users/{user_id}")
def get_user(user_id: int, session: SessionDep, _: StaffUser) -> UserPublic:
    """One account."""
    return UserPublic.model_validate(service.get_user(session, user_id=user_id))


@router.patch("/users/{user_id}")
def update_user(
    user_id: int, data: UserUpdate, session: SessionDep, actor: CurrentUser
) -> UserPublic:
    """Change an account (your own, or as staff)."""
    if actor.id != user_id and actor.role not in {Role.admin, Role.manager}:
        raise NotFound(f"No user {user_id}.")
    user = service.get_user(session, user_id=user_id)
    return UserPublic.model_validate(
        service.update_user(session, user=user, data=data, actor=actor)
    )
