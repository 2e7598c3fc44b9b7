"""Request-scoped dependencies as ``Annotated`` aliases.

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in its
thread pool, and on the busiest routes those hops cost more than the work they carry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Literal, NamedTuple

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import Connection, bindparam, select
from sqlmodel import Session

from api.accounts.models import Role, User
from api.accounts.security import read_token
from api.apikeys import service as api_keys
from api.apikeys.limits import RateLimiter
from api.common import PageParams, page_params
from api.config import Settings
from api.db import Database, detached
from api.errors import Forbidden, RateLimited, Unauthorized

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A client's API key (fwk_…); also accepted as Authorization: Bearer fwk_….",
)
READS = frozenset({"GET", "HEAD"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with get_db(request).session(read_only=request.method in {"GET", "HEAD"}) as session:
        yield session


async def _db_dependency(request: Request) -> Database:
    return get_db(request)


async def _settings_dependency(request: Request) -> Settings:
    return get_app_settings(request)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(_db_dependency)]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
PageDep = Annotated[PageParams, Depends(page_params)]

_users = User.__table__  # type: ignore[attr-defined]
_USER_BY_ID = select(_users).where(_users.c.id == bindparam("user_id"))

TOKEN_REFUSED = "The token is invalid or expired, or the account is disabled."
KEY_REFUSED = "The API key is unknown or revoked."


class Credential(NamedTuple):
    """What a request signs in with: a person's bearer token or an API key."""

    kind: Literal["token", "key"]
    value: str


async def get_credential(
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Credential | None:
    if api_key or (token and api_keys.is_api_key(token)):
        return Credential("key", api_key or token or "")
    return Credential("token", token) if token else None


CredentialDep = Annotated[Credential | None, Depends(get_credential)]


def get_current_user(request: Request, settings: SettingsDep, credential: CredentialDep) -> User:
    if credential is not None and credential.kind == "key":
        return _key_principal(request, settings, credential.value)
    user_id = bearer_user_id(credential, settings)
    # Its own read transaction: on SQLite the request's writing one starts later and shorter.
    with get_db(request).read_connection() as connection:
        user = active_user(connection, user_id)
    if user is None:
        raise Unauthorized(TOKEN_REFUSED)
    return user


def bearer_user_id(credential: Credential | None, settings: Settings) -> int:
    """The account id a request's bearer token was issued to, checked without I/O (signature
    and expiry); 401 without one, or for a bad or expired token."""
    if credential is None:
        raise Unauthorized("Send a bearer token from POST /api/v1/auth/token.")
    user_id = read_token(credential.value, secret=settings.resolved_secret_key)
    if user_id is None:
        raise Unauthorized(TOKEN_REFUSED)
    return user_id


def active_user(connection: Connection, user_id: int) -> User | None:
    """The account, if it is still active; a Core query, without a Session."""
    row = connection.execute(_USER_BY_ID, {"user_id": user_id}).first()
    if row is None or not row.is_active:
        return None
    return detached(User, row)


def token_user(connection: Connection, token: str, *, secret: str) -> User | None:
    """The active account a bearer token signs in, else None; the one check every request and
    every open event stream makes."""
    user_id = read_token(token, secret=secret)
    return None if user_id is None else active_user(connection, user_id)


def signed_in_as(connection: Connection, user_id: int, *roles: Role) -> User:
    """``get_current_user`` and ``require_roles`` for a route that reads the account itself, in
    a transaction of its own (``bearer_user_id`` checked the token): 401, 403 or the user."""
    user = active_user(connection, user_id)
    if user is None:
        raise Unauthorized(TOKEN_REFUSED)
    return _with_role(user, roles)


def _with_role(user: User, roles: tuple[Role, ...]) -> User:
    if user.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise Forbidden(f"This needs one of the roles: {allowed}.")
    return user


def _key_principal(request: Request, settings: Settings, key: str) -> User:
    """An API key as a transient client user of its client; looked up on every request, so a
    revoked key stops at once. Keys only read, within their rate limit."""
    db = get_db(request)
    with db.session(read_only=True) as session:
        row = api_keys.find_active_key(session, key=key)
    if row is None or row.id is None:
        raise Unauthorized(KEY_REFUSED)
    if request.method not in READS:
        raise Forbidden("API keys only read; changes need a person's sign-in.")
    limiter: RateLimiter = request.app.state.rate_limiter
    per_minute = row.rate_limit_per_minute or settings.api_key_rate_limit_per_minute
    wait = limiter.acquire(row.id, per_minute=per_minute)
    if wait > 0:
        raise RateLimited(
            f"This API key may make {per_minute} requests a minute.", retry_after=wait
        )
    if api_keys.touch_due(row):
        with db.session() as session:
            api_keys.touch(session, key_id=row.id)
    request.state.api_key_id = row.id
    return api_keys.principal(row)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    async def guard(user: CurrentUser) -> User:
        return _with_role(user, roles)

    return guard


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
StaffUser = Annotated[User, Depends(require_roles(Role.admin, Role.manager))]
ShopperUser = Annotated[User, Depends(require_roles(Role.shopper))]
# Project pages are for the agency and the client; shoppers see projects only through assignments.
ProjectReader = Annotated[User, Depends(require_roles(Role.admin, Role.manager, Role.client))]
# Assignments and visits are for the agency and the shoppers; clients see approved results only.
FieldUser = Annotated[User, Depends(require_roles(Role.admin, Role.manager, Role.shopper))]
